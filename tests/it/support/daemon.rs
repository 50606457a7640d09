//! The real binary as a child process: start it with a temp config and talk to its
//! HTTP endpoint on loopback (`super::metrics` parses its `/metrics`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_baton-haloitsm");

/// A daemon process whose stderr (JSON logs) is captured line by line.
pub struct Daemon {
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub http: SocketAddr,
}

impl Daemon {
    /// Start `baton-haloitsm run` and wait until its HTTP endpoint is known.
    pub fn start(config: &Path, envs: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(BIN);
        cmd.args(["--log-format", "json", "--config"])
            .arg(config)
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn daemon");
        let stderr = child.stderr.take().expect("stderr piped");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                super::leaks::scan("the daemon's log", &line);
                sink.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = find_http_addr(&logs.lock().unwrap());
            if let Some(addr) = found {
                return Daemon {
                    child,
                    logs,
                    http: addr,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "daemon exited early with {status}: {}",
                    logs.lock().unwrap().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "daemon did not report its HTTP address"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `start` with owned values (e.g. `FakeC1::baton_env`).
    pub fn start_owned(config: &Path, envs: &[(&str, String)]) -> Daemon {
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Daemon::start(config, &envs)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.http, "GET", path)
    }

    pub fn post(&self, path: &str) -> (u16, String) {
        http(self.http, "POST", path)
    }

    /// Its `/metrics`, parsed.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        super::metrics::parse_prometheus(&self.get("/metrics").1)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Wait (bounded) until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.logs().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        false
    }

    pub fn sigterm(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(ok.success());
        self.wait(Duration::from_secs(15))
    }

    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("daemon did not exit within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_http_addr(lines: &[String]) -> Option<SocketAddr> {
    lines.iter().find_map(|l| {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        if v.get("message")?
            .as_str()?
            .starts_with("http endpoint listening")
        {
            v.get("addr")?.as_str()?.parse().ok()
        } else {
            None
        }
    })
}

/// Minimal HTTP/1.1 client: enough for our own endpoint, no extra test deps.
pub fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A temp dir holding a config file (and whatever the test puts beside it).
pub struct TempConfig {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn temp_config(body: &str) -> TempConfig {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, body).expect("write config");
    TempConfig { dir, path }
}
