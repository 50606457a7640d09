//! How a `SnapshotDiff` prints: grouped tables for people, one JSON object for machines.
//! Both end with the same summary.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::diff::{GrantEntry, ResourceEntry, SnapshotDiff};
use super::inspect::Table;

impl SnapshotDiff {
    /// Sections (Resources added / removed / changed, Grants added / removed; empty
    /// ones left out), then the summary line.
    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        let sync = |s: &Option<String>| s.as_deref().unwrap_or("no sync run").to_string();
        writeln!(
            out,
            "old: {} ({})",
            self.old.path.display(),
            sync(&self.old.sync_id)
        )?;
        writeln!(
            out,
            "new: {} ({})",
            self.new.path.display(),
            sync(&self.new.sync_id)
        )?;
        let resources = |title: &str, rows: &[ResourceEntry], out: &mut dyn Write| {
            section(
                out,
                title,
                Table {
                    header: vec!["TYPE", "ID", "DISPLAY NAME"],
                    rows: rows
                        .iter()
                        .map(|r| {
                            vec![
                                r.resource_type.clone(),
                                r.id.clone(),
                                r.display_name.clone(),
                            ]
                        })
                        .collect(),
                },
            )
        };
        resources("Resources added", &self.resources_added, out)?;
        resources("Resources removed", &self.resources_removed, out)?;
        // One line per changed field; the resource is named on its first line only.
        let mut changed = Vec::new();
        for c in &self.resources_changed {
            for (i, f) in c.changes.iter().enumerate() {
                let r = &c.resource;
                let who = if i == 0 {
                    vec![
                        r.resource_type.clone(),
                        r.id.clone(),
                        r.display_name.clone(),
                    ]
                } else {
                    vec![String::new(); 3]
                };
                changed.push([who, vec![f.field.clone(), f.old.clone(), f.new.clone()]].concat());
            }
        }
        section(
            out,
            "Resources changed",
            Table {
                header: vec!["TYPE", "ID", "DISPLAY NAME", "FIELD", "OLD", "NEW"],
                rows: changed,
            },
        )?;
        let grants = |title: &str, rows: &[GrantEntry], out: &mut dyn Write| {
            section(
                out,
                title,
                Table {
                    header: vec![
                        "ENTITLEMENT",
                        "ENTITLEMENT NAME",
                        "PRINCIPAL",
                        "PRINCIPAL NAME",
                    ],
                    rows: rows
                        .iter()
                        .map(|g| {
                            vec![
                                g.entitlement_id.clone(),
                                g.entitlement_name.clone(),
                                format!("{}:{}", g.principal_type, g.principal_id),
                                g.principal_name.clone(),
                            ]
                        })
                        .collect(),
                },
            )
        };
        grants("Grants added", &self.grants_added, out)?;
        grants("Grants removed", &self.grants_removed, out)?;
        writeln!(out)?;
        writeln!(out, "{}", self.summary().line())
    }

    /// `{old, new, equal, resources: {added, removed, changed}, grants: {added, removed},
    /// summary: {counts…, text}}`.
    pub fn to_json(&self) -> Value {
        let s = self.summary();
        json!({
            "old": self.old,
            "new": self.new,
            "equal": self.is_empty(),
            "resources": {
                "added": self.resources_added,
                "removed": self.resources_removed,
                "changed": self.resources_changed,
            },
            "grants": {
                "added": self.grants_added,
                "removed": self.grants_removed,
            },
            "summary": {
                "resources_added": s.resources_added,
                "resources_removed": s.resources_removed,
                "resources_changed": s.resources_changed,
                "grants_added": s.grants_added,
                "grants_removed": s.grants_removed,
                "text": s.line(),
            },
        })
    }
}

fn section(out: &mut dyn Write, title: &str, table: Table) -> io::Result<()> {
    if table.rows.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{title} ({})", distinct_first_cells(&table))?;
    table.print(out)
}

/// Rows of a section, counting a changed resource once however many fields changed.
fn distinct_first_cells(t: &Table) -> usize {
    t.rows
        .iter()
        .filter(|r| r.first().is_some_and(|c| !c.is_empty()))
        .count()
}
