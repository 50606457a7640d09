//! systemd integration: READY=1, WATCHDOG=1 and STOPPING=1.
//!
//! The watchdog is pinged only after a round trip through the supervisor's
//! mailbox on the actor system's thread, and only while the supervisor's own
//! periodic checks keep running: if that thread wedges (blocking call, busy
//! loop) or the supervisor stops making progress, the pings stop and systemd
//! restarts the service. A child that is down is not a reason: the
//! supervisor restarts it itself.
//! Outside systemd (`NOTIFY_SOCKET` unset) every call is a no-op.

use std::time::Duration;

use actix::Addr;
use sd_notify::NotifyState;

use super::supervisor::{Ping, Supervisor};

pub fn notify_ready() {
    let _ = sd_notify::notify(&[NotifyState::Ready]);
}

pub fn notify_stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// Spawn the watchdog loop if systemd asked for one (`WatchdogSec=`).
pub fn spawn(supervisor: Addr<Supervisor>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = period / 2;
    tracing::info!(
        period_ms = period.as_millis() as u64,
        "systemd watchdog enabled"
    );
    actix::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match tokio::time::timeout(every.max(Duration::from_millis(100)), supervisor.send(Ping))
                .await
            {
                Ok(Ok(health)) if health.progressing => {
                    let _ = sd_notify::notify(&[NotifyState::Watchdog]);
                }
                Ok(Ok(_)) => {
                    tracing::error!("supervisor checks have stalled; withholding watchdog ping")
                }
                Ok(Err(_)) => {
                    tracing::error!("supervisor is gone; withholding watchdog ping");
                    return;
                }
                Err(_) => {
                    tracing::error!("supervisor did not answer in time; withholding watchdog ping")
                }
            }
        }
    });
}
