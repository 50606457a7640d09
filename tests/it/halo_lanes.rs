//! Two lanes, one budget: a priority request (provisioning, ticketing) waiting
//! for the gateway goes ahead of bulk sync requests that were already queued.
//! Judged by arrival order in the simulator's request log, not by the clock.

use std::time::Duration;

use baton_haloitsm::halo::{self, HaloRequest, HaloSettings, Lane};
use baton_haloitsm::sim::SimConfig;

use crate::support::halo::{bounded, settings};
use crate::support::sim::{count_requests, start};

/// Bulk `/api/Team` requests that reached the simulator after `from` (a log
/// length) and before the probe request (`/api/Roles`) did.
fn bulk_ahead(log: &[baton_haloitsm::sim::LoggedRequest], from: usize) -> usize {
    let probe = log
        .iter()
        .position(|r| r.path.eq_ignore_ascii_case("/api/Roles"))
        .expect("probe request logged");
    log[from.min(probe)..probe]
        .iter()
        .filter(|r| r.path.eq_ignore_ascii_case("/api/Team"))
        .count()
}

async fn run(probe_lane: Lane) -> usize {
    let sim = start(SimConfig::default()).await;
    let client = halo::start(HaloSettings {
        // About 8 requests per second after a burst of 2: a queue forms at once.
        rate_limit_requests: 20,
        rate_limit_window: Duration::from_secs(2),
        max_in_flight: 4,
        ..settings(&sim)
    });
    // Warm the token so its request does not sit between the two below.
    client.roles().await.expect("warm-up");
    sim.control().clear_requests();
    let bulk: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            actix::spawn(async move { c.send(HaloRequest::get("/api/Team", "/api/Team")).await })
        })
        .collect();
    // The bulk requests queue up behind the pacer once its burst has gone out.
    for _ in 0..1000 {
        if count_requests(&sim, "GET", "/api/Team") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let from = sim.control().requests().len();
    client
        .send(HaloRequest::get("/api/Roles", "/api/Roles").lane(probe_lane))
        .await
        .expect("probe");
    for b in bulk {
        b.await.unwrap().expect("bulk request");
    }
    bulk_ahead(&sim.control().requests(), from)
}

#[actix::test]
async fn a_priority_request_overtakes_queued_sync_requests() {
    bounded(60, async {
        let as_bulk = run(Lane::Bulk).await;
        let as_priority = run(Lane::Priority).await;
        println!("bulk requests served ahead of the probe: bulk lane {as_bulk}, priority lane {as_priority}");
        // In the bulk lane the probe waits its turn behind the queue; in the
        // priority lane at most the bulk requests already holding a slot and
        // waiting for their cell (in-flight cap − 1) go first.
        assert!(as_priority <= 3, "priority probe waited behind {as_priority}");
        assert!(
            as_bulk > as_priority + 2,
            "bulk probe {as_bulk} vs priority probe {as_priority}"
        );
    })
    .await;
}
