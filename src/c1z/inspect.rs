//! `baton-haloitsm inspect FILE ...`: print what a c1z holds.
//!
//! Human output is an aligned table; `json` prints one JSON object per line
//! (JSON Lines) for lists, so large files stream into `jq`, and a single object
//! for `stats`. Rows come in natural id order (`agent:2` before `agent:10`) and grants
//! show the entitlement's and the principal's names beside their ids. Works on any v1
//! c1z, ours or the SDK's (see `reader/`).

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::error::{Error, Result};
use super::reader::{NameCache, Snapshot, SnapshotStats, SyncRunInfo};
use crate::pb;

/// What to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum InspectWhat {
    Resources,
    Entitlements,
    Grants,
    Stats,
    ResourceTypes,
}

/// Prints `what` from the c1z at `path`. `resource_type` filters resources,
/// entitlements and grants (by the resource the entitlement is on).
pub fn run(
    path: &Path,
    what: InspectWhat,
    resource_type: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let mut snap = Snapshot::open(path)?;
    // `agent:2` before `agent:10`: ids sort as people read them.
    snap.set_natural_order(true);
    let snap = snap;
    let w = |e: std::io::Error| Error::io("write", Path::new("<output>"), e);
    match what {
        InspectWhat::Stats => {
            let stats = snap.stats()?;
            if json {
                let v = stats_json(&snap, &stats);
                writeln!(out, "{v}").map_err(w)?;
            } else {
                print_stats(&snap, &stats, out).map_err(w)?;
            }
            return Ok(());
        }
        _ if !json => {
            if let Some(note) = sync_note(snap.sync()) {
                writeln!(out, "# {note}").map_err(w)?;
            }
        }
        _ => {}
    }

    let mut table = Table::default();
    let mut emit = |cells: Vec<String>, v: Value| -> Result<()> {
        if json {
            writeln!(out, "{v}").map_err(w)
        } else {
            table.rows.push(cells);
            Ok(())
        }
    };
    match what {
        InspectWhat::ResourceTypes => {
            table.header = vec!["ID", "DISPLAY NAME", "TRAITS", "NOTES"];
            for rt in snap.resource_types()? {
                if resource_type.is_some_and(|t| t != rt.id) {
                    continue;
                }
                let traits = trait_names(&rt);
                let notes = if pb::find_annotation::<pb::SkipEntitlementsAndGrants>(&rt.annotations)
                    .is_some()
                {
                    "skip entitlements and grants"
                } else {
                    ""
                };
                let v = json!({
                    "id": rt.id, "display_name": rt.display_name, "traits": traits,
                    "description": rt.description, "skip_entitlements_and_grants": !notes.is_empty(),
                });
                emit(
                    vec![
                        rt.id.clone(),
                        rt.display_name.clone(),
                        traits.join(","),
                        notes.into(),
                    ],
                    v,
                )?;
            }
        }
        InspectWhat::Resources => {
            table.header = vec!["TYPE", "ID", "DISPLAY NAME", "STATUS", "EMAIL", "PARENT"];
            snap.for_each_resource(resource_type, |r| {
                let (rtype, id) = ids(r.id.as_ref());
                let parent = r.parent_resource_id.as_ref().map(|p| format!("{}:{}", p.resource_type, p.resource));
                let status = resource_status(&r);
                let email = primary_email(&r);
                let v = json!({
                    "resource_type": rtype, "id": id, "display_name": r.display_name,
                    "status": status, "email": email, "parent": parent, "description": r.description,
                });
                emit(
                    vec![
                        rtype.into(),
                        id.into(),
                        r.display_name.clone(),
                        status.unwrap_or("").into(),
                        email.unwrap_or_default(),
                        parent.unwrap_or_default(),
                    ],
                    v,
                )
            })?;
        }
        InspectWhat::Entitlements => {
            table.header = vec![
                "ID",
                "RESOURCE",
                "DISPLAY NAME",
                "PURPOSE",
                "SLUG",
                "GRANTABLE TO",
            ];
            snap.for_each_entitlement(resource_type, |e| {
                let (rtype, id) = ids(e.resource.as_ref().and_then(|r| r.id.as_ref()));
                let purpose = purpose_name(e.purpose);
                let grantable: Vec<String> = e.grantable_to.iter().map(|t| t.id.clone()).collect();
                let v = json!({
                    "id": e.id, "resource_type": rtype, "resource_id": id, "display_name": e.display_name,
                    "description": e.description, "purpose": purpose, "slug": e.slug, "grantable_to": grantable,
                });
                emit(
                    vec![
                        e.id.clone(),
                        format!("{rtype}:{id}"),
                        e.display_name.clone(),
                        purpose.into(),
                        e.slug.clone(),
                        grantable.join(","),
                    ],
                    v,
                )
            })?;
        }
        InspectWhat::Grants => {
            table.header = vec![
                "ENTITLEMENT",
                "ENTITLEMENT NAME",
                "PRINCIPAL",
                "PRINCIPAL NAME",
                "EXPANDABLE",
            ];
            // Grants usually carry ids only: the names come from the entitlement and
            // resource rows of the same sync (looked up once per id).
            let mut names = NameCache::default();
            snap.for_each_grant(resource_type, |g| {
                let ent = g.entitlement.as_ref();
                let ent_id = ent.map(|e| e.id.clone()).unwrap_or_default();
                let ent_name = match names.entitlement(&snap, &ent_id)? {
                    Some(n) => n,
                    None => ent.map(|e| e.display_name.clone()).unwrap_or_default(),
                };
                let (ptype, pid) = ids(g.principal.as_ref().and_then(|p| p.id.as_ref()));
                let p_name = match names.resource(&snap, ptype, pid)? {
                    Some(n) => n,
                    None => g
                        .principal
                        .as_ref()
                        .map(|p| p.display_name.clone())
                        .unwrap_or_default(),
                };
                let expandable = pb::find_annotation::<pb::GrantExpandable>(&g.annotations);
                let v = json!({
                    "id": g.id, "entitlement_id": ent_id, "entitlement_name": ent_name,
                    "principal": {"resource_type": ptype, "id": pid, "display_name": p_name},
                    "expandable_from": expandable.as_ref().map(|x| x.entitlement_ids.clone()),
                });
                emit(
                    vec![
                        ent_id,
                        ent_name,
                        format!("{ptype}:{pid}"),
                        p_name,
                        if expandable.is_some() {
                            "yes".into()
                        } else {
                            String::new()
                        },
                    ],
                    v,
                )
            })?;
        }
        InspectWhat::Stats => {}
    }
    if !json {
        table.print(out).map_err(w)?;
    }
    Ok(())
}

