//! The writer's tuning knobs, with the values the daemon and the bench use.

use crate::c1z::envelope::Compression;

/// Tuning knobs. `Default` is what the daemon and the bench use; the fields
/// exist so the bench can show what each choice is worth.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// SQLite page size. Larger pages mean fewer, fuller B-tree pages.
    pub page_size: u32,
    /// SQLite page cache (and sorter memory) in KiB.
    pub cache_kib: u32,
    /// Helper threads for SQLite's sorter when building indexes.
    pub sorter_threads: u32,
    /// Index builds keep SQLite's sorter runs in memory (`temp_store = MEMORY`)
    /// when the largest table's estimated index keys fit in this many KiB, and
    /// spill to temp files otherwise, so memory stays bounded for any tenant.
    pub sorter_memory_kib: u32,
    /// A table's pending batch is written to SQLite once it holds this many rows...
    pub flush_rows: usize,
    /// ...or this many encoded bytes.
    pub flush_bytes: usize,
    /// Rows per multi-row INSERT statement.
    pub rows_per_insert: usize,
    /// Build bulk-table indexes after the load (true) or keep them during it (false).
    pub defer_indexes: bool,
    pub compression: Compression,
    /// Test hook: hash every external id to the same value so that the
    /// collision paths run. Never set outside tests.
    #[doc(hidden)]
    pub constant_hash: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            page_size: 65536,
            cache_kib: 8 * 1024,
            sorter_threads: 0,
            sorter_memory_kib: 16 * 1024,
            // Up to ~4 batches per table are alive at once (pending, queued,
            // being inserted, returned for reuse), so these bound the row
            // buffers. 16k rows / 8 MiB put ~60 MB of buffers in circulation
            // at 100k agents; 4k / 2 MiB cut the sync's peak RSS from 103 to
            // 68 MB at no measurable cost (a transaction per 4k rows is cheap
            // with journal_mode=OFF).
            flush_rows: 4096,
            flush_bytes: 2 << 20,
            rows_per_insert: 32,
            defer_indexes: true,
            compression: Compression::default(),
            constant_hash: false,
        }
    }
}
