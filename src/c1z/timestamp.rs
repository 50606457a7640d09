//! Row timestamps in the SDK's format.
//!
//! The SDK writes `time.Now().Format("2006-01-02 15:04:05.999999999")`: the
//! fraction has its trailing zeros trimmed (and the dot too when it is zero).
//! We write UTC; the SDK writes local wall-clock time without a zone, which is
//! the same thing on a UTC host (docs/reference/baton-compat.md §1.4).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// `now` in the SDK's row-timestamp format, UTC.
pub fn now() -> String {
    format(SystemTime::now())
}

/// `t` in the SDK's row-timestamp format, UTC. Times before 1970 clamp to the epoch.
pub fn format(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    let mut out = String::with_capacity(29);
    // Writing into a String cannot fail.
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    );
    if nanos != 0 {
        let mut frac = format!("{nanos:09}");
        while frac.ends_with('0') {
            frac.pop();
        }
        out.push('.');
        out.push_str(&frac);
    }
    out
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> String {
        format(UNIX_EPOCH + Duration::new(secs, nanos))
    }

    #[test]
    fn matches_go_layout() {
        assert_eq!(at(0, 0), "1970-01-01 00:00:00");
        // 2025-12-17 16:31:25.058722 (a fixture's discovered_at)
        assert_eq!(at(1_765_989_085, 58_722_000), "2025-12-17 16:31:25.058722");
        assert_eq!(at(1_709_251_199, 1), "2024-02-29 23:59:59.000000001");
        assert_eq!(at(951_782_400, 500_000_000), "2000-02-29 00:00:00.5");
    }
}
