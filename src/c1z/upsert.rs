//! Upserts resolved in memory, before SQLite sees them.
//!
//! The SDK upserts with `ON CONFLICT(external_id, sync_id) DO UPDATE`: a
//! repeated id keeps its row (and position) and takes the latest content. We
//! get the same result without a unique index during the load: each table keeps
//!
//! - `by_hash`: a 64-bit hash of `external_id` → the row id we assigned on
//!   first sight (16 bytes an entry instead of the id itself);
//! - `pending`: encoded rows not yet handed to the loader.
//!
//! A repeat of a pending row replaces it in place; a repeat of a row already
//! handed over becomes an update in the next batch (checked there, see
//! `loader.rs`). A pending hit is compared byte for byte with the stored id;
//! if the hash collided, the newcomer gets an exact entry in `overflow`.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use super::encode::{Kind, Row, id_hash};
use super::loader::{Batch, Delta};

pub(crate) struct Table {
    pub kind: Kind,
    /// Next row id to hand out.
    next_id: i64,
    /// Rows with `id < flushed_upto` were handed to the loader; the rest are in `pending`.
    flushed_upto: i64,
    pending: Vec<Row>,
    pending_bytes: usize,
    /// Later writes of rows already handed over, in put order.
    updates: Vec<(i64, Row)>,
    by_hash: HashMap<u64, i64, BuildHasherDefault<PassThrough>>,
    /// External ids whose hash collided with another pending id's (exact keys).
    overflow: HashMap<Vec<u8>, i64>,
    /// Distinct rows.
    pub count: u64,
    /// Total length of the distinct external ids (sizes the index build).
    ext_bytes: u64,
    by_type: HashMap<Vec<u8>, u64>,
    /// Test hook (`StoreOptions::constant_hash`): every id hashes to 0.
    constant_hash: bool,
}

impl Table {
    pub(crate) fn new(kind: Kind, constant_hash: bool) -> Table {
        Table {
            kind,
            constant_hash,
            next_id: 1,
            flushed_upto: 1,
            pending: Vec::new(),
            pending_bytes: 0,
            updates: Vec::new(),
            by_hash: HashMap::default(),
            overflow: HashMap::new(),
            count: 0,
            ext_bytes: 0,
            by_type: HashMap::new(),
        }
    }

    /// Rows plus updates waiting, and their encoded size.
    pub(crate) fn backlog(&self) -> (usize, usize) {
        (self.pending.len() + self.updates.len(), self.pending_bytes)
    }

    pub(crate) fn upsert(&mut self, row: Row, pool: &mut Vec<Row>) {
        let ext_col = self.kind.external_id_col();
        let ext = row.text(ext_col);
        let hash = if self.constant_hash { 0 } else { id_hash(ext) };
        let found = if self.overflow.is_empty() {
            None
        } else {
            self.overflow.get(ext).copied()
        }
        .or_else(|| self.by_hash.get(&hash).copied());

        match found {
            Some(id) if id >= self.flushed_upto => {
                let slot = &mut self.pending[(id - self.flushed_upto) as usize];
                if slot.text(ext_col) != ext {
                    self.insert_new(row, None);
                    return;
                }
                if let Some(tc) = self.kind.type_col()
                    && slot.text(tc) != row.text(tc)
                {
                    count_type(&mut self.by_type, slot.text(tc), -1);
                    count_type(&mut self.by_type, row.text(tc), 1);
                }
                self.pending_bytes = self.pending_bytes + row.bytes_len() - slot.bytes_len();
                pool.push(std::mem::replace(slot, row));
            }
            Some(id) => {
                self.pending_bytes += row.bytes_len();
                self.updates.push((id, row));
            }
            None => self.insert_new(row, Some(hash)),
        }
    }

    /// A first sighting: next id, index entry (`hash` None = collided, exact key), counts.
    fn insert_new(&mut self, row: Row, hash: Option<u64>) {
        let id = self.next_id;
        self.next_id += 1;
        match hash {
            Some(h) => {
                self.by_hash.insert(h, id);
            }
            None => {
                let ext = row.text(self.kind.external_id_col()).to_vec();
                self.overflow.insert(ext, id);
            }
        }
        self.count += 1;
        self.ext_bytes += row.text(self.kind.external_id_col()).len() as u64;
        if let Some(tc) = self.kind.type_col() {
            count_type(&mut self.by_type, row.text(tc), 1);
        }
        self.pending_bytes += row.bytes_len();
        self.pending.push(row);
    }

    /// Everything waiting, as one batch for the loader (None if nothing waits).
    pub(crate) fn take_batch(&mut self) -> Option<Batch> {
        if self.pending.is_empty() && self.updates.is_empty() {
            return None;
        }
        let batch = Batch {
            kind: self.kind,
            first_id: self.flushed_upto,
            rows: std::mem::take(&mut self.pending),
            updates: std::mem::take(&mut self.updates),
        };
        self.flushed_upto = self.next_id;
        self.pending_bytes = 0;
        Some(batch)
    }

    /// Folds in the loader's corrections.
    pub(crate) fn apply(&mut self, delta: &Delta) {
        self.count = self.count.saturating_add_signed(delta.count);
        for (ty, d) in &delta.by_type {
            count_type(&mut self.by_type, ty, *d);
        }
    }

    /// Estimated bytes of this table's widest index keys, `(external_id,
    /// sync_id)` plus record overhead: what SQLite's sorter holds per index build.
    pub(crate) fn key_bytes(&self, sync_id_len: usize) -> u64 {
        self.ext_bytes + self.count * (sync_id_len as u64 + 16)
    }

    pub(crate) fn by_type_sorted(&self) -> BTreeMap<String, u64> {
        self.by_type
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| (String::from_utf8_lossy(k).into_owned(), *n))
            .collect()
    }

    /// After the sync: the index is no longer needed, and the memory is better
    /// spent on SQLite's sorter during the index build.
    pub(crate) fn release_memory(&mut self) {
        self.by_hash = HashMap::default();
        self.overflow = HashMap::new();
        self.pending = Vec::new();
        self.updates = Vec::new();
    }
}

fn count_type(by_type: &mut HashMap<Vec<u8>, u64>, ty: &[u8], delta: i64) {
    match by_type.get_mut(ty) {
        Some(c) => *c = c.saturating_add_signed(delta),
        None if delta > 0 => {
            by_type.insert(ty.to_vec(), delta as u64);
        }
        None => {}
    }
}

/// `id_hash` already mixes its input, so the map uses the value as is.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed here; fold anything else rather than ignore it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
