//! `diff OLD NEW`: who gained and who lost access between two c1z snapshots.
//!
//! Resources are keyed by `(type, id)` and grants by grant id, both through the row's
//! `external_id`, which every writer (ours, the SDK) makes unique within a sync. SQLite
//! finds the rows that differ (`Snapshot::compare_rows`), so rows that are equal byte
//! for byte are never decoded and nothing is held in memory but the differences.
//!
//! A resource "changed" when its row differs and one of the fields people act on
//! differs: display name, description, status (enabled/disabled), primary email, login,
//! last login, parent, or a profile value. A row that differs only elsewhere (another
//! annotation) is reported as a change of `other`; one whose decoded message is equal
//! (another writer's encoding) is not a change. Grants are added or removed only: a
//! grant with the same id is the same access.
//!
//! Names come from the snapshot the row is in: a removed grant's principal and
//! entitlement are named as the old file names them. Each section is sorted in natural
//! id order (`agent:2` before `agent:10`). Printing is in `diff_output.rs`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prost::Message;
use serde::Serialize;

use super::error::{Error, Result};
use super::inspect::{primary_email, resource_status};
use super::natural::natural_cmp;
use super::reader::{NameCache, ReadOptions, RowDiff, Side, Snapshot};
use super::schema;
use crate::pb;

/// A resource, as a diff shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceEntry {
    pub resource_type: String,
    pub id: String,
    pub display_name: String,
}

/// One field of a changed resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    #[serde(flatten)]
    pub resource: ResourceEntry,
    pub changes: Vec<FieldChange>,
}

/// A grant with the names of its entitlement and principal (empty when the
/// snapshot has no such row or no name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantEntry {
    pub id: String,
    pub entitlement_id: String,
    pub entitlement_name: String,
    pub principal_type: String,
    pub principal_id: String,
    pub principal_name: String,
}

/// Which sync of which file was compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub path: PathBuf,
    pub sync_id: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub resources_added: usize,
    pub resources_removed: usize,
    pub resources_changed: usize,
    pub grants_added: usize,
    pub grants_removed: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SnapshotDiff {
    pub old: FileInfo,
    pub new: FileInfo,
    pub resources_added: Vec<ResourceEntry>,
    pub resources_removed: Vec<ResourceEntry>,
    pub resources_changed: Vec<ResourceChange>,
    pub grants_added: Vec<GrantEntry>,
    pub grants_removed: Vec<GrantEntry>,
}

