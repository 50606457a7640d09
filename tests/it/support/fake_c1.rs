//! A fake C1 in the test process, on 127.0.0.1 (port picked by the OS): a tonic
//! BatonService server and the HTTP token endpoint on the same port (the connector uses one
//! `api_host` for both). The token endpoint VERIFIES the client assertion: EdDSA signature
//! against the public half of the test's fresh key, iss/sub/aud, and nbf ≤ now ≤ exp. gRPC
//! calls must carry a token it issued and that has not expired. Everything is recorded.
#![allow(dead_code)] // each c1 test uses a different subset

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_haloitsm::c1::credentials::{SigningKey, client_secret_for_seed};
use baton_haloitsm::pb::baton::baton_service_server::{BatonService, BatonServiceServer};
use baton_haloitsm::pb::baton::baton_service_upload_asset_request::Msg;
use baton_haloitsm::pb::baton::*;
use baton_haloitsm::secret::Secret;
use futures::StreamExt;
use tonic::{Request, Status, Streaming};

pub const CLIENT_ID: &str = "haloitsm-test@c1.example.com/pcc";

/// One finished upload (eof received).
#[derive(Debug, Clone)]
pub struct Upload {
    pub task_id: String,
    pub data: Vec<u8>,
    pub sha256: Vec<u8>,
}

#[derive(Default)]
pub struct Recorded {
    pub hellos: Vec<BatonServiceHelloRequest>,
    pub get_tasks: usize,
    pub heartbeats: Vec<String>,
    pub finishes: Vec<BatonServiceFinishTaskRequest>,
    pub uploads: Vec<Upload>,
    pub upload_attempts: usize,
    /// Valid assertions exchanged for tokens.
    pub assertions: usize,
    /// Assertions refused (bad signature, claims, expiry).
    pub bad_assertions: Vec<String>,
    /// gRPC calls refused for a missing, unknown or expired token.
    pub unauthenticated: usize,
    /// Tasks handed out by GetTask, in order.
    pub handed: Vec<Task>,
    /// Task id of every FinishTask that reached the service, refused ones included
    /// (`finishes` holds only the accepted ones).
    pub finish_attempts: Vec<String>,
    /// Token requests answered with a scripted 5xx.
    pub token_errors: usize,
    /// Heartbeats answered with a scripted error (`fail_heartbeats_n`).
    pub failed_heartbeats: usize,
}

impl Recorded {
    /// Accepted FinishTasks of one task.
    pub fn finishes_of(&self, task_id: &str) -> usize {
        self.finishes
            .iter()
            .filter(|f| f.task_id == task_id)
            .count()
    }

    /// FinishTask calls of one task, refused ones included.
    pub fn finish_attempts_of(&self, task_id: &str) -> usize {
        self.finish_attempts
            .iter()
            .filter(|t| *t == task_id)
            .count()
    }

    /// Uploads (eof received, checksum verified) of one task.
    pub fn uploads_of(&self, task_id: &str) -> Vec<&Upload> {
        self.uploads
            .iter()
            .filter(|u| u.task_id == task_id)
            .collect()
    }
}

