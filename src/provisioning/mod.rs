//! Provisioning: a persisted, verified queue that grants, revokes and manages
//! agent accounts (issue 10, docs/provisioning.md).
//!
//! - `operation`: requests and the journaled operations;
//! - `outcome`: the one outcome type and the classification of Halo errors;
//! - `journal`: the SQLite journal (durable before acknowledged, one owner);
//! - `agent_changes`: one try of one operation (read, write, read back, verify);
//! - `provisioning_queue`: the actor that schedules, retries and replays;
//! - `settings`: the `[provisioning]` config section;
//! - `control_socket`: the CLI's door into a running daemon;
//! - `fallback_resolver`: resolves fallback tickets once a sync sees the change.
//!
//! Three doors (C1 task loop, control socket, in-process CLI) all go through
//! [`Provisioning`], the handle below: refuse, journal, then enqueue.

pub mod agent_changes;
pub mod control_socket;
mod fallback;
pub mod fallback_resolver;
pub mod journal;
pub mod operation;
pub mod outcome;
pub mod provisioning_queue;
pub mod settings;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::actor_slot::Slot;
use journal::{Journal, JournalError, OpId, OpRecord, OpStatus, Submitted};
use operation::OpRequest;
use outcome::{FailureKind, Outcome};
use provisioning_queue::{Enqueue, ProvisioningQueue, Watch};

/// What a submitter does when the queue is at capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Wait for room (the CLI, the C1 task loop). At most `capacity` submitters wait at
    /// once; beyond that the answer is `QueueFull` at once, as with `Reject`, so a flood of
    /// submitters cannot pile up waiting connections (and their memory) without bound.
    Wait,
    /// Answer `QueueFull` with a retry hint at once.
    Reject,
}

#[derive(Debug, Clone)]
pub struct Submission {
    pub request: OpRequest,
    /// Who asked: shown in the journal and in fallback tickets.
    pub requested_by: String,
    /// C1's task id; a task submitted twice maps to one operation.
    pub c1_task_id: Option<String>,
    pub when_full: WhenFull,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Refused before journaling (bad id, provisioning disabled): the outcome says why.
    #[error("refused: {0:?}")]
    Refused(Outcome),
    #[error("provisioning queue full ({capacity} operations); retry in {retry_after:?}")]
    QueueFull {
        capacity: usize,
        retry_after: Duration,
    },
    #[error(transparent)]
    Journal(#[from] JournalError),
}

impl SubmitError {
    /// Every submit error as an outcome (the CLI and C1 print/map outcomes only).
    pub fn into_outcome(self) -> Outcome {
        match self {
            SubmitError::Refused(o) => o,
            e @ SubmitError::QueueFull { .. } => {
                Outcome::failed(FailureKind::Unavailable, e.to_string())
            }
            SubmitError::Journal(e) => Outcome::failed(FailureKind::Internal, e.to_string()),
        }
    }
}

/// The handle every door uses. Cheap to clone.
#[derive(Clone)]
pub struct Provisioning {
    queue: Slot<ProvisioningQueue>,
    journal: Journal,
    capacity: Arc<Semaphore>,
    capacity_n: usize,
    /// Submitters waiting for room right now (bounded by `capacity_n`).
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    enabled: bool,
    retry_hint: Duration,
}

/// One waiting submitter, counted while it waits (also when its future is dropped).
struct Waiting(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Provisioning {
    /// `capacity` must be the semaphore the queue was built with.
    pub fn new(
        queue: Slot<ProvisioningQueue>,
        journal: Journal,
        capacity: Arc<Semaphore>,
        cfg: &settings::ProvisioningSection,
    ) -> Self {
        // Roughly the time for max_parallel agents' worth of work to drain.
        let retry_hint = cfg.retry_backoff.max(Duration::from_secs(1));
        Provisioning {
            queue,
            journal,
            capacity,
            capacity_n: cfg.capacity,
            waiting: Arc::default(),
            enabled: cfg.enabled,
            retry_hint,
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Refuse, journal (durably), then enqueue. `Ok` means acknowledged: the
    /// operation will run even if this process dies now.
    pub async fn submit(&self, s: Submission) -> Result<Submitted, SubmitError> {
        if !self.enabled {
            return Err(SubmitError::Refused(Outcome::not_enabled()));
        }
        let op = s
            .request
            .parse()
            .map_err(|m| SubmitError::Refused(Outcome::failed(FailureKind::InvalidArgument, m)))?;
        let full = || SubmitError::QueueFull {
            capacity: self.capacity_n,
            retry_after: self.retry_hint,
        };
        let permit = match self.capacity.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) if s.when_full == WhenFull::Reject => return Err(full()),
            Err(_) => {
                use std::sync::atomic::Ordering;
                let before = self.waiting.fetch_add(1, Ordering::AcqRel);
                let _waiting = Waiting(self.waiting.clone());
                if before >= self.capacity_n.max(1) {
                    return Err(full());
                }
                self.capacity.clone().acquire_owned().await.ok()
            }
        };
        let (op2, by, task) = (op.clone(), s.requested_by.clone(), s.c1_task_id.clone());
        let submitted = self
            .journal
            .call(move |j| j.submit(&op2, &by, task.as_deref()))
            .await?;
        if submitted.existing {
            return Ok(submitted);
        }
        // A dead queue is rebuilt by its supervisor and replays this from the journal.
        let _ = self
            .queue
            .addr()
            .send(Enqueue {
                id: submitted.id,
                op,
                requested_by: s.requested_by,
                permit,
            })
            .await;
        Ok(submitted)
    }

    /// Wait for the outcome of an acknowledged operation.
    pub async fn outcome(&self, id: OpId) -> Result<Outcome, SubmitError> {
        loop {
            if let Ok(Some(rx)) = self.queue.addr().send(Watch(id)).await {
                match rx.await {
                    Ok(o) => return Ok(o),
                    // The queue restarted; it replays the operation from the journal.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
                continue;
            }
            let rec = self.journal.call(move |j| j.get(id)).await?;
            match rec {
                Some(OpRecord {
                    outcome: Some(o), ..
                }) => return Ok(o),
                Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                None => {
                    return Ok(Outcome::failed(
                        FailureKind::NotFound,
                        format!("operation {id} is not in the journal (pruned?)"),
                    ));
                }
            }
        }
    }

    /// Submit and wait: the operation id and its outcome.
    pub async fn run(&self, s: Submission) -> (Option<OpId>, Outcome) {
        match self.submit(s).await {
            Ok(sub) => match self.outcome(sub.id).await {
                Ok(o) => (Some(sub.id), o),
                Err(e) => (Some(sub.id), e.into_outcome()),
            },
            Err(e) => (None, e.into_outcome()),
        }
    }

    pub async fn list(
        &self,
        status: Option<OpStatus>,
        limit: u32,
    ) -> Result<Vec<OpRecord>, JournalError> {
        self.journal.call(move |j| j.list(status, limit)).await
    }

    /// Operations of C1 tasks not yet reported, finished or still to run (after a
    /// restart: finish and report each once).
    pub async fn unreported_tasks(&self) -> Result<Vec<OpRecord>, JournalError> {
        self.journal.call(|j| j.unreported_tasks()).await
    }

    /// The operation journaled for a C1 task.
    pub async fn by_task(&self, c1_task_id: String) -> Result<Option<OpRecord>, JournalError> {
        self.journal.call(move |j| j.by_task(&c1_task_id)).await
    }

    pub async fn mark_reported(&self, c1_task_id: String) -> Result<bool, JournalError> {
        self.journal
            .call(move |j| j.mark_reported(&c1_task_id))
            .await
    }
}
