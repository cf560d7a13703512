//! The `rds-events` Lambda end to end: each sample in `events/` goes through the real handler
//! (`rds_events::handler`), the real SDK clients, moto and the loopback DNS server.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use privatelink_router::adapters::aws::store::{DynamoStore, RouteStore};
use privatelink_router::domain::route::RouteStatus;
use rds_events::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use router_tests::dns::Mode;
use router_tests::fixtures::{Bed, ACCOUNT};
use serde_json::{json, Value};

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
const BILLING_WRITER: &str = "billing-aurora.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com";
const BILLING_READER: &str = "billing-aurora.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com";
const BILLING_INSTANCE: &str = "billing-aurora-instance-1.c9akciq32abc.us-east-1.rds.amazonaws.com";

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A sample with its event time moved (both the envelope `time` and `detail.Date`).
fn at(mut event: Value, time: &str) -> Value {
    event["time"] = json!(time);
    event["detail"]["Date"] = json!(time);
    event
}

async fn invoke(bed: &Bed, event: Value) -> Value {
    rds_events::handler(&bed.ctx, LambdaEvent::new(event, LambdaContext::default()))
        .await
        .expect("handler succeeds")
}

/// Points `host` at `ip` after `delay`, as DNS does some time after the event.
fn flip_later(bed: &Bed, host: &'static str, ip: [u8; 4], delay: Duration) {
    let dns = bed.dns.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        dns.set_a(host, &[Ipv4Addr::from(ip)]);
    });
}

fn route_report<'a>(summary: &'a Value, route: &str) -> &'a Value {
    summary["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["route_id"] == route)
        .unwrap_or_else(|| panic!("no report for {route} in {summary:#}"))
}