pub struct Script {
    pub tasks: VecDeque<Task>,
    /// Answer heartbeats with cancelled = true.
    pub cancel_on_heartbeat: bool,
    /// Answer every heartbeat with Unavailable.
    pub fail_heartbeats: bool,
    /// Fail this many upload attempts after reading their first chunk.
    pub fail_uploads: usize,
    pub token_ttl: Duration,
    pub next_poll: Duration,
    /// Hash uploads without keeping their bytes (benchmarks: memory is the connector's).
    pub discard_upload_data: bool,
    /// Hold every token request while set (the connector then cannot make an RPC once its
    /// cached token is due for refresh).
    pub stall_tokens: bool,
    /// On each Hello, queue again every task handed out before and not finished yet, as a
    /// C1 that saw the connector restart might (a task finished before its turn comes is
    /// not handed out).
    pub redeliver_on_hello: bool,
    /// Answer this many token requests with 503 (C1's token endpoint failing), then serve.
    pub token_5xx: usize,
    /// Answer this many FinishTask calls with Unavailable, without recording them as finished.
    pub fail_finishes: usize,
    /// Answer this many heartbeats with Unavailable, then answer them normally.
    pub fail_heartbeats_n: usize,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            tasks: VecDeque::new(),
            cancel_on_heartbeat: false,
            fail_heartbeats: false,
            fail_uploads: 0,
            token_ttl: Duration::from_secs(3600),
            next_poll: Duration::from_millis(100),
            discard_upload_data: false,
            stall_tokens: false,
            redeliver_on_hello: false,
            token_5xx: 0,
            fail_finishes: 0,
            fail_heartbeats_n: 0,
        }
    }
}

#[derive(Clone)]
pub struct FakeC1 {
    pub rec: Arc<Mutex<Recorded>>,
    pub script: Arc<Mutex<Script>>,
    tokens: Arc<Mutex<HashMap<String, Instant>>>,
    public_key: Arc<Vec<u8>>,
    pub addr: SocketAddr,
    pub secret: Secret,
}

/// A fresh Ed25519 key as a C1 client secret, and its public half.
pub fn fresh_credentials() -> (Secret, Vec<u8>) {
    let seed: [u8; 32] = rand::random();
    let secret = client_secret_for_seed(&seed).expect("secret");
    // The whole secret, its encoded JWK, and the private key alone.
    super::leaks::register(secret.expose());
    if let Some(jwk) = secret.expose().rsplit(':').next() {
        super::leaks::register(jwk);
    }
    {
        use base64::Engine as _;
        super::leaks::register(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed));
    }
    let public = SigningKey::from_client_secret(&secret)
        .expect("parses")
        .public_key();
    (secret, public)
}

