//! KSUIDs, the sync-id format of the baton SDK (segmentio/ksuid).
//!
//! 20 bytes: a 4-byte big-endian count of seconds since the KSUID epoch
//! (1,400,000,000 Unix seconds), then 16 random bytes; written as 27 base62
//! characters, zero-padded. Lexical order therefore follows creation time,
//! which is what the SDK relies on when it sorts sync ids.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

const EPOCH: u64 = 1_400_000_000;
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const LEN: usize = 27;

/// A new KSUID for the current time.
pub fn new() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(EPOCH);
    let mut payload = [0u8; 16];
    rand::rng().fill_bytes(&mut payload);
    from_parts(secs, &payload)
}

/// The KSUID for Unix time `unix_secs` and the given payload.
pub fn from_parts(unix_secs: u64, payload: &[u8; 16]) -> String {
    // Times before the epoch (or after 2150) cannot be represented; clamp like a u32 would.
    let ts = unix_secs.saturating_sub(EPOCH).min(u64::from(u32::MAX)) as u32;
    let mut raw = [0u8; 20];
    raw[..4].copy_from_slice(&ts.to_be_bytes());
    raw[4..].copy_from_slice(payload);
    encode_base62(raw)
}

/// Seconds since the Unix epoch encoded in a KSUID, if it is one.
pub fn timestamp(ksuid: &str) -> Option<u64> {
    let raw = decode_base62(ksuid)?;
    let ts = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Some(u64::from(ts) + EPOCH)
}

fn encode_base62(mut num: [u8; 20]) -> String {
    // Long division of a 160-bit big-endian number by 62, least significant digit first.
    let mut out = [b'0'; LEN];
    for slot in out.iter_mut().rev() {
        let mut rem: u32 = 0;
        for byte in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            rem = acc % 62;
        }
        *slot = ALPHABET[rem as usize];
    }
    // Every byte is from ALPHABET, so this is ASCII.
    out.iter().map(|&b| b as char).collect()
}

fn decode_base62(s: &str) -> Option<[u8; 20]> {
    if s.len() != LEN {
        return None;
    }
    let mut num = [0u8; 20];
    for c in s.bytes() {
        let digit = ALPHABET.iter().position(|&a| a == c)? as u32;
        // num = num * 62 + digit
        let mut carry = digit;
        for byte in num.iter_mut().rev() {
            let acc = u32::from(*byte) * 62 + carry;
            *byte = (acc & 0xff) as u8;
            carry = acc >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // Max value of segmentio/ksuid ("aWgEPTl1tmebfsQzFP4bxwgy80V") and min ("000...0").
        assert_eq!(encode_base62([0xff; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        assert_eq!(encode_base62([0; 20]), "0".repeat(27));
    }

    #[test]
    fn round_trips_time_and_sorts_by_time() {
        let a = from_parts(1_700_000_000, &[0xff; 16]);
        let b = from_parts(1_700_000_001, &[0; 16]);
        assert_eq!(a.len(), LEN);
        assert!(a < b);
        assert_eq!(timestamp(&a), Some(1_700_000_000));
        let fresh = new();
        assert_eq!(fresh.len(), LEN);
        assert!(fresh.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(fresh, new());
    }

    #[test]
    fn decodes_fixture_ids() {
        // Sync ids of the SDK-written fixtures: 2026-03-03 and 2025-12-17.
        assert_eq!(
            timestamp("3ARefY5G8eOytquwYgm41Nq07IZ").map(|t| t / 86_400),
            Some(20_515)
        );
        assert_eq!(
            timestamp("36zfOAoWMxQdISbixanQCRBiX7E").map(|t| t / 86_400),
            Some(20_439)
        );
        assert_eq!(timestamp("not-a-ksuid"), None);
    }
}
