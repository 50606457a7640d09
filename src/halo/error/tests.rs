//! Unit tests of halo::Error (`error.rs`).

use super::*;

fn msg(body: &str) -> String {
    extract_message(body.as_bytes(), &[])
}

#[test]
fn every_body_shape_gives_a_readable_message() {
    assert_eq!(
        msg(r#"{"resultCode":1,"errorMessage":"Ticket type not found"}"#),
        "Ticket type not found"
    );
    assert_eq!(
        msg(r#"{"ClassName":"System.Exception","Message":"Agent name is required"}"#),
        "Agent name is required"
    );
    assert_eq!(msg(r#"{"Message":"Bad id"}"#), "Bad id");
    assert_eq!(msg(r#"{"message":"lower case"}"#), "lower case");
    assert_eq!(
        msg(r#"{"error":"invalid_client","error_description":"Client not found"}"#),
        "invalid_client: Client not found"
    );
    assert_eq!(msg(r#"{"error":"invalid_scope"}"#), "invalid_scope");
    assert_eq!(
        msg(r#"{"[0].name":"The name field is required."}"#),
        "[0].name: The name field is required."
    );
    assert_eq!(
        msg(r#"{"[0].id":["Bad id","Must be positive"]}"#),
        "[0].id: Bad id, Must be positive"
    );
    assert_eq!(
        msg(
            r#"{"title":"One or more validation errors occurred.","errors":{"Name":["Required"]}}"#
        ),
        "One or more validation errors occurred.: Name: Required"
    );
    assert_eq!(
        msg("CODE:APP03/2 Please select the CAB members to approve"),
        "CODE:APP03/2 Please select the CAB members to approve"
    );
    assert_eq!(msg(r#""quoted string""#), "quoted string");
    assert_eq!(msg(""), "(empty body)");
    assert_eq!(
        msg("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"),
        "HTML error page: 502 Bad Gateway"
    );
    assert_eq!(msg(r#"[{"message":"a"},{"message":"b"}]"#), "a; b");
    // Unknown object shape: the JSON itself, better than nothing.
    assert_eq!(msg(r#"{"foo":1}"#), r#"{"foo":1}"#);
    // Empty strings are skipped in favour of the next candidate.
    assert_eq!(msg(r#"{"errorMessage":"","Message":"second"}"#), "second");
}

#[test]
fn messages_are_truncated_on_char_boundary() {
    let long = "é".repeat(1000);
    let m = msg(&long);
    assert_eq!(m.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert!(m.ends_with('…'));
}

#[test]
fn secrets_are_scrubbed() {
    let body = r#"{"error":"invalid_client","error_description":"secret s3cr3t-value rejected; header Bearer abc.def"}"#;
    let m = extract_message(body.as_bytes(), &["s3cr3t-value"]);
    assert!(!m.contains("s3cr3t-value"), "{m}");
    assert!(!m.contains("abc.def"), "{m}");
    let e = Error::from_response(400, body.as_bytes(), &["s3cr3t-value"]);
    assert!(!format!("{e} {e:?}").contains("s3cr3t-value"));
}

#[test]
fn status_classification() {
    use ErrorKind::*;
    let cases = [
        (400, Validation),
        (401, Auth),
        (403, Permission),
        (404, NotFound),
        (408, Transient),
        (409, Validation),
        (429, RateLimited),
        (500, Transient),
        (501, Protocol),
        (502, Transient),
        (503, Transient),
        (504, Transient),
        (302, Protocol),
    ];
    for (status, kind) in cases {
        assert_eq!(ErrorKind::from_status(status), kind, "{status}");
    }
    assert!(Transient.is_retryable() && RateLimited.is_retryable());
    assert!(!Auth.is_retryable() && !Validation.is_retryable() && !Protocol.is_retryable());
}

#[test]
fn display_names_kind_status_endpoint() {
    let e = Error::from_response(404, br#"{"Message":"no agent"}"#, &[])
        .with_endpoint("/api/Agent/{id}");
    assert_eq!(
        e.to_string(),
        "halo not_found error (HTTP 404) on /api/Agent/{id}: no agent"
    );
}