impl FakeC1 {
    pub async fn start(script: Script) -> FakeC1 {
        let incoming = tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().unwrap())
            .expect("bind");
        let addr = incoming.local_addr().expect("addr");
        let fake = FakeC1::unstarted(addr, script);
        fake.serve(incoming);
        fake
    }

    /// A fake C1 that does not listen yet, on a port reserved by binding it and letting it
    /// go: a connector pointed at it finds nobody there until [`FakeC1::listen`].
    pub fn not_listening(script: Script) -> FakeC1 {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("reserve a port");
        FakeC1::unstarted(addr, script)
    }

    /// Start serving on the reserved address (see [`FakeC1::not_listening`]).
    pub async fn listen(&self) {
        let incoming = tonic::transport::server::TcpIncoming::bind(self.addr).expect("bind");
        self.serve(incoming);
    }

    fn unstarted(addr: SocketAddr, script: Script) -> FakeC1 {
        let (secret, public) = fresh_credentials();
        FakeC1 {
            rec: Arc::default(),
            script: Arc::new(Mutex::new(script)),
            tokens: Arc::default(),
            public_key: Arc::new(public),
            addr,
            secret,
        }
    }

    fn serve(&self, incoming: tonic::transport::server::TcpIncoming) {
        let fake = self.clone();
        let token_router = axum::Router::new()
            .route("/auth/v1/token", axum::routing::post(token))
            .with_state(fake.clone());
        let routes = tonic::service::Routes::from(token_router)
            .add_service(BatonServiceServer::new(fake.clone()));
        let server = tonic::transport::Server::builder()
            .accept_http1(true)
            .add_routes(routes);
        tokio::spawn(async move {
            let _ = server.serve_with_incoming(incoming).await;
        });
    }

    pub fn api_host(&self) -> String {
        self.addr.to_string()
    }

    /// baton's variables for a connector that talks to this fake C1.
    pub fn baton_env(&self, host_id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("BATON_CLIENT_ID", CLIENT_ID.to_string()),
            ("BATON_CLIENT_SECRET", self.secret.expose().to_string()),
            ("BATON_C1_API_HOST", self.api_host()),
            ("BATON_HOST_ID", host_id.to_string()),
        ]
    }

    /// Hold (or release) the token endpoint. Holding also revokes every token issued so
    /// far, so the connector's next RPC fails Unauthenticated and it has to wait for a new
    /// token: from then on nothing reaches this fake until the hold is released.
    pub fn hold_tokens(&self, hold: bool) {
        self.script.lock().unwrap().stall_tokens = hold;
        if hold {
            self.tokens.lock().unwrap().clear();
        }
    }

    pub fn push_task(&self, task: Task) {
        self.script.lock().unwrap().tasks.push_back(task);
    }

    /// Wait (bounded by a number of checks, not a time budget) until `f` holds.
    pub async fn wait_until(&self, what: &str, f: impl Fn(&Recorded) -> bool) {
        for _ in 0..1200 {
            if f(&self.rec.lock().unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fake C1: gave up waiting for {what}");
    }

    fn check_token<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let ok = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(|t| self.tokens.lock().unwrap().get(t).copied())
            .is_some_and(|until| Instant::now() < until);
        if ok {
            Ok(())
        } else {
            self.rec.lock().unwrap().unauthenticated += 1;
            Err(Status::unauthenticated("missing, unknown or expired token"))
        }
    }

    /// Checks a compact JWS the way C1 would; returns why it is refused.
    fn verify_assertion(&self, jws: &str) -> Result<(), String> {
        let parts: Vec<&str> = jws.split('.').collect();
        if parts.len() != 3 {
            return Err("not a compact JWS".into());
        }
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string());
        let header: serde_json::Value =
            serde_json::from_slice(&b64(parts[0])?).map_err(|e| e.to_string())?;
        if header["alg"] != "EdDSA" || !header["nonce"].is_string() {
            return Err(format!("bad header {header}"));
        }
        let input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ED25519, self.public_key.as_slice())
            .verify(input.as_bytes(), &b64(parts[2])?)
            .map_err(|_| "signature does not verify".to_string())?;
        let claims: serde_json::Value =
            serde_json::from_slice(&b64(parts[1])?).map_err(|e| e.to_string())?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let num = |k: &str| claims[k].as_u64().ok_or(format!("claim {k} missing"));
        if claims["iss"] != CLIENT_ID || claims["sub"] != CLIENT_ID {
            return Err("iss/sub is not the client id".into());
        }
        if claims["aud"][0] != "c1.example.com" {
            return Err(format!("bad audience {}", claims["aud"]));
        }
        if !(num("nbf")? <= now + 1 && now <= num("exp")?) || num("exp")? - num("iat")? > 300 {
            return Err("outside its validity window".into());
        }
        Ok(())
    }
}