/// Plays `event`, whose DNS record moves 2 s after it arrives, and checks that the targets of
/// `route` moved from `old` to `new` within the invocation. Returns the summary.
async fn flip_follows(
    bed: &Bed,
    route: &str,
    host: &'static str,
    event: Value,
    new: [u8; 4],
) -> Value {
    let before = bed.route(route).await;
    flip_later(bed, host, new, Duration::from_secs(2));
    let started = Instant::now();
    let summary = invoke(bed, event).await;
    let took = started.elapsed();
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert!(
        took >= Duration::from_secs(2),
        "returned before DNS moved: {took:?}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let new_ip = Ipv4Addr::from(new).to_string();
    assert_eq!(
        bed.targets(&before).await,
        vec![format!("{new_ip}:5432")],
        "{summary:#}"
    );
    let report = route_report(&summary, route);
    assert_eq!(report["dns"]["changed"], true);
    assert_eq!(report["registered"], json!([new_ip]));
    assert_eq!(report["deregistered"].as_array().unwrap().len(), 1);
    let after = bed.route(route).await;
    assert_eq!(after.status, RouteStatus::Active);
    assert!(after.last_event_at > before.last_event_at);
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_started_event_waits_for_the_dns_flip_and_moves_targets_in_the_same_invocation() {
    let bed = Bed::start("ev-failover").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);

    let summary = flip_follows(
        &bed,
        "orders",
        ORDERS,
        sample("rds-instance-failover-started-0013.json"),
        [10, 0, 2, 20],
    )
    .await;
    assert_eq!(summary["action"], "move");
    assert_eq!(summary["identifiers"], json!(["orders-db"]));
    let stored = bed.route("orders").await;
    assert_eq!(
        stored.last_event_at.unwrap().to_rfc3339(),
        "2026-11-25T10:00:00.104+00:00",
        "the event's detail.Date is remembered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_completed_after_dns_already_moved_converges_at_once() {
    let bed = Bed::start("ev-failover-done").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);

    let started = Instant::now();
    let summary = invoke(&bed, sample("rds-instance-failover-completed-0049.json")).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.20:5432"]);
    let report = route_report(&summary, "orders");
    assert_eq!(
        report["dns"]["polls"], 1,
        "the first answer already differed"
    );
    assert_eq!(
        report["dns"]["answers"].as_array().unwrap().len(),
        3,
        "K = 3 answers"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aurora_cluster_failover_event_moves_the_writer_endpoint_targets() {
    let bed = Bed::start("ev-aurora").await;
    bed.set_ip(BILLING_WRITER, [10, 0, 1, 30]);
    bed.add_route("billing", BILLING_WRITER, 5432).await;

    let summary = flip_follows(
        &bed,
        "billing",
        BILLING_WRITER,
        sample("rds-cluster-failover-completed-0071.json"),
        [10, 0, 2, 31],
    )
    .await;
    assert_eq!(summary["event"]["source_identifier"], "billing-aurora");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_event_makes_a_round_robin_reader_route_see_every_reader() {
    let bed = Bed::start("ev-reader").await;
    let readers = [
        Ipv4Addr::new(10, 0, 1, 41),
        Ipv4Addr::new(10, 0, 1, 42),
        Ipv4Addr::new(10, 0, 2, 43),
    ];
    bed.dns.set_round_robin(BILLING_READER, &readers);
    let route = bed.add_route("billing-ro", BILLING_READER, 5432).await;
    assert_eq!(bed.targets(&route).await.len(), 1, "one reader per answer");

    let summary = invoke(&bed, sample("rds-cluster-failover-completed-0071.json")).await;
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.0.1.41:5432", "10.0.1.42:5432", "10.0.2.43:5432"],
        "{summary:#}"
    );
    assert!(route_report(&summary, "billing-ro")["deregistered"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_deletion_removes_every_target_marks_source_deleted_and_keeps_the_listener() {
    let bed = Bed::start("ev-delete").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    // The route names its database's account: a deletion from that account ends it at once.
    let route = bed
        .add_route_in("orders", ORDERS, 5432, Some(ACCOUNT))
        .await;

    let summary = invoke(&bed, sample("rds-instance-deleted-0003.json")).await;
    assert_eq!(summary["action"], "deleted");
    assert!(bed.targets(&route).await.is_empty(), "{summary:#}");
    let stored = bed.route("orders").await;
    assert_eq!(stored.status, RouteStatus::SourceDeleted);
    assert_eq!(stored.listener_port, route.listener_port);
    assert!(
        stored.sightings.is_empty(),
        "the deleted database's IPs are forgotten"
    );
    let nlb = &bed.network.nlb_arn;
    let listeners = bed.ctx.elb.listeners(nlb).await.unwrap();
    assert!(
        listeners.iter().any(|l| l.port == route.listener_port
            && l.forward_to.as_deref() == route.target_group_arn.as_deref()),
        "listener kept for a re-created database: {listeners:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_deletion_empties_writer_and_reader_routes() {
    let bed = Bed::start("ev-cl-delete").await;
    bed.set_ip(BILLING_WRITER, [10, 0, 1, 30]);
    bed.set_ip(BILLING_READER, [10, 0, 1, 31]);
    let writer = bed
        .add_route_in("billing", BILLING_WRITER, 5432, Some(ACCOUNT))
        .await;
    let reader = bed
        .add_route_in("billing-ro", BILLING_READER, 5432, Some(ACCOUNT))
        .await;

    let summary = invoke(&bed, sample("rds-cluster-deleted-0171.json")).await;
    assert_eq!(
        summary["routes"].as_array().unwrap().len(),
        2,
        "{summary:#}"
    );
    for (name, route) in [("billing", &writer), ("billing-ro", &reader)] {
        assert!(bed.targets(route).await.is_empty(), "{name}");
        assert_eq!(
            bed.route(name).await.status,
            RouteStatus::SourceDeleted,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_event_activates_a_route_created_before_its_database() {
    let bed = Bed::start("ev-create").await;
    let route = bed.add_route("orders", ORDERS, 5432).await;
    assert_eq!(route.status, RouteStatus::Pending, "NXDOMAIN at creation");
    assert!(bed.targets(&route).await.is_empty());

    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let summary = invoke(&bed, sample("rds-instance-created-0005.json")).await;
    assert_eq!(summary["action"], "created");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);
    let report = route_report(&summary, "orders");
    assert_eq!(report["status_before"], "pending");
    assert_eq!(report["status_after"], "active");
    assert_eq!(bed.route("orders").await.status, RouteStatus::Active);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recreated_database_comes_back_on_the_same_port_and_an_older_creation_is_dropped() {
    let bed = Bed::start("ev-recreate").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed
        .add_route_in("orders", ORDERS, 5432, Some(ACCOUNT))
        .await;
    invoke(&bed, sample("rds-instance-deleted-0003.json")).await;
    bed.dns.remove(ORDERS);

    // The creation sample (09:30) is older than the deletion (11:00): a late replay.
    let summary = invoke(&bed, sample("rds-instance-created-0005.json")).await;
    assert_eq!(route_report(&summary, "orders")["result"], "replay");
    assert_eq!(bed.route("orders").await.status, RouteStatus::SourceDeleted);

    bed.set_ip(ORDERS, [10, 0, 2, 77]);
    let later = at(
        sample("rds-instance-created-0005.json"),
        "2026-11-25T11:30:00.000Z",
    );
    let summary = invoke(&bed, later).await;
    let report = route_report(&summary, "orders");
    assert_eq!(report["status_before"], "source_deleted");
    assert_eq!(report["status_after"], "active");
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.77:5432"]);
    assert_eq!(bed.route("orders").await.listener_port, route.listener_port);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_event_changes_nothing_and_does_not_even_query_dns() {
    let bed = Bed::start("ev-replay").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);
    invoke(&bed, sample("rds-instance-failover-completed-0049.json")).await;
    let stored = bed.route("orders").await;
    let queries = bed.dns.query_count();

    let summary = invoke(&bed, sample("rds-instance-failover-completed-0049.json")).await;
    assert_eq!(route_report(&summary, "orders")["result"], "replay");
    assert_eq!(bed.dns.query_count(), queries);
    assert_eq!(bed.route("orders").await, stored, "not even rewritten");
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.20:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_event_arriving_after_a_newer_one_is_dropped() {
    let bed = Bed::start("ev-order").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);
    invoke(&bed, sample("rds-instance-failover-completed-0049.json")).await;
    let stored = bed.route("orders").await;

    // Failover started (10:00:00) is delivered after failover completed (10:00:41).
    let summary = invoke(&bed, sample("rds-instance-failover-started-0013.json")).await;
    let report = route_report(&summary, "orders");
    assert_eq!(report["result"], "replay");
    assert!(report["reason"].as_str().unwrap().contains("not after"));
    assert_eq!(bed.route("orders").await, stored);
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.20:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_from_an_account_not_allowed_is_refused() {
    let bed = Bed::start("ev-account").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);
    let queries = bed.dns.query_count();

    let summary = invoke(
        &bed,
        sample("rds-other-account-failover-completed-0049.json"),
    )
    .await;
    assert_eq!(summary["decision"], "refused");
    assert!(summary["reason"].as_str().unwrap().contains("210987654321"));
    assert_eq!(bed.dns.query_count(), queries);
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_event_is_dropped_without_failing_the_invocation() {
    let bed = Bed::start("ev-malformed").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;

    let summary = invoke(&bed, sample("rds-malformed.json")).await;
    assert_eq!(summary["decision"], "malformed");
    let reason = summary["reason"].as_str().unwrap();
    assert!(reason.starts_with("detail:"), "{reason}");
    let summary = invoke(&bed, json!(["not", "an", "event"])).await;
    assert_eq!(summary["decision"], "malformed");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_for_unknown_identifiers_and_uninteresting_ids_are_ignored() {
    let bed = Bed::start("ev-unknown").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);

    let mut stranger = sample("rds-instance-failover-completed-0049.json");
    stranger["detail"]["SourceIdentifier"] = json!("inventory-db");
    let summary = invoke(&bed, stranger).await;
    assert_eq!(summary["decision"], "unrouted");
    assert_eq!(summary["identifiers"], json!(["inventory-db"]));

    let mut stopped = sample("rds-instance-failover-completed-0049.json");
    // A backup cannot move an address (RDS-EVENT-0001, "Backing up DB instance").
    stopped["detail"]["EventID"] = json!("RDS-EVENT-0001");
    let summary = invoke(&bed, stopped).await;
    assert_eq!(summary["decision"], "ignored");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_instance_switchover_moves_targets_to_the_former_green_database() {
    let bed = Bed::start("ev-bg-inst").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    bed.add_route("orders", ORDERS, 5432).await;

    let summary = flip_follows(
        &bed,
        "orders",
        ORDERS,
        sample("rds-bluegreen-instance-renamed-0251.json"),
        [10, 0, 1, 77],
    )
    .await;
    assert_eq!(summary["action"], "move");
    let ids = summary["identifiers"].as_array().unwrap();
    assert!(ids.contains(&json!("orders-db")), "{ids:?}");
    println!(
        "blue/green 0251, DNS moving 2 s after the event: event -> converged {} ms",
        summary["elapsed_ms"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_cluster_switchover_moves_the_writer_targets() {
    let bed = Bed::start("ev-bg-cluster").await;
    bed.set_ip(BILLING_WRITER, [10, 0, 1, 30]);
    bed.add_route("billing", BILLING_WRITER, 5432).await;

    flip_follows(
        &bed,
        "billing",
        BILLING_WRITER,
        sample("rds-bluegreen-cluster-renamed-0260.json"),
        [10, 0, 2, 88],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_switchover_completed_moves_the_databases_it_names() {
    let bed = Bed::start("ev-bg-done").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 1, 77]);

    // As delivered, 0248 names only the deployment: the per-resource 0251/0260 carry the names.
    let summary = invoke(&bed, sample("rds-bluegreen-switchover-completed-0248.json")).await;
    assert_eq!(summary["action"], "move");
    assert_eq!(summary["decision"], "unrouted");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);

    // Should it list the database ARNs in `resources`, those routes follow at once.
    let mut naming = sample("rds-bluegreen-switchover-completed-0248.json");
    naming["resources"]
        .as_array_mut()
        .unwrap()
        .push(json!("arn:aws:rds:us-east-1:123456789012:db:orders-db"));
    let summary = invoke(&bed, naming).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.77:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_topology_update_re_resolves_the_instance_endpoint() {
    let bed = Bed::start("ev-topology").await;
    bed.set_ip(BILLING_INSTANCE, [10, 0, 1, 50]);
    bed.add_route("billing-1", BILLING_INSTANCE, 5432).await;

    flip_follows(
        &bed,
        "billing-1",
        BILLING_INSTANCE,
        sample("rds-cluster-topology-updated-0385.json"),
        [10, 0, 2, 51],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_restart_re_resolves_once_and_follows_a_moved_record() {
    // A restart (RDS-EVENT-0006) need not move the address (with a failover RDS also sends
    // 0013/0015/0049): one re-resolution, no polling.
    let bed = Bed::start("ev-restart").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 0, 2, 21]);
    let started = Instant::now();
    let summary = invoke(&bed, sample("rds-instance-restarted-0006.json")).await;
    assert_eq!(summary["action"], "reresolve");
    assert!(started.elapsed() < Duration::from_secs(2), "no DNS polling");
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.0.2.21:5432"],
        "{summary:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_event_without_a_dns_change_re_resolves_once_and_changes_nothing() {
    let bed = Bed::start_with("ev-proxy", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")]).await;
    let host = "orders-proxy.proxy-c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 0, 1, 60]);
    let route = bed.add_route("orders-proxy", host, 5432).await;

    // A proxy target added (RDS-EVENT-0213) may change nothing: re-resolved once, no polling.
    let started = Instant::now();
    let summary = invoke(&bed, sample("rds-proxy-target-added-0213.json")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let report = route_report(&summary, "orders-proxy");
    assert_eq!(report["result"], "reconciled");
    assert_eq!(summary["action"], "reresolve");
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.60:5432"]);
    assert!(
        bed.route("orders-proxy").await.last_event_at.is_some(),
        "the event is remembered even when nothing changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failing_during_the_event_changes_no_target() {
    let bed = Bed::start_with("ev-servfail", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "1")]).await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let route = bed.add_route("orders", ORDERS, 5432).await;

    bed.dns.set_mode(Mode::ServFail);
    let summary = invoke(&bed, sample("rds-instance-failover-completed-0049.json")).await;
    let report = route_report(&summary, "orders");
    assert_eq!(report["dns"]["changed"], false);
    assert!(report["deregistered"].as_array().unwrap().is_empty());
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_store_fails_the_invocation_so_lambda_retries() {
    let bed = Bed::start("ev-awsfail").await;
    let mut ctx = bed.ctx.clone();
    ctx.store = DynamoStore::new(ctx.clients.dynamodb.clone(), "no-such-table");
    let event = sample("rds-instance-failover-completed-0049.json");
    let err = rds_events::handler(&ctx, LambdaEvent::new(event, LambdaContext::default()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DynamoDB"), "{err}");
    assert!(ctx.store.by_rds_identifier("orders-db").await.is_err());
}
