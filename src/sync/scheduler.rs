//! Scheduler (standalone mode): triggers a full sync every `sync.interval` plus
//! a random jitter, and once at start when `sync.on_start` is set.
//!
//! Owns: the timer. Never does: the sync itself; it sends `StartSync` to the
//! SyncCoordinator and logs the outcome. A trigger that fires while a sync is
//! still running is refused by the coordinator, not queued here. A failed sync
//! is retried sooner than the next interval: after 1 min, doubling, capped at
//! the interval.

use std::time::Duration;

use actix::prelude::*;
use rand::Rng;

use super::coordinator::{StartSync, SyncCoordinator};
use super::syncer::SyncError;
use crate::actor_slot::Slot;

pub struct Scheduler {
    coordinator: Slot<SyncCoordinator>,
    interval: Duration,
    jitter: Duration,
    on_start: bool,
    failures: u32,
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
            failures: 0,
        }
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
            act.trigger(ctx, reason);
            let next = act.next_delay();
            act.schedule(ctx, next, "schedule");
        });
    }

    fn trigger(&self, ctx: &mut Context<Self>, reason: &'static str) {
        let coordinator = self.coordinator.addr();
        // Spawned, so a long sync never blocks this actor's timers.
        ctx.spawn(
            async move { coordinator.send(StartSync { reason, dest: None }).await }
                .into_actor(self)
                .map(move |res, act, ctx| match res {
                    Ok(Ok(_)) => act.failures = 0,
                    // Refused: another sync is running, which is not a failure.
                    Ok(Err(SyncError::AlreadyRunning(_))) => {}
                    Ok(Err(e)) => {
                        act.failures += 1;
                        let retry = Duration::from_secs(60)
                            .saturating_mul(1 << (act.failures - 1).min(10))
                            .min(act.interval);
                        tracing::warn!(reason, error = %e, retry_s = retry.as_secs(), "sync failed; retrying early");
                        ctx.run_later(retry, |act, ctx| act.trigger(ctx, "retry"));
                    }
                    Err(e) => tracing::error!(reason, error = %e, "sync coordinator unavailable"),
                }),
        );
    }
}

impl Actor for Scheduler {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if self.on_start {
            self.schedule(ctx, Duration::ZERO, "start");
        } else {
            let next = self.next_delay();
            self.schedule(ctx, next, "schedule");
        }
    }
}

crate::supervised!(Scheduler);
