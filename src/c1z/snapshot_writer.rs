//! SnapshotWriter: the actor that owns the c1z being written.
//!
//! Owns: at most one open `Store` (the SQLite file of the sync in progress and
//! its temp directory) and the destination path it will be published to.
//!
//! Never: touches SQLite, zstd or the file system on an async thread — it runs
//! in a `SyncArbiter` (its own OS thread), so every handler may block; never
//! publishes a partial snapshot — a failed write or finish drops the store,
//! which deletes its temp files, and the previous file at the destination stays.
//!
//! Mailbox: a `SyncArbiter` mailbox is unbounded, so capacity gives no
//! backpressure. Backpressure comes from the protocol instead: producers
//! `send(WriteRows(..)).await` and wait for the reply, which arrives only after
//! the batch is in the store. A producer therefore has at most one batch in
//! flight, and the queue is bounded by the number of producers. Never use
//! `do_send` for rows.
//!
//! Messages: `BeginSnapshot` → `WriteRows`* → `FinishSnapshot` (or `AbortSnapshot`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix::{Actor, Addr, Handler, Message, SyncArbiter, SyncContext};

use super::error::{Error, Result};
use super::store::{Counts, SnapshotInfo, Store, StoreOptions};
use crate::pb;
use crate::telemetry::snapshot as events;

/// Opens a snapshot for sync `sync_id`, to be published at `dest`.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct BeginSnapshot {
    pub sync_id: String,
    pub dest: PathBuf,
}

/// A batch of rows for one table.
#[derive(Debug, Clone)]
pub enum Rows {
    ResourceTypes(Vec<pb::ResourceType>),
    Resources(Vec<pb::Resource>),
    Entitlements(Vec<pb::Entitlement>),
    Grants(Vec<pb::Grant>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::ResourceTypes(v) => v.len(),
            Rows::Resources(v) => v.len(),
            Rows::Entitlements(v) => v.len(),
            Rows::Grants(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Upserts a batch; the reply (distinct rows per table so far) means it is written.
#[derive(Message)]
#[rtype(result = "Result<Counts>")]
pub struct WriteRows(pub Rows);

/// Ends the sync and publishes the c1z atomically at the `BeginSnapshot` destination.
#[derive(Message)]
#[rtype(result = "Result<SnapshotInfo>")]
pub struct FinishSnapshot;

/// Throws the open snapshot away (no-op if none is open).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbortSnapshot;

struct Open {
    store: Store,
    sync_id: String,
    dest: PathBuf,
    started: Instant,
}

pub struct SnapshotWriter {
    open: Option<Open>,
    options: StoreOptions,
    /// Test-only: sleep this long in every `WriteRows`, to make a slow disk.
    write_delay: Duration,
}

impl SnapshotWriter {
    /// Starts the writer on its own thread. Call inside an actix `System`.
    pub fn start() -> Addr<SnapshotWriter> {
        SnapshotWriter::start_with(StoreOptions::default(), Duration::ZERO)
    }

    /// `write_delay` exists for backpressure tests; production passes zero.
    pub fn start_with(options: StoreOptions, write_delay: Duration) -> Addr<SnapshotWriter> {
        SyncArbiter::start(1, move || SnapshotWriter {
            open: None,
            options: options.clone(),
            write_delay,
        })
    }

    fn open_mut(&mut self) -> Result<&mut Open> {
        self.open
            .as_mut()
            .ok_or_else(|| Error::State("no snapshot is open (send BeginSnapshot first)".into()))
    }
}

impl Actor for SnapshotWriter {
    type Context = SyncContext<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(open) = self.open.take() {
            events::snapshot_aborted(&open.sync_id);
        }
    }
}

impl Handler<BeginSnapshot> for SnapshotWriter {
    type Result = Result<()>;

    fn handle(&mut self, msg: BeginSnapshot, _ctx: &mut Self::Context) -> Result<()> {
        if let Some(open) = &self.open {
            return Err(Error::State(format!(
                "snapshot for sync {} is still open",
                open.sync_id
            )));
        }
        let started = Instant::now();
        let mut store = Store::create_with(&msg.dest, self.options.clone())?;
        store.start_sync(&msg.sync_id)?;
        self.open = Some(Open {
            store,
            sync_id: msg.sync_id,
            dest: msg.dest,
            started,
        });
        Ok(())
    }
}

impl Handler<WriteRows> for SnapshotWriter {
    type Result = Result<Counts>;

    fn handle(&mut self, msg: WriteRows, _ctx: &mut Self::Context) -> Result<Counts> {
        if !self.write_delay.is_zero() {
            std::thread::sleep(self.write_delay);
        }
        let open = self.open_mut()?;
        events::rows_received(msg.0.len());
        let written = match &msg.0 {
            Rows::ResourceTypes(v) => open.store.put_resource_types(v),
            Rows::Resources(v) => open.store.put_resources(v),
            Rows::Entitlements(v) => open.store.put_entitlements(v),
            Rows::Grants(v) => open.store.put_grants(v),
        };
        match written {
            Ok(()) => Ok(open.store.counts()),
            Err(e) => {
                // A store that failed mid-write is not trusted further: drop it
                // (temp files go with it) so the sync fails cleanly.
                if let Some(open) = self.open.take() {
                    events::snapshot_failed(&open.sync_id, &e, open.started.elapsed());
                }
                Err(e)
            }
        }
    }
}

impl Handler<FinishSnapshot> for SnapshotWriter {
    type Result = Result<SnapshotInfo>;

    fn handle(&mut self, _msg: FinishSnapshot, _ctx: &mut Self::Context) -> Result<SnapshotInfo> {
        let Some(mut open) = self.open.take() else {
            return Err(Error::State("no snapshot is open".into()));
        };
        let result = open
            .store
            .end_sync()
            .and_then(|_| open.store.finish(&open.dest));
        match &result {
            Ok(info) => events::snapshot_finished(info.published(open.started.elapsed())),
            Err(e) => events::snapshot_failed(&open.sync_id, e, open.started.elapsed()),
        }
        result
    }
}

impl Handler<AbortSnapshot> for SnapshotWriter {
    type Result = ();

    fn handle(&mut self, _msg: AbortSnapshot, _ctx: &mut Self::Context) {
        if let Some(open) = self.open.take() {
            open.store.abort();
            events::snapshot_aborted(&open.sync_id);
        }
    }
}
