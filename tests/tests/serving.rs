//! Targets that really serve (issue #13), end to end through the real handlers, the SDK, the
//! strict moto (`tests/moto/strict_elbv2.py`: draining, `initial`, `unused`, AZ echo) and the
//! loopback DNS server (random readers, a caching resolver).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use router_tests::fixtures::Bed;
use router_tests::handlers::{
    audit, deregistrations_in_audits, get_route, rds_event, rds_event_at,
};
use serde_json::{json, Value};

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
const BILLING_READER: &str = "billing.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com";

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ips(list: &[&str]) -> Vec<Ipv4Addr> {
    list.iter().map(|s| ip(s)).collect()
}

/// Waits (up to `limit`) until `check` holds for the route's target states; panics otherwise.
async fn wait_for_states(
    bed: &Bed,
    route: &str,
    limit: Duration,
    what: &str,
    check: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let r = bed.route(route).await;
    let started = Instant::now();
    loop {
        let states = bed.target_states(&r).await;
        if check(&states) {
            return states;
        }
        assert!(started.elapsed() < limit, "{what}: still {states:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn state_of<'a>(states: &'a [(String, String)], target: &str) -> Option<&'a str> {
    states
        .iter()
        .find(|(t, _)| t == target)
        .map(|(_, s)| s.as_str())
}

/// Case 1: 10.1.2.3 → 10.1.7.7 (RDS-EVENT-0049), then straight back to 10.1.2.3 with a second
/// 0049 while 10.1.2.3 still drains. The second event must register 10.1.2.3 again; once the
/// deregistration delay has passed, 10.1.2.3 serves and 10.1.7.7 is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failback_while_the_old_ip_drains_registers_it_again() {
    // 40 s of deregistration delay: 4 s in the test bed's emulated clock.
    let bed = Bed::start_with("failback", &[("ROUTER_DEREGISTRATION_DELAY_SECONDS", "40")]).await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    assert_eq!(bed.targets(&route).await, ["10.1.2.3:5432"]);

    bed.set_ip(ORDERS, [10, 1, 7, 7]);
    let first = rds_event(
        &bed.ctx,
        rds_event_at(
            "rds-instance-failover-completed-0049.json",
            "2026-11-30T10:00:00Z",
        ),
    )
    .await;
    assert_eq!(first["decision"], "handled", "{first:#}");
    let states = bed.target_states(&route).await;
    assert_eq!(
        state_of(&states, "10.1.2.3:5432"),
        Some("draining"),
        "{states:?}"
    );

    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let second = rds_event(
        &bed.ctx,
        rds_event_at(
            "rds-instance-failover-completed-0049.json",
            "2026-11-30T10:00:02Z",
        ),
    )
    .await;
    let report = &second["routes"][0];
    assert_eq!(report["registered"], json!(["10.1.2.3"]), "{second:#}");
    assert_eq!(report["deregistered"], json!(["10.1.7.7"]), "{second:#}");
    let states = bed.target_states(&route).await;
    assert_eq!(
        state_of(&states, "10.1.7.7:5432"),
        Some("draining"),
        "{states:?}"
    );
    assert_ne!(
        state_of(&states, "10.1.2.3:5432"),
        Some("draining"),
        "{states:?}"
    );

    // After the delay: 10.1.2.3 still there, 10.1.7.7 gone; the route says it serves.
    let states = wait_for_states(&bed, "orders", Duration::from_secs(15), "drain ends", |s| {
        s.len() == 1
    })
    .await;
    assert_eq!(states[0].0, "10.1.2.3:5432");
    let (status, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["status"], "active");
    assert_eq!(body["health"]["health"], "serving", "{body:#}");
}

/// Case 2: a reader endpoint answering one of four readers at random per query. Sixty audits
/// must never deregister a live reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_endpoint_with_more_readers_than_k_keeps_every_live_reader() {
    // Without the RDS API: DNS answers and the reader retention window only.
    let bed = Bed::start_with("readers-random", &[("ROUTER_RDS_MEMBERSHIP", "false")]).await;
    let readers = ips(&["10.2.0.21", "10.2.0.22", "10.2.0.23", "10.2.0.24"]);
    bed.dns.seed(7);
    bed.dns.set_random(BILLING_READER, &readers);
    bed.add_route("billing-ro", BILLING_READER, 5432).await;
    let removed = deregistrations_in_audits(&bed.ctx, 60).await;
    assert_eq!(removed, 0, "live readers deregistered");
    let route = bed.route("billing-ro").await;
    assert_eq!(
        bed.targets(&route).await,
        [
            "10.2.0.21:5432",
            "10.2.0.22:5432",
            "10.2.0.23:5432",
            "10.2.0.24:5432"
        ],
        "every reader was answered at least once in 60 lookups"
    );
}

