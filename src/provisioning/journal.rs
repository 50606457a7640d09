//! The provisioning journal: one SQLite file in the state dir that holds every
//! operation from before it is acknowledged until it is pruned.
//!
//! - An operation is inserted (WAL, `synchronous=FULL`, so the commit is on disk)
//!   before the submitter hears its id. After a crash every acknowledged
//!   operation is either `finished` or still `queued`/`running`, and those run
//!   again at start (operations are idempotent).
//! - One process owns the journal: an exclusive lock on `<journal>.lock` is held
//!   for the life of the `Journal`; a second daemon (or an in-process CLI run)
//!   on the same state dir is refused with a message that names the file.
//! - `c1_task_id` is unique: a task C1 hands over twice maps to one operation,
//!   which never runs twice; `unreported_tasks`/`mark_reported` let the C1
//!   link report each outcome exactly once, across restarts.
//! - A corrupt or unwritable file is an error at open naming the path; the
//!   daemon never starts without its journal.
//!
//! SQLite is blocking: callers use `Journal::call`, which runs on tokio's
//! blocking pool, never on an actor's event loop.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::operation::Operation;
use super::outcome::Outcome;

/// The operation's id in the journal.
pub type OpId = i64;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "provisioning journal {path} is in use by another process (lock {lock} is held): is a daemon already running on this state dir?"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("provisioning journal {path} is unusable: {message}")]
    Unusable { path: PathBuf, message: String },
    #[error("provisioning journal {path}: {message}")]
    Sql { path: PathBuf, message: String },
    #[error("provisioning journal {path}: a stored row does not parse: {message}")]
    BadRow { path: PathBuf, message: String },
    #[error("provisioning journal worker failed: {0}")]
    Worker(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    Queued,
    Running,
    Finished,
}

impl OpStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpStatus::Queued => "queued",
            OpStatus::Running => "running",
            OpStatus::Finished => "finished",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(OpStatus::Queued),
            "running" => Some(OpStatus::Running),
            "finished" => Some(OpStatus::Finished),
            _ => None,
        }
    }
}

/// One journal row, as `operations` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpRecord {
    pub id: OpId,
    pub kind: String,
    pub operation: Operation,
    pub status: OpStatus,
    pub attempts: u32,
    pub requested_by: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub outcome: Option<Outcome>,
    pub c1_task_id: Option<String>,
    pub reported: bool,
    pub fallback_ticket_id: Option<String>,
    /// When a later sync saw the change and the fallback ticket was resolved.
    #[serde(default)]
    pub fallback_resolved_at_ms: Option<i64>,
}

/// What `submit` did: a new row, or the existing row of the same C1 task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub id: OpId,
    pub existing: bool,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS operations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL,
    serial_key         TEXT NOT NULL,
    payload            TEXT NOT NULL,
    status             TEXT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    requested_by       TEXT NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    finished_at        INTEGER,
    result             TEXT,
    outcome            TEXT,
    message            TEXT,
    c1_task_id         TEXT UNIQUE,
    reported           INTEGER NOT NULL DEFAULT 0,
    fallback_ticket_id TEXT,
    fallback_resolved_at INTEGER
);
CREATE INDEX IF NOT EXISTS operations_status ON operations (status, id);
CREATE INDEX IF NOT EXISTS operations_finished ON operations (finished_at) WHERE finished_at IS NOT NULL;
";

struct Inner {
    conn: Connection,
    // Held (locked) for as long as the journal is open.
    _lock: File,
}

/// Where the journal reads the time for its timestamps and for retention: the
/// system clock, unless a test sets its own (`Journal::with_clock`) to step time
/// by hand instead of sleeping.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