async fn token(State(fake): State<FakeC1>, Form(form): Form<HashMap<String, String>>) -> Response {
    // Bounded: a stall outlives any test that sets it, yet never hangs the runtime forever.
    for _ in 0..6000 {
        if !fake.script.lock().unwrap().stall_tokens {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    {
        let mut script = fake.script.lock().unwrap();
        if script.token_5xx > 0 {
            script.token_5xx -= 1;
            fake.rec.lock().unwrap().token_errors += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, "scripted outage").into_response();
        }
    }
    let check = || -> Result<(), String> {
        if form.get("grant_type").map(String::as_str) != Some("client_credentials")
            || form.get("client_assertion_type").map(String::as_str)
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            || form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        {
            return Err(format!(
                "bad form fields {:?}",
                form.keys().collect::<Vec<_>>()
            ));
        }
        fake.verify_assertion(
            form.get("client_assertion")
                .map(String::as_str)
                .unwrap_or(""),
        )
    };
    if let Err(why) = check() {
        fake.rec.lock().unwrap().bad_assertions.push(why);
        return (StatusCode::UNAUTHORIZED, "invalid_client").into_response();
    }
    let ttl = fake.script.lock().unwrap().token_ttl;
    let n = {
        let mut rec = fake.rec.lock().unwrap();
        rec.assertions += 1;
        rec.assertions
    };
    let tok = format!("tok-{n}-{}", rand::random::<u32>());
    fake.tokens
        .lock()
        .unwrap()
        .insert(tok.clone(), Instant::now() + ttl);
    axum::Json(serde_json::json!({
        "access_token": tok,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
    }))
    .into_response()
}

fn dur(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

#[tonic::async_trait]
impl BatonService for FakeC1 {
    async fn hello(
        &self,
        req: Request<BatonServiceHelloRequest>,
    ) -> Result<tonic::Response<BatonServiceHelloResponse>, Status> {
        self.check_token(&req)?;
        // Lock order everywhere: script, then rec.
        let mut script = self.script.lock().unwrap();
        let mut rec = self.rec.lock().unwrap();
        rec.hellos.push(req.into_inner());
        if script.redeliver_on_hello {
            let unfinished: Vec<Task> = rec
                .handed
                .iter()
                .filter(|t| !rec.finishes.iter().any(|f| f.task_id == t.id))
                .filter(|t| !script.tasks.iter().any(|q| q.id == t.id))
                .cloned()
                .collect();
            script.tasks.extend(unfinished);
        }
        Ok(tonic::Response::new(BatonServiceHelloResponse::default()))
    }

    async fn get_task(
        &self,
        req: Request<BatonServiceGetTaskRequest>,
    ) -> Result<tonic::Response<BatonServiceGetTaskResponse>, Status> {
        self.check_token(&req)?;
        let mut script = self.script.lock().unwrap();
        let mut rec = self.rec.lock().unwrap();
        rec.get_tasks += 1;
        // Like C1, never hand out a task that has been finished meanwhile.
        let mut task = script.tasks.pop_front();
        while let Some(t) = &task
            && rec.finishes.iter().any(|f| f.task_id == t.id)
        {
            task = script.tasks.pop_front();
        }
        rec.handed.extend(task.clone());
        Ok(tonic::Response::new(BatonServiceGetTaskResponse {
            task,
            next_poll: Some(dur(script.next_poll)),
            next_heartbeat: Some(dur(Duration::from_secs(1))),
            annotations: vec![],
        }))
    }

    async fn heartbeat(
        &self,
        req: Request<BatonServiceHeartbeatRequest>,
    ) -> Result<tonic::Response<BatonServiceHeartbeatResponse>, Status> {
        self.check_token(&req)?;
        let req = req.into_inner();
        self.rec.lock().unwrap().heartbeats.push(req.task_id);
        {
            let mut script = self.script.lock().unwrap();
            if script.fail_heartbeats {
                return Err(Status::unavailable("heartbeat refused (scripted)"));
            }
            if script.fail_heartbeats_n > 0 {
                script.fail_heartbeats_n -= 1;
                self.rec.lock().unwrap().failed_heartbeats += 1;
                return Err(Status::unavailable("heartbeat refused (scripted)"));
            }
        }
        Ok(tonic::Response::new(BatonServiceHeartbeatResponse {
            next_heartbeat: Some(dur(Duration::from_secs(1))),
            cancelled: self.script.lock().unwrap().cancel_on_heartbeat,
            ..Default::default()
        }))
    }

    async fn finish_task(
        &self,
        req: Request<BatonServiceFinishTaskRequest>,
    ) -> Result<tonic::Response<BatonServiceFinishTaskResponse>, Status> {
        self.check_token(&req)?;
        let req = req.into_inner();
        let mut script = self.script.lock().unwrap();
        let mut rec = self.rec.lock().unwrap();
        rec.finish_attempts.push(req.task_id.clone());
        if script.fail_finishes > 0 {
            script.fail_finishes -= 1;
            return Err(Status::unavailable("finish refused (scripted)"));
        }
        rec.finishes.push(req);
        Ok(tonic::Response::new(
            BatonServiceFinishTaskResponse::default(),
        ))
    }

    async fn upload_asset(
        &self,
        req: Request<Streaming<BatonServiceUploadAssetRequest>>,
    ) -> Result<tonic::Response<BatonServiceUploadAssetResponse>, Status> {
        self.check_token(&req)?;
        let (fail, discard) = {
            let mut s = self.script.lock().unwrap();
            self.rec.lock().unwrap().upload_attempts += 1;
            let fail = s.fail_uploads > 0;
            s.fail_uploads = s.fail_uploads.saturating_sub(1);
            (fail, s.discard_upload_data)
        };
        let mut stream = req.into_inner();
        let mut task_id = None;
        let mut data = Vec::new();
        let mut hash = digest::Context::new(&digest::SHA256);
        while let Some(msg) = stream.next().await {
            match msg?.msg {
                Some(Msg::Metadata(m)) => task_id = Some(m.task_id),
                Some(Msg::Data(d)) => {
                    if d.data.is_empty() || d.data.len() > 1024 * 1024 {
                        return Err(Status::invalid_argument("chunk size out of range"));
                    }
                    hash.update(&d.data);
                    if !discard {
                        data.extend_from_slice(&d.data);
                    }
                    if fail {
                        return Err(Status::unavailable("interrupted (scripted)"));
                    }
                }
                Some(Msg::Eof(e)) => {
                    let task_id =
                        task_id.ok_or_else(|| Status::invalid_argument("eof before metadata"))?;
                    let sum = hash.finish();
                    if sum.as_ref() != e.sha256_checksum.as_slice() {
                        return Err(Status::data_loss("sha256 mismatch"));
                    }
                    self.rec.lock().unwrap().uploads.push(Upload {
                        task_id,
                        data,
                        sha256: e.sha256_checksum,
                    });
                    return Ok(tonic::Response::new(
                        BatonServiceUploadAssetResponse::default(),
                    ));
                }
                None => return Err(Status::invalid_argument("empty message")),
            }
        }
        Err(Status::invalid_argument("stream ended without eof"))
    }

    async fn start_debugging(
        &self,
        _: Request<StartDebuggingRequest>,
    ) -> Result<tonic::Response<StartDebuggingResponse>, Status> {
        Ok(tonic::Response::new(StartDebuggingResponse {
            status: false,
        }))
    }
}

/// A 27-character task id (C1's ksuid format).
pub fn task_id(n: u32) -> String {
    format!("{n:0>27}")
}

pub fn sync_task(n: u32) -> Task {
    Task {
        id: task_id(n),
        task_type: Some(task::TaskType::SyncFull(task::SyncFullTask::default())),
        ..Default::default()
    }
}

/// A grant task: membership of `team` for `agent`.
pub fn grant_team_task(id: &str, team: i64, agent: i64) -> Task {
    use baton_haloitsm::pb;
    Task {
        id: id.to_string(),
        task_type: Some(task::TaskType::Grant(task::GrantTask {
            entitlement: Some(pb::Entitlement {
                id: format!("team:{team}:member"),
                ..Default::default()
            }),
            principal: Some(pb::Resource {
                id: Some(pb::ResourceId {
                    resource_type: "agent".into(),
                    resource: agent.to_string(),
                    baton_resource: false,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// A revoke task: `agent`'s membership of `team`.
pub fn revoke_team_task(id: &str, team: i64, agent: i64) -> Task {
    use baton_haloitsm::pb;
    Task {
        id: id.to_string(),
        task_type: Some(task::TaskType::Revoke(task::RevokeTask {
            grant: Some(pb::Grant {
                id: format!("team:{team}:member:agent:{agent}"),
                ..Default::default()
            }),
            ..Default::default()
        })),
        ..Default::default()
    }
}
