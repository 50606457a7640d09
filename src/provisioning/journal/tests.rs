//! Unit tests of the journal (its clock is stepped by hand).

use super::*;
use crate::contract::ids::{EntitlementRef, GrantRef};

fn grant() -> Operation {
    Operation::Grant {
        grant: GrantRef {
            entitlement: EntitlementRef::TeamMember(3),
            agent_id: 7,
        },
    }
}

#[test]
fn fallback_tickets_are_listed_until_marked_resolved_once() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("j.sqlite3")).unwrap();
    let plain = j.submit(&grant(), "t", None).unwrap().id;
    let failed = Outcome::failed(super::super::outcome::FailureKind::Internal, "x");
    j.finish(plain, &failed).unwrap();
    let ticketed = j.submit(&grant(), "t", None).unwrap().id;
    j.finish(
        ticketed,
        &Outcome::Ticketed {
            ticket_id: "12".into(),
            reason: "manual".into(),
        },
    )
    .unwrap();
    let open = j.fallback_unresolved().unwrap();
    assert_eq!(open.iter().map(|r| r.id).collect::<Vec<_>>(), [ticketed]);
    assert!(j.mark_fallback_resolved(ticketed).unwrap());
    assert!(!j.mark_fallback_resolved(ticketed).unwrap(), "only once");
    assert!(!j.mark_fallback_resolved(plain).unwrap(), "no ticket");
    assert!(j.fallback_unresolved().unwrap().is_empty());
    assert!(
        j.get(ticketed)
            .unwrap()
            .unwrap()
            .fallback_resolved_at_ms
            .is_some()
    );
}

#[test]
fn a_journal_from_before_the_resolved_column_gains_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    let old = SCHEMA.replace(",\n    fallback_resolved_at INTEGER", "");
    assert_ne!(old, SCHEMA);
    Connection::open(&path)
        .unwrap()
        .execute_batch(&old)
        .unwrap();
    let j = Journal::open(&path).unwrap();
    assert!(j.fallback_unresolved().unwrap().is_empty());
    drop(j);
    // Opening again (column present) is fine too.
    Journal::open(&path).unwrap();
}
