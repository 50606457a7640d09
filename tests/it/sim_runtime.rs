//! The three ways to run the simulator: inside an actix System, on its own background
//! runtime (from a thread with no runtime), and `serve_until` (the `simulate` subcommand).

use std::time::Duration;

use baton_haloitsm::sim::{SimConfig, SimHandle, serve_until};

use crate::support::sim::{Api, client};

#[actix_rt::test]
async fn start_inside_an_actix_system() {
    let sim = SimHandle::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Api::new(&sim).await;
    assert_eq!(api.get("/api/Agent").await.status(), 200);
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        sim.addr().port(),
        sim.base_url()
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap()
    );
    sim.shutdown();
}

#[test]
fn start_background_from_a_plain_thread_and_shut_down() {
    let sim =
        SimHandle::start_background(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = sim.base_url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = Api::new(&sim).await;
        assert_eq!(api.get("/api/Team").await.status(), 200);
        // A request stalled at shutdown does not hold the shutdown up: the stall
        // is an hour, so a shutdown that waited it out could never pass this test.
        let stall = Duration::from_secs(3600);
        sim.control().stall_next(1, stall, None);
        let c = api.c.clone();
        let tok = api.token.clone();
        let url = format!("{base}/api/Team");
        let stalled = tokio::spawn(async move { c.get(url).bearer_auth(tok).send().await });
        // Wait until the stalled request has arrived (logged, unanswered).
        let unanswered = || {
            sim.control()
                .requests()
                .iter()
                .any(|r| r.status == baton_haloitsm::sim::NO_RESPONSE)
        };
        for _ in 0..1000 {
            if unanswered() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(unanswered(), "the stalled request arrived");
        let t0 = std::time::Instant::now();
        sim.shutdown();
        assert!(t0.elapsed() < stall);
        let _ = stalled.await;
        assert!(
            client()
                .get(format!("{base}/api/authinfo"))
                .send()
                .await
                .is_err()
        );
    });
}

#[test]
fn bad_config_is_refused_at_start() {
    let cfg = SimConfig {
        token_lifetime: Duration::ZERO,
        ..SimConfig::default()
    };
    let err =
        SimHandle::start_background(cfg, "127.0.0.1:0".parse().unwrap()).expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn serve_until_stops_when_the_future_completes() {
    // Reserve a free port, then serve on it.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_until(SimConfig::default(), addr, async {
        let _ = rx.await;
    }));
    let c = client();
    let url = format!("http://{addr}/api/authinfo");
    let mut up = false;
    for _ in 0..50 {
        if c.get(&url).send().await.is_ok_and(|r| r.status() == 200) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(up);
    tx.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