/// A reader that leaves the cluster leaves the target group once it has been absent for the
/// reader retention time (here 3 s), while the readers DNS keeps answering stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_removed_from_the_endpoint_leaves_after_the_retention_time() {
    let bed = Bed::start_with(
        "readers-leave",
        &[
            ("ROUTER_READER_RETENTION_SECONDS", "3"),
            ("ROUTER_WINDOW", "1"),
            ("ROUTER_RDS_MEMBERSHIP", "false"),
        ],
    )
    .await;
    bed.dns.set_round_robin(
        BILLING_READER,
        &ips(&["10.2.0.21", "10.2.0.22", "10.2.0.23", "10.2.0.24"]),
    );
    let route = bed.add_route("billing-ro", BILLING_READER, 5432).await;
    for _ in 0..4 {
        audit(&bed.ctx).await;
    }
    assert_eq!(bed.targets(&route).await.len(), 4);
    // 10.2.0.24 is removed from the cluster: the endpoint rotates over three readers.
    bed.dns.set_round_robin(
        BILLING_READER,
        &ips(&["10.2.0.21", "10.2.0.22", "10.2.0.23"]),
    );
    let started = Instant::now();
    loop {
        let report = audit(&bed.ctx).await;
        let targets = bed.targets(&route).await;
        if !targets.contains(&"10.2.0.24:5432".to_owned()) {
            // The window keeps whole seconds: 3 s of absence is more than 2 s of wall time.
            assert!(
                started.elapsed() >= Duration::from_secs(2),
                "removed before the retention time: {report:#}"
            );
            assert_eq!(targets.len(), 3, "live readers kept: {targets:?}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "10.2.0.24 never left: {report:#}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Case 3: readers R1, R2 behind a resolver that caches each answer for its 5 s TTL, then a
/// cluster failover event (RDS-EVENT-0071). Every lookup of the event sees the same cached
/// reader; R2 must stay. The RDS API is configured but does not know the cluster: the router
/// falls back to DNS with the reader retention window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_endpoint_behind_a_caching_resolver_keeps_the_reader_it_did_not_see() {
    let bed = Bed::start_with(
        "readers-cached",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "1")],
    )
    .await;
    bed.dns
        .set_round_robin(BILLING_READER, &ips(&["10.2.0.21", "10.2.0.22"]));
    let route = bed.add_route("billing-ro", BILLING_READER, 5432).await;
    audit(&bed.ctx).await;
    assert_eq!(
        bed.targets(&route).await,
        ["10.2.0.21:5432", "10.2.0.22:5432"]
    );

    bed.dns.set_cache_ttl(Some(Duration::from_secs(5)));
    let mut event = rds_event_at(
        "rds-cluster-failover-completed-0071.json",
        "2026-11-30T10:00:00Z",
    );
    event["detail"]["SourceIdentifier"] = json!("billing");
    event["detail"]["SourceArn"] = json!("arn:aws:rds:us-east-1:123456789012:cluster:billing");
    event["resources"] = json!(["arn:aws:rds:us-east-1:123456789012:cluster:billing"]);
    let summary = rds_event(&bed.ctx, event).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    let answers = &summary["routes"][0]["dns"]["answers"];
    let distinct: std::collections::BTreeSet<String> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(distinct.len(), 1, "the cache repeats one reader: {answers}");
    assert_eq!(
        summary["routes"][0]["deregistered"],
        json!([]),
        "{summary:#}"
    );
    assert_eq!(
        bed.targets(&route).await,
        ["10.2.0.21:5432", "10.2.0.22:5432"]
    );
}

/// Case 4: after a failover the database's IP lies in a subnet of the router VPC whose
/// Availability Zone the NLB is not enabled in: ELB reports the target `unused`
/// (`Target.NotInUse`). The audit and `GET /routes/{id}` say the route is not serving, and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_in_a_zone_the_nlb_does_not_serve_is_reported_not_serving() {
    let bed = Bed::start("unused-zone").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    assert_eq!(bed.network.spare_subnet.availability_zone, "us-east-1c");
    bed.set_ip(ORDERS, [10, 0, 3, 5]);
    let summary = rds_event(
        &bed.ctx,
        rds_event_at(
            "rds-instance-failover-completed-0049.json",
            "2026-11-30T10:00:00Z",
        ),
    )
    .await;
    assert_eq!(summary["routes"][0]["registered"], json!(["10.0.3.5"]));
    assert_eq!(bed.targets(&route).await, ["10.0.3.5:5432"]);

    let report = audit(&bed.ctx).await;
    let not_serving = &report["routes_not_serving"];
    assert_eq!(not_serving[0]["route_id"], "orders", "{report:#}");
    assert_eq!(not_serving[0]["health"], "not_serving");
    let reason = not_serving[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("10.0.3.5") && reason.contains("Availability Zone"),
        "{reason}"
    );
    let target: &Value = report["targets_not_serving"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ip"] == "10.0.3.5")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(target["state"], "unused");
    assert_eq!(target["reason"], "Target.NotInUse");

    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(body["status"], "active");
    assert_eq!(body["health"]["health"], "not_serving", "{body:#}");
    let t = body["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ip"] == "10.0.3.5")
        .unwrap_or_else(|| panic!("{body:#}"));
    assert_eq!(
        (t["state"].as_str(), t["reason"].as_str()),
        (Some("unused"), Some("Target.NotInUse"))
    );
    assert_eq!(t["availability_zone"], "us-east-1c", "AZ as ELB reports it");
}

