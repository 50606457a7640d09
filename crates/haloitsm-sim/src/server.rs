//! The HTTP front: the request pipeline every Halo-facing request goes through, and the server.
//!
//! Order per request: log → latency → rate limit → fault → route → auth → handler. Latency
//! comes first so 429s and injected errors take time too; the rate limit comes before faults
//! so a failed request still counts against the window, as it would on a real server.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::admin;
use crate::api::{self, ApiError, Ctx};
use crate::conn::{ConnHandle, SimListener};
use crate::faults::Fault;
use crate::hostile;
use crate::query::QueryParams;
use crate::rate_limit::Admission;
use crate::request_log::NO_RESPONSE;
use crate::routes::{RouteMatch, match_route};
use crate::state::{Shared, lock};

/// Largest request body read; Halo write bodies are small arrays.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How long shutdown waits for open connections before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

enum Outcome {
    Answer(Response),
    Reset,
}

pub(crate) fn app(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/_sim", admin::router())
        .fallback(halo_entry)
        .with_state(shared)
}

/// Serves until `stop` turns true (or its sender is dropped).
pub(crate) async fn run(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let make = app(shared).into_make_service_with_connect_info::<ConnHandle>();
    let mut graceful = stop.clone();
    let serve = axum::serve(SimListener(listener), make).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|s| *s).await;
    });
    let mut hard = stop;
    // Graceful shutdown waits for every open connection; a client that never hangs up must
    // not keep the simulator (and a test's Drop) alive.
    tokio::select! {
        r = serve => r,
        _ = async {
            let _ = hard.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Ok(()),
    }
}

/// The URL clients should use, even when bound to an unspecified address.
pub(crate) fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if !ip.is_unspecified() => ip,
        std::net::IpAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

async fn halo_entry(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    req: Request,
) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let seq = lock(&shared.log).begin(method.as_str(), &path, &query);
    match pipeline(&shared, &method, &path, &query, req).await {
        Outcome::Answer(resp) => {
            lock(&shared.log).finish(seq, resp.status().as_u16());
            resp
        }
        Outcome::Reset => {
            lock(&shared.log).finish(seq, NO_RESPONSE);
            conn.reset();
            // Never delivered: writing it fails and hyper drops the connection.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

async fn pipeline(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    req: Request,
) -> Outcome {
    let quirks = shared.quirks();
    let style = quirks.error_style;
    let halo_scope = starts_with_ci(path, "/api/") || starts_with_ci(path, "/auth/");
    if !halo_scope {
        return Outcome::Answer(ApiError::not_found("No such route").render(style));
    }

    let delay = lock(&shared.faults).latency();
    shared.sleep(delay).await;

    let admission = lock(&shared.rate).admit(shared.clock.now());
    if let Admission::Limited { retry_after, body } = admission {
        shared.rate_limited.fetch_add(1, Ordering::Relaxed);
        return Outcome::Answer(too_many_requests(body, retry_after));
    }

    let fault = lock(&shared.faults).decide(method.as_str(), path);
    let mut answer_delay = Duration::ZERO;
    let mut edit = None;
    match fault {
        Some(Fault::Fail(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Simulated failure");
            return Outcome::Answer(ApiError::new(status, reason).render(style));
        }
        Some(Fault::Reset) => return Outcome::Reset,
        Some(Fault::Stall(d)) => shared.sleep(d).await,
        Some(Fault::StallAnswer(d)) => answer_delay = d,
        Some(Fault::Hostile(h)) if h.replaces() => return Outcome::Answer(hostile::answer(&h)),
        Some(Fault::Hostile(h)) => edit = Some(h),
        None => {}
    }

    let (route, param) = match match_route(method, path) {
        RouteMatch::Found { route, param } => (route, param),
        RouteMatch::MethodNotAllowed => {
            let e = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "The requested resource does not support this http method.",
            );
            return Outcome::Answer(e.render(style));
        }
        RouteMatch::NotFound => {
            return Outcome::Answer(ApiError::not_found("No such route").render(style));
        }
    };

    if route.auth {
        let ok = crate::auth::bearer(req.headers())
            .is_some_and(|t| lock(&shared.tokens).is_valid(t, shared.clock.now()));
        if !ok {
            return Outcome::Answer(ApiError::unauthorized().render(style));
        }
    }

    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            let e = ApiError::new(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            );
            return Outcome::Answer(e.render(style));
        }
    };
    let query = QueryParams::parse(query);
    let ctx = Ctx {
        shared,
        quirks: &quirks,
        param,
        query: &query,
        body: &body,
    };
    let mut answer = api::dispatch(route.endpoint, &ctx).unwrap_or_else(|e| e.render(style));
    if let Some(h) = &edit {
        answer = hostile::edit(answer, h).await;
    }
    shared.sleep(answer_delay).await;
    Outcome::Answer(answer)
}

/// Halo answers 429 with a plain-text sentence, whatever the error style.
fn too_many_requests(body: String, retry_after: Option<u64>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}
