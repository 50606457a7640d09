//! Row conversion: a `c1.connector.v2` message becomes one row of its table.
//!
//! The derived columns follow the SDK's row conventions (docs/reference/baton-compat.md §1.4):
//!
//! | table             | external_id              | other columns                                             |
//! |-------------------|--------------------------|-----------------------------------------------------------|
//! | v1_resource_types | `rt.id`                  | —                                                         |
//! | v1_resources      | `"<rtype>:<rid>"`        | resource_type_id, parent type/id (NULL without a parent)  |
//! | v1_entitlements   | `ent.id`                 | resource_type_id, resource_id of `ent.resource.id`        |
//! | v1_grants         | `grant.id`               | type/id of `grant.entitlement.resource.id`, entitlement_id, principal type/id |
//!
//! `data` is the message's deterministic protobuf encoding. Grants keep any
//! `GrantExpandable` annotation inside the blob (the SDK's original layout) and
//! leave `expansion` NULL / `needs_expansion` 0; HaloITSM grants never carry one.
//!
//! A row is built into one reusable byte buffer (columns back to back, with end
//! offsets) so the hot path allocates nothing once the buffers are warm.

use prost::Message;

use super::error::{Error, Result};
use super::schema;
use crate::pb;

/// The four bulk tables a sync writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    ResourceTypes,
    Resources,
    Entitlements,
    Grants,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::ResourceTypes,
        Kind::Resources,
        Kind::Entitlements,
        Kind::Grants,
    ];

    pub fn table(self) -> &'static str {
        match self {
            Kind::ResourceTypes => schema::RESOURCE_TYPES,
            Kind::Resources => schema::RESOURCES,
            Kind::Entitlements => schema::ENTITLEMENTS,
            Kind::Grants => schema::GRANTS,
        }
    }

    /// The columns a row supplies, in `Row` order. `id` and `sync_id` are added
    /// by the store; `expansion`/`needs_expansion` keep their defaults (NULL, 0).
    pub(crate) fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::ResourceTypes => &["external_id", "data", "discovered_at"],
            Kind::Resources => &[
                "resource_type_id",
                "external_id",
                "parent_resource_type_id",
                "parent_resource_id",
                "data",
                "discovered_at",
            ],
            Kind::Entitlements => &[
                "resource_type_id",
                "resource_id",
                "external_id",
                "data",
                "discovered_at",
            ],
            Kind::Grants => &[
                "resource_type_id",
                "resource_id",
                "entitlement_id",
                "principal_resource_type_id",
                "principal_resource_id",
                "external_id",
                "data",
                "discovered_at",
            ],
        }
    }

    /// Index (in `columns()`) of `external_id`, the upsert key.
    pub(crate) fn external_id_col(self) -> usize {
        match self {
            Kind::ResourceTypes => 0,
            Kind::Resources => 1,
            Kind::Entitlements => 2,
            Kind::Grants => 5,
        }
    }

    /// Index of `resource_type_id`, which the per-type stats count by.
    pub(crate) fn type_col(self) -> Option<usize> {
        match self {
            Kind::ResourceTypes => None,
            _ => Some(0),
        }
    }

    /// Index of `data` (bound as a blob; the rest are text or NULL).
    pub(crate) fn data_col(self) -> usize {
        self.columns().len() - 2
    }
}

const MAX_COLS: usize = 8;

/// One encoded row: text/blob columns back to back in `buf`. Opaque outside
/// the crate; public only because the sealed `Record` trait mentions it.
#[doc(hidden)]
#[derive(Default)]
pub struct Row {
    buf: Vec<u8>,
    ends: [u32; MAX_COLS],
    len: u8,
    /// Bit `i` set: column `i` is SQL NULL.
    nulls: u8,
}

