//! Scheduler (standalone mode): triggers a full sync every `sync.interval` plus
//! a random jitter, and once at start when `sync.on_start` is set.
//!
//! Owns: the periodic timer and **at most one** pending retry. Never does: the
//! sync itself; it sends `StartSync` to the SyncCoordinator and logs the
//! outcome. A trigger that fires while a sync is still running is refused by
//! the coordinator, not queued here.
//!
//! Retries: a failed sync (or an unreachable coordinator) schedules one retry
//! after `retry_initial`, doubling per consecutive failure and capped at the
//! interval. Scheduling a retry replaces any pending one, and a periodic
//! trigger or a success cancels it, so during a long Halo outage there is one
//! retry chain, not one more per failed tick.
//!
//! Mailbox: default; the only messages are `Probe`/`Crash`/`Hang`.

use std::time::Duration;

use actix::prelude::*;
use rand::Rng;

use super::coordinator::{StartSync, SyncCoordinator};
use super::syncer::SyncError;
use crate::actor_slot::Slot;
use crate::telemetry;

pub struct Scheduler {
    coordinator: Slot<SyncCoordinator>,
    interval: Duration,
    jitter: Duration,
    on_start: bool,
    retry_initial: Duration,
    failures: u32,
    retry: Option<SpawnHandle>,
}

impl Scheduler {
    pub fn new(
        coordinator: Slot<SyncCoordinator>,
        interval: Duration,
        jitter: Duration,
        on_start: bool,
    ) -> Self {
        Scheduler {
            coordinator,
            interval,
            jitter,
            on_start,
            retry_initial: Duration::from_secs(60),
            failures: 0,
            retry: None,
        }
    }

    /// First retry delay after a failed sync (doubles per failure, capped at the interval).
    pub fn with_retry_initial(mut self, retry_initial: Duration) -> Self {
        self.retry_initial = retry_initial;
        self
    }

    fn next_delay(&self) -> Duration {
        let jitter_ms = self.jitter.as_millis() as u64;
        let extra = if jitter_ms == 0 {
            0
        } else {
            rand::rng().random_range(0..=jitter_ms)
        };
        self.interval + Duration::from_millis(extra)
    }

    fn schedule(&self, ctx: &mut Context<Self>, delay: Duration, reason: &'static str) {
        tracing::debug!(delay_s = delay.as_secs_f64(), reason, "next sync scheduled");
        ctx.run_later(delay, move |act, ctx| {
            // A periodic trigger supersedes a pending retry.
            act.cancel_retry(ctx);
            act.trigger(ctx, reason);
            let next = act.next_delay();
            act.schedule(ctx, next, "schedule");
        });
    }

    fn cancel_retry(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.retry.take() {
            ctx.cancel_future(handle);
            telemetry::sync::retry_pending(false, Duration::ZERO);
        }
    }

    /// Replace any pending retry with one after the current backoff.
    fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        self.cancel_retry(ctx);
        self.failures += 1;
        let delay = self
            .retry_initial
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(self.interval);
        self.retry = Some(ctx.run_later(delay, |act, ctx| {
            act.retry = None;
            telemetry::sync::retry_pending(false, Duration::ZERO);
            act.trigger(ctx, "retry");
        }));
        telemetry::sync::retry_pending(true, delay);
    }

    fn trigger(&self, ctx: &mut Context<Self>, reason: &'static str) {
        telemetry::sync::sync_triggered(reason);
        let coordinator = self.coordinator.addr();
        // Spawned, so a long sync never blocks this actor's timers.
        ctx.spawn(
            async move { coordinator.send(StartSync { reason, dest: None }).await }
                .into_actor(self)
                .map(move |res, act, ctx| match res {
                    Ok(Ok(_)) => {
                        act.failures = 0;
                        act.cancel_retry(ctx);
                    }
                    // Refused: another sync is running, which is not a failure.
                    Ok(Err(SyncError::AlreadyRunning(_))) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(reason, error = %e, "sync failed");
                        act.schedule_retry(ctx);
                    }
                    // The coordinator died mid-sync; its restart is under way.
                    Err(e) => {
                        tracing::error!(reason, error = %e, "sync coordinator unavailable");
                        act.schedule_retry(ctx);
                    }
                }),
        );
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        telemetry::sync::retry_pending(false, Duration::ZERO);
        if self.on_start {
            self.schedule(ctx, Duration::ZERO, "start");
        } else {
            let next = self.next_delay();
            self.schedule(ctx, next, "schedule");
        }
    }
}

crate::supervised!(Scheduler);