impl SnapshotDiff {
    pub fn summary(&self) -> Summary {
        Summary {
            resources_added: self.resources_added.len(),
            resources_removed: self.resources_removed.len(),
            resources_changed: self.resources_changed.len(),
            grants_added: self.grants_added.len(),
            grants_removed: self.grants_removed.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.summary() == Summary::default()
    }
}

impl Summary {
    /// "2 resources added, 1 changed, 3 grants added, 1 removed"; zeros are left out,
    /// and two equal files read "no differences".
    pub fn line(&self) -> String {
        let mut parts = Vec::new();
        let mut group = |noun: &str, counts: &[(usize, &str)]| {
            let mut first = true;
            for &(n, verb) in counts.iter().filter(|(n, _)| *n > 0) {
                if first {
                    let plural = if n == 1 { "" } else { "s" };
                    parts.push(format!("{n} {noun}{plural} {verb}"));
                    first = false;
                } else {
                    parts.push(format!("{n} {verb}"));
                }
            }
        };
        group(
            "resource",
            &[
                (self.resources_added, "added"),
                (self.resources_removed, "removed"),
                (self.resources_changed, "changed"),
            ],
        );
        group(
            "grant",
            &[
                (self.grants_added, "added"),
                (self.grants_removed, "removed"),
            ],
        );
        if parts.is_empty() {
            "no differences".into()
        } else {
            parts.join(", ")
        }
    }
}

/// Opens both files (their decoded databases go under `opts.temp_dir`, else `$TMPDIR`)
/// and compares them.
pub fn diff_files(old: &Path, new: &Path, opts: &ReadOptions) -> Result<SnapshotDiff> {
    let old = Snapshot::open_with(old, opts)?;
    let new = Snapshot::open_with(new, opts)?;
    diff(&old, &new)
}

pub fn diff(old: &Snapshot, new: &Snapshot) -> Result<SnapshotDiff> {
    let info = |s: &Snapshot| FileInfo {
        path: s.path().to_path_buf(),
        sync_id: s.sync().map(|r| r.sync_id.clone()),
    };
    let mut d = SnapshotDiff {
        old: info(old),
        new: info(new),
        resources_added: Vec::new(),
        resources_removed: Vec::new(),
        resources_changed: Vec::new(),
        grants_added: Vec::new(),
        grants_removed: Vec::new(),
    };
    old.compare_rows(new, schema::RESOURCES, true, |row| {
        match (row.old, row.new) {
            (None, Some((id, data))) => {
                let r = decode::<pb::Resource>(new, schema::RESOURCES, id, data)?;
                d.resources_added.push(entry(&r));
            }
            (Some((id, data)), None) => {
                let r = decode::<pb::Resource>(old, schema::RESOURCES, id, data)?;
                d.resources_removed.push(entry(&r));
            }
            (Some((oid, odata)), Some((nid, ndata))) => {
                let o = decode::<pb::Resource>(old, schema::RESOURCES, oid, odata)?;
                let n = decode::<pb::Resource>(new, schema::RESOURCES, nid, ndata)?;
                if let Some(c) = changes(&o, &n) {
                    d.resources_changed.push(ResourceChange {
                        resource: entry(&n),
                        changes: c,
                    });
                }
            }
            (None, None) => {}
        }
        Ok(())
    })?;

    let (mut old_names, mut new_names) = (NameCache::default(), NameCache::default());
    old.compare_rows(new, schema::GRANTS, false, |row: RowDiff<'_>| {
        let (side, snap, names, (id, data)) = match (row.old, row.new) {
            (Some(o), None) => (Side::Old, old, &mut old_names, o),
            (None, Some(n)) => (Side::New, new, &mut new_names, n),
            _ => return Ok(()),
        };
        let g = decode::<pb::Grant>(snap, schema::GRANTS, id, data)?;
        let e = grant_entry(snap, names, g, row.key)?;
        match side {
            Side::Old => d.grants_removed.push(e),
            Side::New => d.grants_added.push(e),
        }
        Ok(())
    })?;

    let by_resource = |a: &ResourceEntry, b: &ResourceEntry| {
        natural_cmp(&a.resource_type, &b.resource_type).then_with(|| natural_cmp(&a.id, &b.id))
    };
    d.resources_added.sort_by(by_resource);
    d.resources_removed.sort_by(by_resource);
    d.resources_changed
        .sort_by(|a, b| by_resource(&a.resource, &b.resource));
    d.grants_added.sort_by(grant_order);
    d.grants_removed.sort_by(grant_order);
    Ok(d)
}

fn grant_order(a: &GrantEntry, b: &GrantEntry) -> Ordering {
    natural_cmp(&a.entitlement_id, &b.entitlement_id)
        .then_with(|| natural_cmp(&a.principal_type, &b.principal_type))
        .then_with(|| natural_cmp(&a.principal_id, &b.principal_id))
        .then_with(|| natural_cmp(&a.id, &b.id))
}

fn decode<M: Message + Default>(
    snap: &Snapshot,
    table: &'static str,
    row_id: i64,
    data: &[u8],
) -> Result<M> {
    M::decode(data).map_err(|cause| Error::Decode {
        path: snap.path().to_path_buf(),
        table,
        row_id,
        cause,
    })
}

fn entry(r: &pb::Resource) -> ResourceEntry {
    let (resource_type, id) =
        r.id.as_ref()
            .map(|i| (i.resource_type.clone(), i.resource.clone()))
            .unwrap_or_default();
    ResourceEntry {
        resource_type,
        id,
        display_name: r.display_name.clone(),
    }
}