fn ids(id: Option<&pb::ResourceId>) -> (&str, &str) {
    id.map_or(("", ""), |i| {
        (i.resource_type.as_str(), i.resource.as_str())
    })
}

fn trait_names(rt: &pb::ResourceType) -> Vec<String> {
    rt.traits
        .iter()
        .map(|t| match pb::resource_type::Trait::try_from(*t) {
            Ok(tr) => tr
                .as_str_name()
                .trim_start_matches("TRAIT_")
                .to_ascii_lowercase(),
            Err(_) => t.to_string(),
        })
        .collect()
}

/// The resource's own status, else its user trait's (older connectors set only that).
pub(crate) fn resource_status(r: &pb::Resource) -> Option<&'static str> {
    use pb::status::ResourceStatus as S;
    use pb::user_trait::status::Status as U;
    if let Some(s) = r.status.as_ref().and_then(|s| S::try_from(s.status).ok()) {
        match s {
            S::Enabled => return Some("enabled"),
            S::Disabled => return Some("disabled"),
            S::Deleted => return Some("deleted"),
            S::Unspecified => {}
        }
    }
    let user: pb::UserTrait = pb::find_annotation(&r.annotations)?;
    match U::try_from(user.status?.status).ok()? {
        U::Enabled => Some("enabled"),
        U::Disabled => Some("disabled"),
        U::Deleted => Some("deleted"),
        U::Unspecified => None,
    }
}

pub(crate) fn primary_email(r: &pb::Resource) -> Option<String> {
    let user: pb::UserTrait = pb::find_annotation(&r.annotations)?;
    let primary = user
        .emails
        .iter()
        .find(|e| e.is_primary)
        .or(user.emails.first())?;
    Some(primary.address.clone())
}

fn purpose_name(p: i32) -> &'static str {
    use pb::entitlement::PurposeValue as P;
    match P::try_from(p) {
        Ok(P::Assignment) => "assignment",
        Ok(P::Permission) => "permission",
        Ok(P::Ownership) => "ownership",
        _ => "",
    }
}

