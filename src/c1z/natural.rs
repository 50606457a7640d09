//! Natural order for ids: runs of ASCII digits compare as numbers, so `agent:2` comes
//! before `agent:10` (plain text order puts `agent:10` first). Used by `inspect` (as the
//! SQLite collation `NATURAL`) and by `diff` (sorting its sections).

use std::cmp::Ordering;

/// The name the reader registers [`natural_cmp`] under on its SQLite connection.
pub const COLLATION: &str = "natural_id";

/// Compares `a` and `b` naturally: digit runs by value (leading zeros ignored, then the
/// shorter run first so the order stays total), everything else byte by byte.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (si, sj) = (i, j);
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (da, db) = (&a[si..i], &b[sj..j]);
            let ta = trim_zeros(da);
            let tb = trim_zeros(db);
            // Same value compares by length, then digits (both without leading zeros);
            // equal values with different zero padding: fewer digits first.
            let ord = ta
                .len()
                .cmp(&tb.len())
                .then_with(|| ta.cmp(tb))
                .then_with(|| da.len().cmp(&db.len()));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            match a[i].cmp(&b[j]) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                other => return other,
            }
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let start = d.iter().position(|&c| c != b'0').unwrap_or(d.len());
    &d[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        let mut ids = vec![
            "agent:101",
            "agent:10",
            "agent:2",
            "agent:1",
            "team:3",
            "agent:02",
        ];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            ids,
            [
                "agent:1",
                "agent:2",
                "agent:02",
                "agent:10",
                "agent:101",
                "team:3"
            ]
        );
    }

    #[test]
    fn text_and_mixed_runs() {
        assert_eq!(natural_cmp("a", "b"), Ordering::Less);
        assert_eq!(natural_cmp("a1b2", "a1b10"), Ordering::Less);
        assert_eq!(natural_cmp("x", "x1"), Ordering::Less);
        assert_eq!(natural_cmp("", ""), Ordering::Equal);
        assert_eq!(natural_cmp("role:abc-1", "role:abc-1"), Ordering::Equal);
        // Longer than u64: still by value.
        assert_eq!(
            natural_cmp("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }
}
