//! C1 client credentials: the client id (`<name>@<host>/<suffix>`), the client secret
//! (`secret-token:conductorone.com:v1:<base64url JWK>` holding an Ed25519 private key), and the
//! compact JWS client assertion signed with that key (docs/reference/baton-compat.md §4.1).
//!
//! Errors describe what is wrong with the *shape* of a value and never include the value:
//! a secret pasted into the wrong variable must not reach a log or a terminal.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::Secret;

/// Prefix of every C1 client secret; the version part must be `v1`.
const SECRET_SCHEME: &str = "secret-token";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialError {
    #[error("client id must look like `<name>@<host>/<suffix>` ({0})")]
    ClientId(&'static str),
    #[error(
        "client secret is not a C1 client secret: expected `secret-token:conductorone.com:v1:<key>` ({0})"
    )]
    ClientSecret(&'static str),
}

/// A parsed client id. `host` is the C1 tenant host (token audience and default API host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId {
    pub full: String,
    pub name: String,
    pub host: String,
}

impl ClientId {
    /// Splits at the first `@`, then at the first `/`, as the SDK does; both parts must be non-empty.
    pub fn parse(s: &str) -> Result<ClientId, CredentialError> {
        let s = s.trim();
        let (name, rest) = s
            .split_once('@')
            .ok_or(CredentialError::ClientId("no `@`"))?;
        let (host, suffix) = rest
            .split_once('/')
            .ok_or(CredentialError::ClientId("no `/` after the host"))?;
        if name.is_empty() || host.is_empty() || suffix.is_empty() {
            return Err(CredentialError::ClientId("an empty part"));
        }
        Ok(ClientId {
            full: s.to_string(),
            name: name.to_string(),
            host: host.to_string(),
        })
    }

    /// The audience: the host without a port.
    pub fn audience(&self) -> &str {
        host_without_port(&self.host)
    }
}

/// `host[:port]` or `[v6]:port` → host.
pub fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// The Ed25519 key from a client secret. Debug prints nothing of the key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
    kid: Option<String>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

#[derive(serde::Deserialize)]
struct Jwk {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    d: Option<String>,
    kid: Option<String>,
}

impl SigningKey {
    /// Parses `secret-token:<issuer>:v1:<base64url(JWK JSON)>`; the JWK must be a private
    /// Ed25519 OKP key. Parts 1 and 2 are not checked (neither does the SDK).
    pub fn from_client_secret(secret: &Secret) -> Result<SigningKey, CredentialError> {
        let bad = CredentialError::ClientSecret;
        let parts: Vec<&str> = secret.expose().trim().split(':').collect();
        if parts.len() != 4 {
            return Err(bad("wrong number of `:`-separated parts"));
        }
        if parts[0] != SECRET_SCHEME {
            return Err(bad("does not start with `secret-token:`"));
        }
        if parts[2] != "v1" {
            return Err(bad("unsupported version, expected v1"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(parts[3].trim_end_matches('='))
            .map_err(|_| bad("the key part is not base64url"))?;
        let jwk: Jwk =
            serde_json::from_slice(&json).map_err(|_| bad("the key part is not a JSON JWK"))?;
        if jwk.kty.as_deref() != Some("OKP") || jwk.crv.as_deref() != Some("Ed25519") {
            return Err(bad("the key is not an Ed25519 (OKP) key"));
        }
        let d = jwk
            .d
            .ok_or(bad("the key is a public key, not a private key"))?;
        let seed = URL_SAFE_NO_PAD
            .decode(d)
            .map_err(|_| bad("the private key is not base64url"))?;
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|_| bad("the private key is not a 32-byte Ed25519 seed"))?;
        if let Some(x) = jwk.x {
            let x = URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|_| bad("the public key is not base64url"))?;
            if x.as_slice() != pair.public_key().as_ref() {
                return Err(bad("the public and private halves do not match"));
            }
        }
        Ok(SigningKey { pair, kid: jwk.kid })
    }

    /// The raw 32-byte public key (tests verify signatures with it).
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A compact JWS (alg EdDSA) asserting `client_id` for `audience`, valid ±2 minutes around
    /// `now`, as the SDK sets it: iss = sub = client id, aud = [host], nbf = now − 2 min,
    /// exp = now + 2 min. A fresh random `nonce` header makes every assertion unique.
    pub fn client_assertion(&self, client_id: &ClientId, now: SystemTime) -> String {
        let now = now
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let skew = 120;
        let nonce: [u8; 16] = rand::random();
        let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        let mut header = serde_json::json!({ "alg": "EdDSA", "nonce": nonce });
        if let Some(kid) = &self.kid {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let claims = serde_json::json!({
            "iss": client_id.full,
            "sub": client_id.full,
            "aud": [client_id.audience()],
            "iat": now,
            "nbf": now.saturating_sub(skew),
            "exp": now + skew,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.pair.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// Builds a client secret for an Ed25519 seed (tests and the fake C1 make fresh keys with it).
pub fn client_secret_for_seed(seed: &[u8; 32]) -> Result<Secret, CredentialError> {
    let pair = Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| CredentialError::ClientSecret("bad seed"))?;
    let jwk = serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
        "d": URL_SAFE_NO_PAD.encode(seed),
    });
    Ok(Secret::new(format!(
        "secret-token:conductorone.com:v1:{}",
        URL_SAFE_NO_PAD.encode(jwk.to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};

    #[test]
    fn client_id_shapes() {
        let id = ClientId::parse("foo-bar-123@tenant.conductor.one/pcc").expect("valid");
        assert_eq!(id.name, "foo-bar-123");
        assert_eq!(id.host, "tenant.conductor.one");
        let id = ClientId::parse("n@127.0.0.1:8443/x").expect("valid");
        assert_eq!(id.audience(), "127.0.0.1");
        for bad in ["", "nohost", "a@b", "@b/c", "a@/c", "a@b/"] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_round_trip_and_signature_verifies() {
        let seed = [7u8; 32];
        let secret = client_secret_for_seed(&seed).expect("secret");
        let key = SigningKey::from_client_secret(&secret).expect("parses");
        let id = ClientId::parse("me@c1.example/pcc").expect("id");
        let jws = key.client_assertion(&id, SystemTime::now());
        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        let input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ED25519, key.public_key())
            .verify(input.as_bytes(), &sig)
            .expect("signature verifies with the public half");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        assert_eq!(claims["iss"], "me@c1.example/pcc");
        assert_eq!(claims["sub"], "me@c1.example/pcc");
        assert_eq!(claims["aud"][0], "c1.example");
        let (iat, exp) = (claims["iat"].as_u64(), claims["exp"].as_u64());
        assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(120));
    }

    #[test]
    fn bad_secrets_never_echo_the_value() {
        let good = client_secret_for_seed(&[1u8; 32]).expect("secret");
        let tail = good
            .expose()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let cases = [
            "hunter2".to_string(),
            format!("secret-token:conductorone.com:v2:{tail}"),
            format!("nope:conductorone.com:v1:{tail}"),
            "secret-token:conductorone.com:v1:!!!notbase64!!!".to_string(),
            format!(
                "secret-token:x:v1:{}",
                URL_SAFE_NO_PAD.encode(r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#)
            ),
        ];
        for c in cases {
            let e = SigningKey::from_client_secret(&Secret::new(c.clone())).expect_err("rejected");
            let msg = e.to_string();
            assert!(!msg.contains(&c) && !msg.contains(&tail), "{msg}");
        }
    }
}