/// Case 5: the name starts answering a public address. It is never registered (the old target
/// stays), and the audit report, its metric and the route all say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_address_is_reported_by_the_audit_and_the_route() {
    let bed = Bed::start("refused").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [8, 8, 8, 8]);

    let report = audit(&bed.ctx).await;
    assert_eq!(
        report["refused_addresses"],
        json!([{"route_id": "orders", "ip": "8.8.8.8", "why": "not_private"}]),
        "{report:#}"
    );
    assert_eq!(
        bed.targets(&route).await,
        ["10.1.2.3:5432"],
        "old target kept"
    );
    let not_serving = &report["routes_not_serving"][0];
    assert_eq!(not_serving["route_id"], "orders");
    assert!(not_serving["reason"].as_str().unwrap().contains("8.8.8.8"));

    // An admin sees the refused address; its owner (no admin) sees that there is one, not
    // which (issue #28: a route is no probe of what a name answers).
    let (_, body) =
        router_tests::handlers::get_route_as(&bed.ctx, "orders", router_tests::fixtures::ADMIN)
            .await;
    assert_eq!(
        body["refused"],
        json!([{"ip": "8.8.8.8", "why": "not_private"}]),
        "{body:#}"
    );
    assert_ne!(body["health"]["health"], "serving");
    assert!(body["health"]["reason"]
        .as_str()
        .unwrap()
        .contains("8.8.8.8"));
    let (_, owner) = get_route(&bed.ctx, "orders").await;
    assert_ne!(owner["health"]["health"], "serving", "{owner:#}");
    assert!(!owner.to_string().contains("8.8.8.8"), "{owner:#}");
    assert!(
        owner["health"]["reason"]
            .as_str()
            .unwrap()
            .contains("1 address(es) that may not be targets"),
        "{owner:#}"
    );

    // Every run reports it again, for as long as DNS answers it.
    let again = audit(&bed.ctx).await;
    assert_eq!(again["refused_addresses"][0]["ip"], "8.8.8.8");
}
