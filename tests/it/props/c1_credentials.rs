//! The C1 client id (`<name>@<host>/<suffix>`) and client secret
//! (`secret-token:<issuer>:v1:<base64url JWK>`) on any text and on edits of valid ones: a
//! parsed value or a `CredentialError`, never a panic; an error never echoes the secret.

use std::time::{Duration, UNIX_EPOCH};

use baton_haloitsm::c1::credentials::{
    ClientId, CredentialError, SigningKey, client_secret_for_seed, host_without_port,
};
use baton_haloitsm::secret::Secret;
use proptest::prelude::*;

use super::cases;
use super::strategies::mutated;

fn client_id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9@/:\\[\\]. -]{0,24}",
        mutated("foo-bar-123@tenant.conductor.one/pcc".into()),
        mutated("x@[::1]:8443/s".into()),
    ]
}

fn secret_of(seed: [u8; 32]) -> String {
    client_secret_for_seed(&seed).unwrap().expose().to_string()
}

fn secret_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "secret-token:[a-z.]{0,12}:v[0-9]:[A-Za-z0-9_=-]{0,60}",
        any::<[u8; 32]>().prop_flat_map(|seed| mutated(secret_of(seed))),
        // A JWK that is valid base64url JSON but not a usable key.
        (
            any::<Option<String>>(),
            any::<Option<String>>(),
            "[A-Za-z0-9_-]{0,50}"
        )
            .prop_map(|(kty, crv, d)| {
                let jwk = serde_json::json!({ "kty": kty, "crv": crv, "d": d, "x": "AAAA" });
                format!(
                    "secret-token:conductorone.com:v1:{}",
                    b64(jwk.to_string().as_bytes())
                )
            }),
    ]
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn client_ids_parse_to_their_parts_or_are_refused(s in client_id_text()) {
        if let Ok(id) = ClientId::parse(&s) {
            prop_assert_eq!(&id.full, s.trim());
            prop_assert!(!id.name.is_empty() && !id.name.contains('@'));
            prop_assert!(!id.host.is_empty() && !id.host.contains('/'));
            let prefix = format!("{}@{}/", id.name, id.host);
            prop_assert!(id.full.starts_with(&prefix));
            let audience = id.audience();
            prop_assert!(id.host.contains(audience));
        }
        let _ = host_without_port(&s);
    }

    #[test]
    fn secrets_parse_to_a_key_or_are_refused_without_echo(s in secret_text()) {
        match SigningKey::from_client_secret(&Secret::new(s.clone())) {
            Ok(key) => {
                // A usable key signs; the assertion is a three-part compact JWS.
                let id = ClientId::parse("a@b.example/c").unwrap();
                let jws = key.client_assertion(&id, UNIX_EPOCH + Duration::from_secs(1_000_000));
                prop_assert_eq!(jws.split('.').count(), 3);
                let debug = format!("{key:?}");
                prop_assert!(!debug.contains(s.trim()));
            }
            Err(e) => {
                // The reason is a fixed text (`&'static str`), and the key part never shows,
                // unless the fixed texts happen to contain it.
                prop_assert!(matches!(e, CredentialError::ClientSecret(_)));
                let shown = format!("{e} {e:?}");
                let fixed = CredentialError::ClientSecret("").to_string();
                let key_part = s.trim().rsplit(':').next().unwrap_or_default();
                if key_part.len() >= 12 && !fixed.contains(key_part) {
                    prop_assert!(!shown.contains(key_part), "the secret is echoed: {}", shown);
                }
            }
        }
    }

    #[test]
    fn a_fresh_secret_reads_back_its_key(seed in any::<[u8; 32]>()) {
        let secret = client_secret_for_seed(&seed).unwrap();
        let key = SigningKey::from_client_secret(&secret)
            .map_err(|e| TestCaseError::fail(format!("fresh secret refused: {e}")))?;
        let again = SigningKey::from_client_secret(&client_secret_for_seed(&seed).unwrap()).unwrap();
        prop_assert_eq!(key.public_key(), again.public_key());
        prop_assert_eq!(key.public_key().len(), 32);
    }
}
