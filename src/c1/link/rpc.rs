//! The BatonService calls on the link's one channel: Hello, GetTask, Heartbeat, FinishTask and
//! UploadAsset, each with the bearer token from C1Auth (an Unauthenticated answer makes
//! C1Auth forget it). Heartbeats and uploads are what tasks see of the link ([`Uplink`]).

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use tonic::{Code, Request};

use super::Link;
use crate::c1::auth::{GetC1Token, InvalidateC1Token};
use crate::c1::status::{Outcome, TaskFailure, finish_request};
use crate::c1::task_kind::TaskKind;
use crate::c1::tasks::Uplink;
use crate::c1::{C1Error, hello, upload};
use crate::pb::baton::{
    BatonServiceGetTaskRequest, BatonServiceGetTaskResponse, BatonServiceHeartbeatRequest,
    BatonServiceHeartbeatResponse,
};
use crate::telemetry;

/// Ten failed heartbeats in a row cancel the task, as in the SDK.
const MAX_HEARTBEAT_FAILURES: u32 = 10;

impl Link {
    /// `msg` with the bearer token attached.
    async fn authed<T>(&self, rpc: &'static str, msg: T) -> Result<Request<T>, C1Error> {
        let token =
            self.auth
                .addr()
                .send(GetC1Token)
                .await
                .map_err(|source| C1Error::Mailbox {
                    actor: "c1_auth",
                    source,
                })??;
        let mut req = Request::new(msg);
        let value = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| C1Error::Rpc {
                rpc,
                status: tonic::Status::internal("the token is not a valid header value"),
            })?;
        req.metadata_mut().insert("authorization", value);
        req.set_timeout(Duration::from_secs(60));
        Ok(req)
    }

    async fn rpc_error(&self, rpc: &'static str, status: tonic::Status) -> C1Error {
        if status.code() == Code::Unauthenticated {
            let _ = self.auth.addr().send(InvalidateC1Token).await;
        }
        C1Error::Rpc { rpc, status }
    }

    pub async fn hello(&self, task_id: &str) -> Result<(), C1Error> {
        let req = hello::hello_request(&self.settings.host_id, task_id, self.settings.enabled);
        let req = self.authed("hello", req).await?;
        match self.client.clone().hello(req).await {
            Ok(_) => Ok(()),
            Err(s) => Err(self.rpc_error("hello", s).await),
        }
    }

    pub(super) async fn get_task(&self) -> Result<BatonServiceGetTaskResponse, C1Error> {
        let req = BatonServiceGetTaskRequest {
            host_id: self.settings.host_id.clone(),
        };
        let req = self.authed("get_task", req).await?;
        match self.client.clone().get_task(req).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(self.rpc_error("get_task", s).await),
        }
    }

    async fn heartbeat(&self, task_id: &str) -> Result<BatonServiceHeartbeatResponse, C1Error> {
        let req = BatonServiceHeartbeatRequest {
            host_id: self.settings.host_id.clone(),
            task_id: task_id.to_string(),
            ..Default::default()
        };
        let req = self.authed("heartbeat", req).await?;
        match self.client.clone().heartbeat(req).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(self.rpc_error("heartbeat", s).await),
        }
    }

    /// FinishTask, retried a few times: an outcome C1 never hears about would run again.
    pub(super) async fn finish(
        &self,
        task_id: &str,
        kind: TaskKind,
        outcome: Outcome,
    ) -> Result<(), C1Error> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let req = finish_request(&self.settings.host_id, task_id, kind, outcome.clone());
            let res: Result<(), C1Error> = match self.authed("finish_task", req).await {
                Ok(req) => match self.client.clone().finish_task(req).await {
                    Ok(_) => return Ok(()),
                    Err(s) => Err(self.rpc_error("finish_task", s).await),
                },
                Err(e) => Err(e),
            };
            let Err(e) = res else { return Ok(()) };
            let wait = Duration::from_secs(u64::from(attempt));
            telemetry::c1::rpc_failed("finish_task", &e.to_string(), wait);
            if attempt >= 5 {
                return Err(e);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Upload a c1z for `task_id`: up to 3 attempts, waiting 0 s then 1 s between them.
    pub async fn upload(&self, task_id: &str, path: &Path) -> Result<u64, C1Error> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut last = None;
        for attempt in 1..=3u32 {
            if attempt == 3 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let stream =
                upload::request_stream(self.settings.host_id.clone(), task_id.to_string(), path)
                    .await
                    .map_err(|e| C1Error::Upload(format!("{}: {e}", path.display())))?;
            let res = match self.authed("upload_asset", stream).await {
                Ok(req) => match self.client.clone().upload_asset(req).await {
                    Ok(_) => Ok(()),
                    Err(s) => Err(self.rpc_error("upload_asset", s).await),
                },
                Err(e) => Err(e),
            };
            match res {
                Ok(()) => {
                    telemetry::c1::upload_finished(task_id, size, attempt);
                    return Ok(size);
                }
                Err(e) => {
                    telemetry::c1::upload_failed(task_id, attempt, &e.to_string());
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| C1Error::Upload("no attempt made".into())))
    }

    /// Runs `work` while heartbeating `task_id`; C1 cancelling the task, or ten failed
    /// heartbeats in a row, end the wait with a Cancelled failure (`work` is dropped: the
    /// caller cancels what it started).
    pub async fn with_heartbeats<F: Future>(
        &self,
        task_id: &str,
        first_interval: Option<Duration>,
        work: F,
    ) -> Result<F::Output, TaskFailure> {
        let beats = async {
            let mut interval = heartbeat_interval(first_interval);
            let mut failures = 0u32;
            let mut first = true;
            loop {
                if !first {
                    tokio::time::sleep(interval).await;
                }
                first = false;
                match self.heartbeat(task_id).await {
                    Ok(r) if r.cancelled || r.cancelled_task_ids.iter().any(|t| t == task_id) => {
                        telemetry::c1::heartbeat(task_id, "cancelled");
                        return TaskFailure::cancelled("C1 cancelled the task");
                    }
                    Ok(r) => {
                        telemetry::c1::heartbeat(task_id, "ok");
                        telemetry::c1::connected(&self.settings.api_host);
                        failures = 0;
                        interval = heartbeat_interval(r.next_heartbeat.map(to_duration));
                    }
                    Err(e) => {
                        telemetry::c1::heartbeat(task_id, "error");
                        failures += 1;
                        if failures >= MAX_HEARTBEAT_FAILURES {
                            return TaskFailure::cancelled(format!(
                                "{failures} heartbeats failed in a row: {e}"
                            ));
                        }
                    }
                }
            }
        };
        tokio::select! {
            biased;
            out = work => Ok(out),
            failure = beats => Err(failure),
        }
    }
}