fn grant_entry(
    snap: &Snapshot,
    names: &mut NameCache,
    g: pb::Grant,
    key: &str,
) -> Result<GrantEntry> {
    let ent = g.entitlement.unwrap_or_default();
    let (ptype, pid) = g
        .principal
        .as_ref()
        .and_then(|p| p.id.as_ref())
        .map(|i| (i.resource_type.clone(), i.resource.clone()))
        .unwrap_or_default();
    // The grant's own copy of its entitlement and principal is often slim (ids only).
    let entitlement_name = match names.entitlement(snap, &ent.id)? {
        Some(n) => n,
        None => ent.display_name.clone(),
    };
    let principal_name = match names.resource(snap, &ptype, &pid)? {
        Some(n) => n,
        None => g
            .principal
            .as_ref()
            .map(|p| p.display_name.clone())
            .unwrap_or_default(),
    };
    Ok(GrantEntry {
        id: if g.id.is_empty() {
            key.to_string()
        } else {
            g.id
        },
        entitlement_id: ent.id,
        entitlement_name,
        principal_type: ptype,
        principal_id: pid,
        principal_name,
    })
}

/// The fields that differ, or `None` when the two messages are the same.
fn changes(old: &pb::Resource, new: &pb::Resource) -> Option<Vec<FieldChange>> {
    if old == new {
        return None;
    }
    let (a, b) = (fields(old), fields(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<FieldChange> = keys
        .into_iter()
        .filter_map(|k| {
            let (va, vb) = (a.get(k), b.get(k));
            (va != vb).then(|| FieldChange {
                field: k.clone(),
                old: va.cloned().unwrap_or_default(),
                new: vb.cloned().unwrap_or_default(),
            })
        })
        .collect();
    if out.is_empty() {
        out.push(FieldChange {
            field: "other".into(),
            old: String::new(),
            new: String::new(),
        });
    }
    // The fields people act on first, then profile values.
    out.sort_by_key(|c| {
        (
            c.field.starts_with("profile."),
            FIELD_ORDER.iter().position(|f| *f == c.field),
        )
    });
    Some(out)
}

const FIELD_ORDER: &[&str] = &[
    "status",
    "display_name",
    "email",
    "login",
    "parent",
    "description",
    "last_login",
];

/// The named fields of a resource as text; empty values are left out.
fn fields(r: &pb::Resource) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            m.insert(k.to_string(), v);
        }
    };
    put("display_name", r.display_name.clone());
    put("description", r.description.clone());
    put("status", resource_status(r).unwrap_or_default().to_string());
    put("email", primary_email(r).unwrap_or_default());
    put(
        "parent",
        r.parent_resource_id
            .as_ref()
            .map(|p| format!("{}:{}", p.resource_type, p.resource))
            .unwrap_or_default(),
    );
    let user: Option<pb::UserTrait> = pb::find_annotation(&r.annotations);
    if let Some(u) = &user {
        put("login", u.login.clone());
        put(
            "last_login",
            u.last_login.map(|t| t.to_string()).unwrap_or_default(),
        );
    }
    // The resource's profile, else its trait's (older connectors set only that).
    let profile = r
        .profile
        .clone()
        .or_else(|| user.and_then(|u| u.profile))
        .or_else(|| pb::find_annotation::<pb::GroupTrait>(&r.annotations).and_then(|t| t.profile))
        .or_else(|| pb::find_annotation::<pb::RoleTrait>(&r.annotations).and_then(|t| t.profile));
    for (k, v) in profile.map(|p| p.fields).unwrap_or_default() {
        put(&format!("profile.{k}"), value_text(&v));
    }
    m
}

fn value_text(v: &prost_types::Value) -> String {
    use prost_types::value::Kind;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => String::new(),
        Some(Kind::NumberValue(n)) if n.fract() == 0.0 && n.abs() < 1e15 => {
            format!("{}", *n as i64)
        }
        Some(Kind::NumberValue(n)) => n.to_string(),
        Some(Kind::StringValue(s)) => s.clone(),
        Some(Kind::BoolValue(b)) => b.to_string(),
        Some(Kind::StructValue(s)) => {
            let inner: Vec<String> = s
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={}", value_text(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        Some(Kind::ListValue(l)) => {
            let inner: Vec<String> = l.values.iter().map(value_text).collect();
            format!("[{}]", inner.join(", "))
        }
    }
}
