//! Halo's date strings as protobuf timestamps: one reading, shared by the sync
//! (an agent's last login) and ticketing (ticket dates and date fields).

use std::str::FromStr;

use prost_types::Timestamp;

/// Halo dates are `2026-10-01T08:30:00` (no zone; the tenant's UTC) or the
/// `1900-01-01` "unset" sentinel, which callers filter out first.
pub fn parse_halo_date(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    // Anything after the seconds that is not a fraction is a zone designator.
    let has_zone = s.get(19..).unwrap_or("").contains(['Z', 'z', '+', '-']);
    let candidate = if has_zone {
        s.to_string()
    } else {
        format!("{s}Z")
    };
    Timestamp::from_str(&candidate).ok()
}
