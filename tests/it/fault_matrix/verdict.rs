//! The verdict on one run: the rows it must have (or the failure it may have), and the
//! Markdown table of all runs.

use std::collections::HashSet;
use std::time::Duration;

use super::faults::{Fault, Sizes};
use super::{Outcome, Rows, Run};
/// The outcome this fault must have, and evidence that the fault did fire.
pub(super) fn check(run: &Run, s: &Sizes, expected: &Rows) {
    let f = run.fault;
    match &run.outcome {
        Outcome::Rows(rows) => {
            assert!(f != Fault::DiskFull, "a full disk cannot give a snapshot");
            for (table, want) in expected {
                let got = &rows[table];
                let got_ids: HashSet<&String> = got.iter().map(|r| &r.0).collect();
                let want_ids: HashSet<&String> = want.iter().map(|r| &r.0).collect();
                let missing: Vec<_> = want_ids.difference(&got_ids).take(5).collect();
                let extra: Vec<_> = got_ids.difference(&want_ids).take(5).collect();
                assert!(
                    got == want,
                    "{f:?}: {table} differs from the expected rows: {} vs {} rows, missing {missing:?}, extra {extra:?}",
                    got.len(),
                    want.len()
                );
            }
            assert_eq!(rows.len(), expected.len());
        }
        Outcome::Failed { code, reason } => {
            let needle = match f {
                // SQLite reports ENOSPC as "full" and EFBIG as a plain I/O error.
                Fault::DiskFull => ["disk is full", "disk I/O error"].as_slice(),
                Fault::TokenEndpointDown => ["token", "503"].as_slice(),
                Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced => {
                    ["changed"].as_slice()
                }
                _ => panic!("{f:?} must not fail the sync: {code:?} {reason}"),
            };
            assert!(
                needle.iter().any(|n| reason.contains(n)),
                "{f:?}: the reason should name the cause ({needle:?}): {reason}"
            );
            // The token outage must outlast the retry budget to fail the sync.
            if f == Fault::TokenEndpointDown {
                assert!(s.token_outage > Duration::from_secs(7), "{reason}");
            }
        }
    }
    if f == Fault::DiskFull {
        assert!(matches!(run.outcome, Outcome::Failed { .. }));
    } else if !matches!(
        f,
        Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced
    ) {
        assert!(
            run.fault_answers > 0,
            "{f:?} never fired: nothing but 2xx answers"
        );
    }
}

/// Rows that name one of `ids`: its agent resource and its grants.
pub(super) fn without_agents(rows: &Rows, ids: &HashSet<String>) -> Rows {
    let names = |ext: &str| {
        ext.strip_prefix("agent:")
            .is_some_and(|id| ids.contains(id))
            || ext
                .rsplit_once(":agent:")
                .is_some_and(|(_, id)| ids.contains(id))
    };
    rows.iter()
        .map(|(t, v)| {
            (
                t.clone(),
                v.iter().filter(|r| !names(&r.0)).cloned().collect(),
            )
        })
        .collect()
}

/// The paging guarantee for agents inserted or deleted while the sync ran, for the
/// unbalanced and the balanced (counts unchanged) case alike: every agent that existed
/// throughout is in the snapshot exactly once, exactly as in the final state; a changed
/// agent may be in it or not, but only with rows that were true at some point (the
/// final state's or the fault-free run's); no row twice. Returns the table's note.
pub(super) fn check_shifted(run: &Run, before: &Rows, last: &Rows) -> String {
    let f = run.fault;
    assert!(
        !run.changed.is_empty(),
        "{f:?}: the agent list never changed"
    );
    let changed: HashSet<String> = run.changed.iter().map(i64::to_string).collect();
    let steady_last = without_agents(last, &changed);
    let dropped = last["v1_resources"].len() - steady_last["v1_resources"].len();
    assert!(dropped > 0, "{f:?}: agent rows are not named agent:<id>");
    let Outcome::Rows(rows) = &run.outcome else {
        let Outcome::Failed { reason, .. } = &run.outcome else {
            unreachable!()
        };
        assert!(reason.contains("changed"), "{f:?}: {reason}");
        return String::new();
    };
    for (table, got) in rows {
        let ids: HashSet<&String> = got.iter().map(|r| &r.0).collect();
        assert_eq!(ids.len(), got.len(), "{f:?}: a row twice in {table}");
        let was_true = |r: &(String, Vec<u8>)| last[table].contains(r) || before[table].contains(r);
        let stale: Vec<_> = got
            .iter()
            .filter(|r| !was_true(r))
            .map(|r| &r.0)
            .take(5)
            .collect();
        assert!(
            stale.is_empty(),
            "{f:?}: {table} rows never true: {stale:?}"
        );
    }
    let steady = without_agents(rows, &changed);
    let agents = |r: &Rows| -> HashSet<String> {
        r["v1_resources"]
            .iter()
            .map(|r| r.0.clone())
            .filter(|e| e.starts_with("agent:"))
            .collect()
    };
    let missing: Vec<String> = agents(&steady_last)
        .difference(&agents(&steady))
        .cloned()
        .collect();
    let kept = agents(rows)
        .iter()
        .filter(|a| changed.contains(&a[6..]))
        .count();
    assert!(
        missing.is_empty(),
        "{f:?}: agents that existed throughout are missing: {missing:?}"
    );
    assert!(
        steady == steady_last,
        "{f:?}: rows of unchanged agents differ from the final state"
    );
    format!(
        "{kept} of the {} inserted/deleted agents in the snapshot",
        changed.len()
    )
}

pub(super) fn outcome_cell(run: &Run) -> String {
    match &run.outcome {
        Outcome::Rows(_) if !run.changed.is_empty() => {
            "final-state rows for every agent that existed throughout; changed agents as read"
                .into()
        }
        Outcome::Rows(_) => "exact fault-free rows".into(),
        Outcome::Failed { code, reason } => format!(
            "clean failure, exit {}, nothing published: `{}`",
            code.map_or("signal".into(), |c| c.to_string()),
            reason.replace('|', "\\|")
        ),
    }
}

pub(super) fn table(runs: &[Run], s: &Sizes) -> String {
    let base = runs[0].wall.as_secs_f64();
    let mut t = String::from(
        "| Fault | Outcome | Halo requests | Retries | Time | × fault-free |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let mut what = r.fault.describe(s);
        if !r.note.is_empty() {
            what = format!("{what}; {}", r.note);
        }
        t.push_str(&format!(
            "| {what} | {} | {} | {} | {:.1} s | {:.1} |\n",
            outcome_cell(r),
            r.requests,
            r.retries,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / base
        ));
    }
    t
}
