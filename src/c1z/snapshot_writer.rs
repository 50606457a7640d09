//! SnapshotWriter: the actor that owns the c1z being written.
//!
//! Owns: one SQLite thread, and on it at most one open `Store` (the SQLite
//! file of the sync in progress and its temp directory) with the sync id it
//! belongs to and the destination it will be published to.
//!
//! Never: touches SQLite, zstd or the file system on an async thread — every
//! store operation runs on the writer's own OS thread; never publishes a
//! partial snapshot — a failed write or finish drops the store, which deletes
//! its temp files, and the previous file at the destination stays; never
//! mixes two syncs — every message names its sync id, and rows for a sync that
//! is not the open one are refused.
//!
//! Why a plain actor over a thread instead of a `SyncArbiter`: a panic on a
//! `SyncArbiter` thread leaves the address "connected", so nobody notices the
//! writer is gone until the next message trips actix's own assertion. Here
//! the actor watches its thread: if the thread dies, the actor panics too, and
//! the supervisor restarts both (`panicked`); a thread that stops answering
//! fails the supervisor's `Probe` (which goes through the thread) and is
//! replaced (`unresponsive`). Dropping the actor closes the job channel; the
//! thread then drops its store (temp files go with it) and exits.
//!
//! Mailbox: bounded (the pipeline sets it). Handlers return at once with a
//! future that waits for the thread's reply, so backpressure comes from the
//! protocol: producers `send(WriteRows(..)).await` and wait for the reply,
//! which arrives only after the batch is in the store. A producer has at most
//! one batch in flight. Never use `do_send` for rows.
//!
//! Messages: `BeginSnapshot` → `WriteRows`* → `FinishSnapshot` (or `AbortSnapshot`).

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::error::{Error, Result};
use super::store::{Counts, SnapshotInfo, Store, StoreOptions};
use crate::actor_slot::{Crash, Hang, Probe};
use crate::pb;
use crate::telemetry::snapshot as events;

/// How often the actor checks that its thread is still alive.
const THREAD_CHECK_EVERY: Duration = Duration::from_millis(100);

/// Opens a snapshot for sync `sync_id`, to be published at `dest`. A snapshot
/// of another sync that is still open is stale (its owner died without
/// aborting it): it is discarded, logged and counted.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct BeginSnapshot {
    pub sync_id: String,
    pub dest: PathBuf,
    /// `v1_sync_runs.sync_type`: `full`, `partial` or `resources_only`.
    pub sync_type: &'static str,
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

/// Upserts a batch into sync `sync_id`'s snapshot; the reply (distinct rows
/// per table so far) means it is written.
#[derive(Message)]
#[rtype(result = "Result<Counts>")]
pub struct WriteRows {
    pub sync_id: String,
    pub rows: Rows,
}

/// Ends sync `sync_id` and publishes its c1z atomically at the `BeginSnapshot` destination.
#[derive(Message)]
#[rtype(result = "Result<SnapshotInfo>")]
pub struct FinishSnapshot {
    pub sync_id: String,
}

/// Throws sync `sync_id`'s snapshot away (no-op if it is not the open one).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AbortSnapshot {
    pub sync_id: String,
}

/// Work for the SQLite thread.
enum Job {
    Begin(BeginSnapshot, oneshot::Sender<Result<()>>),
    Write(WriteRows, oneshot::Sender<Result<Counts>>),
    Finish(String, oneshot::Sender<Result<SnapshotInfo>>),
    Abort(String, oneshot::Sender<()>),
    Probe(oneshot::Sender<()>),
    Crash,
    /// Block until the actor is gone (its `release` sender dropped).
    Hang(mpsc::Receiver<()>),
}

pub struct SnapshotWriter {
    jobs: mpsc::Sender<Job>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Dropped with the actor; a thread hung by fault injection wakes up then.
    hang_release: Option<mpsc::Sender<()>>,
}

impl SnapshotWriter {
    /// A writer with production options. Start it with `actor_slot::spawn_actor`
    /// (or `.start()` in tests).
    pub fn new() -> SnapshotWriter {
        SnapshotWriter::with_options(StoreOptions::default(), Duration::ZERO)
    }

    /// `write_delay` exists for backpressure tests; production passes zero.
    pub fn with_options(options: StoreOptions, write_delay: Duration) -> SnapshotWriter {
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("snapshot-writer".into())
            .spawn(move || {
                let mut state = WriterThread {
                    open: None,
                    options,
                    write_delay,
                };
                while let Ok(job) = rx.recv() {
                    state.run(job);
                }
                // The actor is gone: anything still open goes with the thread.
                if let Some(open) = state.open.take() {
                    open.store.abort();
                    events::snapshot_aborted(&open.sync_id);
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the snapshot writer thread");
                None
            }
        };
        SnapshotWriter {
            jobs,
            thread,
            hang_release: None,
        }
    }

    /// Test convenience: a writer with `options` started in the current System.
    pub fn start_with(options: StoreOptions, write_delay: Duration) -> Addr<SnapshotWriter> {
        SnapshotWriter::with_options(options, write_delay).start()
    }

    fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T>>) -> Job,
    ) -> ResponseFuture<Result<T>> {
        let (tx, rx) = oneshot::channel();
        let sent = self.jobs.send(make(tx));
        Box::pin(async move {
            if sent.is_err() {
                return Err(thread_gone());
            }
            rx.await.unwrap_or_else(|_| Err(thread_gone()))
        })
    }
}

impl Default for SnapshotWriter {
    fn default() -> Self {
        Self::new()
    }
}

fn thread_gone() -> Error {
    Error::State("the snapshot writer's thread is gone (it will be restarted)".into())
}