#[derive(Clone)]
pub struct Journal {
    path: Arc<PathBuf>,
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `<journal>.lock` next to the journal.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl Journal {
    /// Open (creating if absent), lock, check and migrate. Every failure names the path.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let unusable = |message: String| JournalError::Unusable {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| unusable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock = lock_path(path);
        let lock_file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(|e| unusable(format!("cannot open lock {}: {e}", lock.display())))?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::Locked {
                    path: path.to_path_buf(),
                    lock,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(unusable(format!("cannot lock {}: {e}", lock.display())));
            }
        }
        let conn = Connection::open(path).map_err(|e| unusable(e.to_string()))?;
        let setup = || -> rusqlite::Result<String> {
            conn.busy_timeout(Duration::from_secs(5))?;
            let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // FULL: a commit that acknowledges an operation survives power loss.
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.execute_batch(SCHEMA)?;
            // Journals created before `fallback_resolved_at` existed gain the column.
            let has_resolved: i64 = conn.query_row(
                "SELECT COUNT(*) FROM pragma_table_info('operations') WHERE name = 'fallback_resolved_at'",
                [],
                |r| r.get(0),
            )?;
            if has_resolved == 0 {
                conn.execute_batch(
                    "ALTER TABLE operations ADD COLUMN fallback_resolved_at INTEGER",
                )?;
            }
            // A real write, so a read-only file fails here and not at the first submit.
            conn.pragma_update(None, "user_version", 1)?;
            Ok(check)
        };
        match setup() {
            Ok(check) if check == "ok" => {}
            Ok(check) => return Err(unusable(format!("integrity check failed: {check}"))),
            Err(e) => return Err(unusable(e.to_string())),
        }
        Ok(Journal {
            path: Arc::new(path.to_path_buf()),
            inner: Arc::new(Mutex::new(Inner {
                conn,
                _lock: lock_file,
            })),
            clock: Arc::new(SystemTime::now),
        })
    }

    /// The same journal, reading the time from `clock` from now on.
    pub fn with_clock(mut self, clock: Clock) -> Journal {
        self.clock = clock;
        self
    }

    fn now_ms(&self) -> i64 {
        epoch_ms((self.clock)())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the blocking pool (SQLite must not block an event loop).
    pub async fn call<T, F>(&self, f: F) -> Result<T, JournalError>
    where
        T: Send + 'static,
        F: FnOnce(&Journal) -> Result<T, JournalError> + Send + 'static,
    {
        let j = self.clone();
        tokio::task::spawn_blocking(move || f(&j))
            .await
            .map_err(|e| JournalError::Worker(e.to_string()))?
    }

    fn sql(&self, e: rusqlite::Error) -> JournalError {
        JournalError::Sql {
            path: self.path.to_path_buf(),
            message: e.to_string(),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, JournalError> {
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard.conn).map_err(|e| self.sql(e))
    }

    /// Persist a new operation (durable when this returns). With a `c1_task_id`
    /// already in the journal, returns that operation instead.
    pub fn submit(
        &self,
        op: &Operation,
        requested_by: &str,
        c1_task_id: Option<&str>,
    ) -> Result<Submitted, JournalError> {
        let payload = serde_json::to_string(op).map_err(|e| JournalError::BadRow {
            path: self.path.to_path_buf(),
            message: e.to_string(),
        })?;
        self.with(|conn| {
            let tx = conn.transaction()?;
            if let Some(task) = c1_task_id {
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM operations WHERE c1_task_id = ?1",
                        [task],
                        |r| r.get(0),
                    )
                    .optional()?;
                if let Some(id) = existing {
                    return Ok(Submitted { id, existing: true });
                }
            }
            let now = self.now_ms();
            tx.execute(
                "INSERT INTO operations (kind, serial_key, payload, status, requested_by, created_at, updated_at, c1_task_id)
                 VALUES (?1, ?2, ?3, 'queued', ?4, ?5, ?5, ?6)",
                params![op.label(), op.serial_key(), payload, requested_by, now, c1_task_id],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(Submitted { id, existing: false })
        })
    }

    /// A try is starting.
    pub fn mark_running(&self, id: OpId) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE operations SET status = 'running', attempts = attempts + 1, updated_at = ?2
                 WHERE id = ?1 AND status != 'finished'",
                params![id, self.now_ms()],
            )
            .map(|_| ())
        })
    }

    /// Back to `queued` after a transient failure (the next try comes after a backoff).
    pub fn mark_queued(&self, id: OpId, last_error: &str) -> Result<(), JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE operations SET status = 'queued', message = ?2, updated_at = ?3
                 WHERE id = ?1 AND status != 'finished'",
                params![id, last_error, self.now_ms()],
            )
            .map(|_| ())
        })
    }

    /// The final outcome; durable when this returns.
    pub fn finish(&self, id: OpId, outcome: &Outcome) -> Result<(), JournalError> {
        let text = serde_json::to_string(outcome).map_err(|e| JournalError::BadRow {
            path: self.path.to_path_buf(),
            message: e.to_string(),
        })?;
        let (message, ticket) = match outcome {
            Outcome::Failed { message, .. } => (Some(message.clone()), None),
            Outcome::Ticketed { ticket_id, reason } => {
                (Some(reason.clone()), Some(ticket_id.clone()))
            }
            _ => (None, None),
        };
        let now = self.now_ms();
        self.with(|c| {
            c.execute(
                "UPDATE operations SET status = 'finished', result = ?2, outcome = ?3, message = ?4,
                   fallback_ticket_id = ?5, finished_at = ?6, updated_at = ?6
                 WHERE id = ?1",
                params![id, outcome.result_label(), text, message, ticket, now],
            )
            .map(|_| ())
        })
    }

    fn row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<OpRecord, String>> {
        let payload: String = r.get("payload")?;
        let status: String = r.get("status")?;
        let outcome: Option<String> = r.get("outcome")?;
        let build = || -> Result<OpRecord, String> {
            Ok(OpRecord {
                id: r.get("id").map_err(|e| e.to_string())?,
                kind: r.get("kind").map_err(|e| e.to_string())?,
                operation: serde_json::from_str(&payload).map_err(|e| e.to_string())?,
                status: OpStatus::parse(&status).ok_or_else(|| format!("status `{status}`"))?,
                attempts: r.get("attempts").map_err(|e| e.to_string())?,
                requested_by: r.get("requested_by").map_err(|e| e.to_string())?,
                created_at_ms: r.get("created_at").map_err(|e| e.to_string())?,
                updated_at_ms: r.get("updated_at").map_err(|e| e.to_string())?,
                finished_at_ms: r.get("finished_at").map_err(|e| e.to_string())?,
                outcome: outcome
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                c1_task_id: r.get("c1_task_id").map_err(|e| e.to_string())?,
                reported: r.get::<_, i64>("reported").map_err(|e| e.to_string())? != 0,
                fallback_ticket_id: r.get("fallback_ticket_id").map_err(|e| e.to_string())?,
                fallback_resolved_at_ms: r
                    .get("fallback_resolved_at")
                    .map_err(|e| e.to_string())?,
            })
        };
        Ok(build())
    }

    fn select(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<OpRecord>, JournalError> {
        let rows = self.with(|c| {
            let mut stmt = c.prepare(sql)?;
            let rows = stmt.query_map(args, |r| self.row(r))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|r| {
                r.map_err(|message| JournalError::BadRow {
                    path: self.path.to_path_buf(),
                    message,
                })
            })
            .collect()
    }

    pub fn get(&self, id: OpId) -> Result<Option<OpRecord>, JournalError> {
        Ok(self
            .select("SELECT * FROM operations WHERE id = ?1", [id])?
            .into_iter()
            .next())
    }

    /// Every operation not finished, oldest first: what a start replays.
    pub fn unfinished(&self) -> Result<Vec<OpRecord>, JournalError> {
        self.select(
            "SELECT * FROM operations WHERE status != 'finished' ORDER BY id",
            [],
        )
    }

    /// Newest first, at most `limit`.
    pub fn list(
        &self,
        status: Option<OpStatus>,
        limit: u32,
    ) -> Result<Vec<OpRecord>, JournalError> {
        match status {
            Some(s) => self.select(
                "SELECT * FROM operations WHERE status = ?1 ORDER BY id DESC LIMIT ?2",
                params![s.as_str(), limit],
            ),
            None => self.select(
                "SELECT * FROM operations ORDER BY id DESC LIMIT ?1",
                [limit],
            ),
        }
    }

    /// Operations of C1 tasks whose outcome C1 has not heard yet, finished or not,
    /// oldest first: after a restart each is finished (the queue replays it) and reported once.
    pub fn unreported_tasks(&self) -> Result<Vec<OpRecord>, JournalError> {
        self.select(
            "SELECT * FROM operations WHERE c1_task_id IS NOT NULL AND reported = 0 ORDER BY id",
            [],
        )
    }

    /// The operation journaled for this C1 task, if any.
    pub fn by_task(&self, c1_task_id: &str) -> Result<Option<OpRecord>, JournalError> {
        Ok(self
            .select(
                "SELECT * FROM operations WHERE c1_task_id = ?1",
                [c1_task_id],
            )?
            .into_iter()
            .next())
    }

    pub fn mark_reported(&self, c1_task_id: &str) -> Result<bool, JournalError> {
        self.with(|c| {
            c.execute(
                "UPDATE operations SET reported = 1, updated_at = ?2 WHERE c1_task_id = ?1 AND status = 'finished'",
                params![c1_task_id, self.now_ms()],
            )
            .map(|n| n > 0)
        })
    }

    /// Finished operations with a fallback ticket that no sync has resolved yet, oldest first.
    pub fn fallback_unresolved(&self) -> Result<Vec<OpRecord>, JournalError> {
        self.select(
            "SELECT * FROM operations WHERE status = 'finished' AND fallback_ticket_id IS NOT NULL
               AND fallback_resolved_at IS NULL ORDER BY id",
            [],
        )
    }

    /// The fallback ticket of `id` was resolved (noted and moved); false if it already was.
    pub fn mark_fallback_resolved(&self, id: OpId) -> Result<bool, JournalError> {
        let now = self.now_ms();
        self.with(|c| {
            c.execute(
                "UPDATE operations SET fallback_resolved_at = ?2, updated_at = ?2
                 WHERE id = ?1 AND fallback_ticket_id IS NOT NULL AND fallback_resolved_at IS NULL",
                params![id, now],
            )
            .map(|n| n > 0)
        })
    }

    /// Drop finished operations older than `retention` (unreported C1 outcomes are kept).
    pub fn prune(&self, retention: Duration) -> Result<usize, JournalError> {
        let cutoff = self.now_ms().saturating_sub(retention.as_millis() as i64);
        self.with(|c| {
            c.execute(
                "DELETE FROM operations WHERE status = 'finished' AND finished_at < ?1
                   AND (c1_task_id IS NULL OR reported = 1)",
                [cutoff],
            )
        })
    }

    /// Queued + running operations.
    pub fn depth(&self) -> Result<u64, JournalError> {
        self.with(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM operations WHERE status != 'finished'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
        })
    }
}

#[cfg(test)]
mod tests;