fn sync_note(sync: Option<&SyncRunInfo>) -> Option<String> {
    match sync {
        None => Some("no sync run in this file; showing every row".into()),
        Some(s) if !s.is_latest_finished_full => Some(format!(
            "no finished full sync; showing the latest sync {} ({}, {})",
            s.sync_id,
            s.sync_type,
            if s.ended_at.is_some() {
                "finished"
            } else {
                "unfinished"
            }
        )),
        Some(_) => None,
    }
}

fn stats_json(snap: &Snapshot, stats: &SnapshotStats) -> Value {
    let sync = snap.sync().map(|s| {
        json!({
            "sync_id": s.sync_id, "sync_type": s.sync_type, "started_at": s.started_at,
            "ended_at": s.ended_at, "latest_finished_full": s.is_latest_finished_full,
        })
    });
    json!({
        "path": snap.path().display().to_string(),
        "sync": sync,
        "counts": stats.counts,
        "assets": stats.assets,
        "cached_stats_match": stats.cached.as_ref().map(|c| c == &stats.counts),
    })
}

fn print_stats(snap: &Snapshot, stats: &SnapshotStats, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "file:     {}", snap.path().display())?;
    match snap.sync() {
        Some(s) => {
            writeln!(out, "sync:     {} ({})", s.sync_id, s.sync_type)?;
            writeln!(out, "started:  {}", s.started_at)?;
            writeln!(
                out,
                "ended:    {}",
                s.ended_at.as_deref().unwrap_or("— (unfinished)")
            )?;
        }
        None => writeln!(out, "sync:     none")?,
    }
    if let Some(note) = sync_note(snap.sync()) {
        writeln!(out, "note:     {note}")?;
    }
    writeln!(out)?;
    let c = &stats.counts;
    let mut totals = Table {
        header: vec!["TABLE", "ROWS"],
        rows: vec![
            vec!["resource types".into(), c.resource_types.to_string()],
            vec!["resources".into(), c.resources.to_string()],
            vec!["entitlements".into(), c.entitlements.to_string()],
            vec!["grants".into(), c.grants.to_string()],
        ],
    };
    if stats.assets > 0 {
        totals
            .rows
            .push(vec!["assets".into(), stats.assets.to_string()]);
    }
    totals.print(out)?;
    writeln!(out)?;

    let mut types: Vec<&String> = c
        .resources_by_resource_type
        .keys()
        .chain(c.entitlements_by_resource_type.keys())
        .chain(c.grants_by_resource_type.keys())
        .collect();
    types.sort();
    types.dedup();
    let n = |m: &std::collections::BTreeMap<String, u64>, k: &str| {
        m.get(k).copied().unwrap_or(0).to_string()
    };
    let per_type = Table {
        header: vec!["RESOURCE TYPE", "RESOURCES", "ENTITLEMENTS", "GRANTS"],
        rows: types
            .into_iter()
            .map(|t| {
                vec![
                    t.clone(),
                    n(&c.resources_by_resource_type, t),
                    n(&c.entitlements_by_resource_type, t),
                    n(&c.grants_by_resource_type, t),
                ]
            })
            .collect(),
    };
    per_type.print(out)?;
    if let Some(cached) = &stats.cached
        && cached != c
    {
        writeln!(
            out,
            "\nnote: the writer's cached stats differ from the rows: {}",
            cached.to_json()
        )?;
    }
    Ok(())
}

/// A left-aligned text table (numbers right-aligned).
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) header: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn print(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let cols = self.header.len();
        let mut width: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        let mut numeric = vec![true; cols];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                width[i] = width[i].max(cell.chars().count());
                numeric[i] &= !cell.is_empty() && cell.bytes().all(|b| b.is_ascii_digit());
            }
        }
        let line =
            |cells: &mut dyn Iterator<Item = &str>, out: &mut dyn Write| -> std::io::Result<()> {
                let mut text = String::new();
                for (i, cell) in cells.enumerate() {
                    if i > 0 {
                        text.push_str("  ");
                    }
                    let pad = width[i].saturating_sub(cell.chars().count());
                    if numeric[i] && !self.rows.is_empty() {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    } else {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                }
                writeln!(out, "{}", text.trim_end())
            };
        line(&mut self.header.iter().copied(), out)?;
        for row in &self.rows {
            line(&mut row.iter().map(String::as_str), out)?;
        }
        if self.rows.is_empty() {
            writeln!(out, "(none)")?;
        }
        Ok(())
    }
}