impl Actor for SnapshotWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.thread.is_none() {
            // No thread, no writer: stop so the supervisor tries again later.
            ctx.stop();
            return;
        }
        ctx.run_interval(THREAD_CHECK_EVERY, |act, _| {
            if act.thread.as_ref().is_some_and(|t| t.is_finished())
                && let Some(t) = act.thread.take()
            {
                let why = match t.join() {
                    Err(p) => panic_message(&p),
                    Ok(()) => "it exited".to_string(),
                };
                // Propagate: the supervisor restarts us as `panicked`.
                panic!("snapshot writer thread died: {why}");
            }
        });
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

impl Handler<BeginSnapshot> for SnapshotWriter {
    type Result = ResponseFuture<Result<()>>;

    fn handle(&mut self, msg: BeginSnapshot, _: &mut Self::Context) -> Self::Result {
        self.submit(|tx| Job::Begin(msg, tx))
    }
}

impl Handler<WriteRows> for SnapshotWriter {
    type Result = ResponseFuture<Result<Counts>>;

    fn handle(&mut self, msg: WriteRows, _: &mut Self::Context) -> Self::Result {
        self.submit(|tx| Job::Write(msg, tx))
    }
}

impl Handler<FinishSnapshot> for SnapshotWriter {
    type Result = ResponseFuture<Result<SnapshotInfo>>;

    fn handle(&mut self, msg: FinishSnapshot, _: &mut Self::Context) -> Self::Result {
        self.submit(|tx| Job::Finish(msg.sync_id, tx))
    }
}

/// Resolves once the snapshot is gone (temp files removed).
impl Handler<AbortSnapshot> for SnapshotWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: AbortSnapshot, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let sent = self.jobs.send(Job::Abort(msg.sync_id, tx)).is_ok();
        Box::pin(async move {
            if sent {
                let _ = rx.await;
            }
        })
    }
}

/// Answered by the SQLite thread, so a stuck store counts as unresponsive.
impl Handler<Probe> for SnapshotWriter {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Probe, _: &mut Self::Context) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let sent = self.jobs.send(Job::Probe(tx)).is_ok();
        Box::pin(async move {
            if sent {
                let _ = rx.await;
            } else {
                // The thread is gone; the watcher panics within a tick. Never answer.
                futures::future::pending::<()>().await;
            }
        })
    }
}

impl Handler<Crash> for SnapshotWriter {
    type Result = ();

    fn handle(&mut self, _: Crash, _: &mut Self::Context) {
        let _ = self.jobs.send(Job::Crash);
    }
}

impl Handler<Hang> for SnapshotWriter {
    type Result = ();

    fn handle(&mut self, _: Hang, _: &mut Self::Context) {
        let (release, wait) = mpsc::channel();
        self.hang_release = Some(release);
        let _ = self.jobs.send(Job::Hang(wait));
    }
}

struct Open {
    store: Store,
    sync_id: String,
    dest: PathBuf,
    started: Instant,
}

/// The state that lives on the SQLite thread.
struct WriterThread {
    open: Option<Open>,
    options: StoreOptions,
    write_delay: Duration,
}

impl WriterThread {
    fn run(&mut self, job: Job) {
        match job {
            Job::Begin(msg, tx) => {
                let _ = tx.send(self.begin(msg));
            }
            Job::Write(msg, tx) => {
                let _ = tx.send(self.write(msg));
            }
            Job::Finish(sync_id, tx) => {
                let _ = tx.send(self.finish(&sync_id));
            }
            Job::Abort(sync_id, tx) => {
                self.abort(&sync_id);
                let _ = tx.send(());
            }
            Job::Probe(tx) => {
                let _ = tx.send(());
            }
            Job::Crash => panic!("fault injection: SnapshotWriter crashed on request"),
            Job::Hang(wait) => {
                tracing::warn!("fault injection: snapshot writer thread hanging on request");
                let _ = wait.recv();
            }
        }
    }

    fn begin(&mut self, msg: BeginSnapshot) -> Result<()> {
        if let Some(stale) = self.open.take() {
            // Its owner died without aborting it; it can never be finished.
            events::snapshot_stale_discarded(&stale.sync_id, &msg.sync_id);
            stale.store.abort();
        }
        let started = Instant::now();
        let mut store = Store::create_with(&msg.dest, self.options.clone())?;
        store.start_sync_as(&msg.sync_id, msg.sync_type)?;
        self.open = Some(Open {
            store,
            sync_id: msg.sync_id,
            dest: msg.dest,
            started,
        });
        Ok(())
    }

    fn open_for(&mut self, sync_id: &str) -> Result<&mut Open> {
        match &self.open {
            Some(open) if open.sync_id != sync_id => {
                return Err(Error::State(format!(
                    "sync {sync_id} is not the open snapshot (sync {} is)",
                    open.sync_id
                )));
            }
            Some(_) => {}
            None => {
                return Err(Error::State(format!(
                    "no snapshot is open for sync {sync_id} (send BeginSnapshot first)"
                )));
            }
        }
        self.open
            .as_mut()
            .ok_or_else(|| Error::State("no snapshot is open".into()))
    }

    fn write(&mut self, msg: WriteRows) -> Result<Counts> {
        if !self.write_delay.is_zero() {
            std::thread::sleep(self.write_delay);
        }
        let open = self.open_for(&msg.sync_id)?;
        events::rows_received(msg.rows.len());
        let written = match &msg.rows {
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

    fn finish(&mut self, sync_id: &str) -> Result<SnapshotInfo> {
        self.open_for(sync_id)?;
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

    fn abort(&mut self, sync_id: &str) {
        if self.open.as_ref().is_some_and(|o| o.sync_id == sync_id)
            && let Some(open) = self.open.take()
        {
            open.store.abort();
            events::snapshot_aborted(&open.sync_id);
        }
    }
}