impl Uplink for Link {
    fn with_heartbeats<F: Future>(
        &self,
        task_id: &str,
        first_interval: Option<Duration>,
        work: F,
    ) -> impl Future<Output = Result<F::Output, TaskFailure>> {
        Link::with_heartbeats(self, task_id, first_interval, work)
    }

    fn upload(&self, task_id: &str, path: &Path) -> impl Future<Output = Result<u64, C1Error>> {
        Link::upload(self, task_id, path)
    }
}

pub(super) fn to_duration(d: prost_types::Duration) -> Duration {
    if d.seconds < 0 || (d.seconds == 0 && d.nanos <= 0) {
        return Duration::ZERO;
    }
    Duration::new(d.seconds as u64, d.nanos.max(0) as u32)
}

/// The SDK's clamp: [1 s, 5 min], 30 s when C1 says nothing.
fn heartbeat_interval(d: Option<Duration>) -> Duration {
    match d {
        None => Duration::from_secs(30),
        Some(d) if d.is_zero() => Duration::from_secs(30),
        Some(d) => d.clamp(Duration::from_secs(1), Duration::from_secs(300)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_interval_is_clamped() {
        assert_eq!(heartbeat_interval(None), Duration::from_secs(30));
        assert_eq!(
            heartbeat_interval(Some(Duration::from_millis(10))),
            Duration::from_secs(1)
        );
        assert_eq!(
            heartbeat_interval(Some(Duration::from_secs(9000))),
            Duration::from_secs(300)
        );
    }
}
