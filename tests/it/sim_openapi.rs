//! Every Halo route the simulator serves exists in the official OpenAPI document with the
//! same method. Reads `sim::ROUTES`, the table the dispatcher itself uses, so it cannot drift.

use std::collections::BTreeSet;
use std::path::Path;

use baton_haloitsm::sim::ROUTES;
use serde_json::Value;

const SPEC: &str = "../shared/fixtures/halo/openapi-v2.json";
/// Fallback for checkouts that are not next to `shared/`.
const SPEC_ABS: &str = "/work/shared/fixtures/halo/openapi-v2.json";

/// Lower-case, every `{param}` replaced by `{}`.
fn normalise(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "{}".to_owned()
            } else {
                seg.to_ascii_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn every_served_route_is_in_the_openapi_document() {
    let spec_path = [SPEC, SPEC_ABS]
        .into_iter()
        .map(|p| Path::new(env!("CARGO_MANIFEST_DIR")).join(p))
        .find(|p| p.exists());
    let Some(spec_path) = spec_path else {
        println!("skipped: {SPEC} not found (no ../shared checkout)");
        return;
    };
    let spec: Value = serde_json::from_slice(&std::fs::read(&spec_path).unwrap()).unwrap();
    let base = spec["servers"][0]["url"].as_str().unwrap_or("/api");
    let mut in_spec = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            in_spec.insert((
                method.to_ascii_uppercase(),
                normalise(&format!("{base}{path}")),
            ));
        }
    }

    let mut checked = 0;
    for r in ROUTES {
        // The OAuth token endpoint belongs to the authorisation server, not to the `/api`
        // resource server the document describes. (`/_sim/*` admin routes are not in ROUTES.)
        if r.path.eq_ignore_ascii_case("/auth/token") {
            continue;
        }
        let key = (r.method.as_str().to_owned(), normalise(r.path));
        assert!(
            in_spec.contains(&key),
            "{} {} is served but not in the OpenAPI document",
            r.method,
            r.path
        );
        checked += 1;
    }
    assert!(checked >= 17, "{checked}");
}