impl Row {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.nulls = 0;
    }

    pub(crate) fn col(&self, i: usize) -> Option<&[u8]> {
        if self.nulls & (1 << i) != 0 {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        Some(&self.buf[start..self.ends[i] as usize])
    }

    /// Same as `col` but a NULL reads as empty (for the key and type columns, never NULL).
    pub(crate) fn text(&self, i: usize) -> &[u8] {
        self.col(i).unwrap_or_default()
    }

    pub(crate) fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    fn end_col(&mut self) {
        self.ends[self.len as usize] = self.buf.len() as u32;
        self.len += 1;
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.end_col();
    }

    fn push_joined(&mut self, a: &str, b: &str) {
        self.buf.extend_from_slice(a.as_bytes());
        self.buf.push(b':');
        self.buf.extend_from_slice(b.as_bytes());
        self.end_col();
    }

    fn push_null(&mut self) {
        self.nulls |= 1 << self.len;
        self.end_col();
    }

    fn push_message(&mut self, msg: &impl Message) {
        // A Vec grows on demand, so `encode`'s up-front capacity check (a full
        // `encoded_len` walk of the message tree) buys nothing here.
        msg.encode_raw(&mut self.buf);
        self.end_col();
    }
}

/// A message that is stored as one row of a bulk table (sealed: the four
/// `c1.connector.v2` types that have a table).
pub trait Record: Message + sealed::FillRow {
    const KIND: Kind;
}

pub(crate) mod sealed {
    use super::{Result, Row};

    pub trait FillRow {
        /// Fills `row` (already cleared) with this record's columns.
        fn fill_row(&self, row: &mut Row, discovered_at: &str) -> Result<()>;
        /// The id of a resource type row (the stats list every type); None for the others.
        fn type_id(&self) -> Option<&str> {
            None
        }
    }
}

use sealed::FillRow;

fn require_id(table: &'static str, what: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::InvalidRow {
            table,
            reason: format!("{what} is empty"),
        });
    }
    Ok(())
}

fn rid(id: Option<&pb::ResourceId>) -> (&str, &str) {
    id.map_or(("", ""), |r| {
        (r.resource_type.as_str(), r.resource.as_str())
    })
}

impl Record for pb::ResourceType {
    const KIND: Kind = Kind::ResourceTypes;
}

impl FillRow for pb::ResourceType {
    fn fill_row(&self, row: &mut Row, discovered_at: &str) -> Result<()> {
        require_id(schema::RESOURCE_TYPES, "resource type id", &self.id)?;
        row.push(self.id.as_bytes());
        row.push_message(self);
        row.push(discovered_at.as_bytes());
        Ok(())
    }
    fn type_id(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Record for pb::Resource {
    const KIND: Kind = Kind::Resources;
}

impl FillRow for pb::Resource {
    fn fill_row(&self, row: &mut Row, discovered_at: &str) -> Result<()> {
        let (rtype, id) = rid(self.id.as_ref());
        require_id(schema::RESOURCES, "resource id", id)?;
        require_id(schema::RESOURCES, "resource type", rtype)?;
        row.push(rtype.as_bytes());
        row.push_joined(rtype, id);
        match self.parent_resource_id.as_ref() {
            Some(p) => {
                row.push(p.resource_type.as_bytes());
                row.push(p.resource.as_bytes());
            }
            None => {
                row.push_null();
                row.push_null();
            }
        }
        row.push_message(self);
        row.push(discovered_at.as_bytes());
        Ok(())
    }
}

impl Record for pb::Entitlement {
    const KIND: Kind = Kind::Entitlements;
}

impl FillRow for pb::Entitlement {
    fn fill_row(&self, row: &mut Row, discovered_at: &str) -> Result<()> {
        require_id(schema::ENTITLEMENTS, "entitlement id", &self.id)?;
        let (rtype, id) = rid(self.resource.as_ref().and_then(|r| r.id.as_ref()));
        row.push(rtype.as_bytes());
        row.push(id.as_bytes());
        row.push(self.id.as_bytes());
        row.push_message(self);
        row.push(discovered_at.as_bytes());
        Ok(())
    }
}

impl Record for pb::Grant {
    const KIND: Kind = Kind::Grants;
}

impl FillRow for pb::Grant {
    fn fill_row(&self, row: &mut Row, discovered_at: &str) -> Result<()> {
        require_id(schema::GRANTS, "grant id", &self.id)?;
        let ent = self.entitlement.as_ref();
        let (rtype, id) = rid(ent
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref()));
        let (ptype, pid) = rid(self.principal.as_ref().and_then(|p| p.id.as_ref()));
        row.push(rtype.as_bytes());
        row.push(id.as_bytes());
        row.push(ent.map_or("", |e| e.id.as_str()).as_bytes());
        row.push(ptype.as_bytes());
        row.push(pid.as_bytes());
        row.push(self.id.as_bytes());
        row.push_message(self);
        row.push(discovered_at.as_bytes());
        Ok(())
    }
}

/// A fast 64-bit hash of an external id, for the in-memory upsert index.
///
/// Quality only affects speed, never correctness: every hit is verified against
/// the full id (see `store.rs`), and a true collision takes a slower exact path.
pub(crate) fn id_hash(bytes: &[u8]) -> u64 {
    const K1: u64 = 0x9E37_79B9_7F4A_7C15;
    const K2: u64 = 0xD6E8_FEB8_6659_FD93;
    let fold = |a: u64, b: u64| {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    };
    let mut h = (bytes.len() as u64) ^ K2;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = fold(h ^ v, K1);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h = fold(h ^ u64::from_le_bytes(tail), K1);
    }
    fold(h, K2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(t: &str, r: &str) -> Option<pb::ResourceId> {
        Some(pb::ResourceId {
            resource_type: t.into(),
            resource: r.into(),
            baton_resource: false,
        })
    }

    #[test]
    fn grant_columns_follow_the_sdk() {
        let g = pb::Grant {
            entitlement: Some(pb::Entitlement {
                resource: Some(pb::Resource {
                    id: rid("team", "3"),
                    ..Default::default()
                }),
                id: "team:3:member".into(),
                ..Default::default()
            }),
            principal: Some(pb::Resource {
                id: rid("agent", "42"),
                ..Default::default()
            }),
            id: "team:3:member:agent:42".into(),
            ..Default::default()
        };
        let mut row = Row::default();
        g.fill_row(&mut row, "2026-01-01 00:00:00").unwrap();
        let cols: Vec<&[u8]> = (0..8).map(|i| row.text(i)).collect();
        assert_eq!(cols[0], b"team");
        assert_eq!(cols[1], b"3");
        assert_eq!(cols[2], b"team:3:member");
        assert_eq!(cols[3], b"agent");
        assert_eq!(cols[4], b"42");
        assert_eq!(cols[5], b"team:3:member:agent:42");
        assert_eq!(cols[6], g.encode_to_vec().as_slice());
        assert_eq!(cols[7], b"2026-01-01 00:00:00");
    }

    #[test]
    fn resource_key_and_null_parent() {
        let r = pb::Resource {
            id: rid("agent", "7"),
            ..Default::default()
        };
        let mut row = Row::default();
        r.fill_row(&mut row, "t").unwrap();
        assert_eq!(row.text(Kind::Resources.external_id_col()), b"agent:7");
        assert_eq!(row.col(2), None);
        assert_eq!(row.col(3), None);
        let mut empty = Row::default();
        assert!(pb::Resource::default().fill_row(&mut empty, "t").is_err());
    }

    #[test]
    fn hash_spreads_similar_ids() {
        let a = id_hash(b"app:github:entitlement-0001:user:user-00000001");
        let b = id_hash(b"app:github:entitlement-0001:user:user-00000002");
        assert_ne!(a, b);
        assert_ne!(id_hash(b""), id_hash(b"\0"));
    }
}
