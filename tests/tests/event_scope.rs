//! Events reach exactly the database they name, and every event that moves an address acts
//! (issue #14): end to end through the real `rds-events`, `dns-audit` and `routes-api`
//! handlers, the SDK, moto and the loopback DNS server.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use privatelink_router::domain::rds_events::{classify, Action as EventAction, EVENT_IDS};
use privatelink_router::domain::route::RouteStatus;
use router_tests::fixtures::{Bed, ACCOUNT};
use router_tests::handlers::{audit, rds_event, rds_event_at, sample};
use serde_json::{json, Value};

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
const OTHER_ACCOUNT: &str = "210987654321";

/// Points `host` at `ip` after `delay`, as DNS does some time after the event.
fn flip_later(bed: &Bed, host: &'static str, ip: [u8; 4], delay: Duration) {
    let dns = bed.dns.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        dns.set_a(host, &[Ipv4Addr::from(ip)]);
    });
}

/// Case 1: an RDS-EVENT-0003 from another allowed account, for its own `orders-db`, must not
/// touch our `orders` route — whether the route names its account or the account is unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_deletion_of_a_same_named_database_leaves_our_route_untouched() {
    let accounts = format!("{ACCOUNT},{OTHER_ACCOUNT}");
    let bed = Bed::start_with(
        "scope-delete",
        &[
            ("ROUTER_EVENT_ACCOUNTS", &accounts),
            ("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2"),
        ],
    )
    .await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let known = bed
        .add_route_in("orders", ORDERS, 5432, Some(ACCOUNT))
        .await;
    assert_eq!(known.spec.account.as_deref(), Some(ACCOUNT));
    let unknown = bed.add_route_in("orders-copy", ORDERS, 5432, None).await;
    assert_eq!(
        unknown.spec.account, None,
        "moto has no orders-db to learn it from"
    );

    let summary = rds_event(
        &bed.ctx,
        sample("rds-other-account-instance-deleted-0003.json"),
    )
    .await;
    for route in ["orders", "orders-copy"] {
        let stored = bed.route(route).await;
        assert_eq!(stored.status, RouteStatus::Active, "{route}: {summary:#}");
        assert_eq!(bed.targets(&stored).await, ["10.1.2.3:5432"], "{route}");
    }
    let report = |id: &str| {
        summary["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["route_id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(report("orders")["result"], "skipped", "{summary:#}");
    assert!(report("orders")["reason"]
        .as_str()
        .unwrap()
        .contains(OTHER_ACCOUNT));
    // The unknown-account route was re-resolved (harmless), not deleted: its name resolves.
    assert_eq!(
        report("orders-copy")["status_after"],
        "active",
        "{summary:#}"
    );

    let after = audit(&bed.ctx).await;
    assert_eq!(after["errors"], json!([]));
    assert_eq!(bed.route("orders").await.status, RouteStatus::Active);
}

/// The same deletion from the route's own account ends it; a route of unknown account is
/// treated as deleted only when its own name stops resolving (NXDOMAIN confirmed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_acts_on_an_exact_match_or_on_a_confirmed_nxdomain() {
    let bed = Bed::start_with(
        "scope-delete-own",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")],
    )
    .await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed
        .add_route_in("orders", ORDERS, 5432, Some(ACCOUNT))
        .await;
    let summary = rds_event(&bed.ctx, sample("rds-instance-deleted-0003.json")).await;
    assert_eq!(
        bed.route("orders").await.status,
        RouteStatus::SourceDeleted,
        "{summary:#}"
    );
    assert!(bed.targets(&route).await.is_empty());

    const OTHER: &str = "ledger-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(OTHER, [10, 1, 4, 4]);
    let unknown = bed.add_route_in("ledger", OTHER, 5432, None).await;
    let mut event = rds_event_at("rds-instance-deleted-0003.json", "2026-11-30T11:00:00Z");
    event["detail"]["SourceIdentifier"] = json!("ledger-db");
    event["detail"]["SourceArn"] = json!("arn:aws:rds:us-east-1:123456789012:db:ledger-db");
    event["resources"] = json!(["arn:aws:rds:us-east-1:123456789012:db:ledger-db"]);
    // Still resolving: not deleted.
    rds_event(&bed.ctx, event.clone()).await;
    assert_eq!(bed.route("ledger").await.status, RouteStatus::Active);
    // The name is gone (NXDOMAIN) when the deletion arrives again: deleted.
    bed.dns.remove(OTHER);
    event["time"] = json!("2026-11-30T11:05:00Z");
    event["detail"]["Date"] = json!("2026-11-30T11:05:00Z");
    let summary = rds_event(&bed.ctx, event).await;
    assert_eq!(
        bed.route("ledger").await.status,
        RouteStatus::SourceDeleted,
        "{summary:#}"
    );
    assert!(bed.targets(&unknown).await.is_empty());
}

/// Case 2: the router's own account is accepted even when the configured list names only
/// other accounts (Terraform's `event_source_accounts`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routers_own_account_is_always_accepted() {
    let bed = Bed::start_with("scope-own", &[("ROUTER_EVENT_ACCOUNTS", OTHER_ACCOUNT)]).await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 1, 7, 7]);
    let summary = rds_event(
        &bed.ctx,
        sample("rds-instance-failover-completed-0049.json"),
    )
    .await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert_eq!(bed.targets(&route).await, ["10.1.7.7:5432"]);
}

/// Case 3: an instance started (RDS-EVENT-0088) and an instance class change finished
/// (RDS-EVENT-0014) move the address: the targets follow within the invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_started_and_class_change_events_move_the_targets() {
    let bed = Bed::start("scope-move").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    for (file, ip) in [
        ("rds-instance-started-0088.json", [10, 1, 8, 8]),
        ("rds-instance-class-changed-0014.json", [10, 1, 9, 9]),
    ] {
        flip_later(&bed, ORDERS, ip, Duration::from_millis(800));
        let started = Instant::now();
        let summary = rds_event(&bed.ctx, sample(file)).await;
        assert_eq!(summary["decision"], "handled", "{file}: {summary:#}");
        assert_eq!(summary["action"], "move", "{file}");
        assert_eq!(
            bed.targets(&route).await,
            [format!("{}:5432", Ipv4Addr::from(ip))],
            "{file}: {summary:#}"
        );
        eprintln!("{file}: event → converged {:?}", started.elapsed());
    }
}

/// An event ID the table does not know, for a routed database, is re-resolved once — never
/// silently ignored — and the whole table classifies every ID it lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_event_ids_of_routed_databases_are_re_resolved_and_the_table_is_whole() {
    for (id, source, action, why) in EVENT_IDS {
        assert_eq!(classify(id, source), *action, "{id} {source}");
        assert!(!why.is_empty(), "{id} has no reason");
    }
    assert_eq!(classify("RDS-EVENT-0088", "db-instance"), EventAction::Move);
    assert_eq!(classify("RDS-EVENT-0014", "db-instance"), EventAction::Move);
    assert_eq!(
        classify("RDS-EVENT-9999", "db-instance"),
        EventAction::Reresolve
    );

    let bed = Bed::start("scope-unknown").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.set_ip(ORDERS, [10, 1, 6, 6]);
    let mut event = sample("rds-instance-failover-completed-0049.json");
    event["detail"]["EventID"] = json!("RDS-EVENT-9999");
    let summary = rds_event(&bed.ctx, event).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert!(bed
        .targets(&route)
        .await
        .contains(&"10.1.6.6:5432".to_owned()));
}

/// Case 4: someone replaces the route's listener by hand with an untagged one on the same
/// port; then DNS moves with no event. The audit and `sync` report the conflict and still make
/// the targets follow DNS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_conflict_is_reported_and_targets_still_follow_dns() {
    let bed = Bed::start("scope-conflict").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    bed.replace_listener_by_hand(&route).await;
    bed.set_ip(ORDERS, [10, 1, 5, 5]);

    let report = audit(&bed.ctx).await;
    let conflict = &report["conflicts"][0];
    assert_eq!(conflict["route_id"], "orders", "{report:#}");
    assert!(conflict["conflict"]
        .as_str()
        .unwrap()
        .contains(&route.listener_port.to_string()));
    assert!(
        bed.targets(&route)
            .await
            .contains(&"10.1.5.5:5432".to_owned()),
        "the audit repaired the targets: {report:#}"
    );
    assert!(
        bed.route("orders").await.conflict.is_some(),
        "the route records the conflict"
    );

    bed.set_ip(ORDERS, [10, 1, 6, 6]);
    let caller = Bed::owner();
    let outcome = privatelink_router::flows::service::sync(&bed.ctx, &caller, "orders")
        .await
        .expect("sync repairs targets despite the conflict");
    assert!(
        outcome.conflicts[0].contains("does not own"),
        "{:?}",
        outcome.conflicts
    );
    assert!(bed
        .targets(&route)
        .await
        .contains(&"10.1.6.6:5432".to_owned()));
}

/// A JSON value as the DynamoDB attribute serde_dynamo writes for it.
fn attribute(v: &Value) -> aws_sdk_dynamodb::types::AttributeValue {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        Value::Null => A::Null(true),
        Value::Bool(b) => A::Bool(*b),
        Value::Number(n) => A::N(n.to_string()),
        Value::String(s) => A::S(s.clone()),
        Value::Array(a) => A::L(a.iter().map(attribute).collect()),
        Value::Object(o) => A::M(o.iter().map(|(k, v)| (k.clone(), attribute(v))).collect()),
    }
}

/// Routes written before routes knew their database's account — exactly the attributes the
/// previous version stored, sightings as bare counts, the same `by_rds` index key — still
/// load, and events still find them (as routes of unknown account).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_stored_in_the_previous_format_load_and_events_still_find_them() {
    let bed = Bed::start("scope-legacy").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let created = bed.add_route("legacy", ORDERS, 5432).await;
    // The item as the previous version wrote it.
    let old = json!({
        "pk": "ROUTE#legacy", "sk": "ROUTE", "gsi1pk": "ROUTES", "gsi1sk": "legacy",
        "rds_key": "orders-db",
        "id": "legacy", "host": ORDERS, "port": 5432, "protocol": "TCP",
        "health_check": {"interval_seconds": 10, "timeout_seconds": 5, "healthy_threshold": 3, "unhealthy_threshold": 3},
        "tags": {}, "rds_identifier": "orders-db",
        "owner": created.owner, "router": created.router, "listener_port": created.listener_port,
        "status": "active",
        "target_group_arn": created.target_group_arn, "listener_arn": created.listener_arn,
        "sightings": {"10.1.2.3": 0},
        "resolutions": [{"at": "2026-11-25T10:00:00Z", "ips": ["10.1.2.3"], "error": null}],
        "last_event_at": null,
        "created_at": "2026-11-25T09:00:00Z", "updated_at": "2026-11-25T10:00:00Z",
        "version": created.version + 1,
    });
    let Value::Object(fields) = &old else {
        unreachable!()
    };
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .set_item(Some(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        ))
        .send()
        .await
        .expect("old-format item written");

    let loaded = bed.route("legacy").await;
    assert_eq!(loaded.spec.account, None);
    assert_eq!(loaded.status, RouteStatus::Active);
    assert_eq!(loaded.sightings.ips().len(), 1);
    bed.set_ip(ORDERS, [10, 1, 7, 7]);
    let summary = rds_event(
        &bed.ctx,
        sample("rds-instance-failover-completed-0049.json"),
    )
    .await;
    assert_eq!(summary["routes"][0]["route_id"], "legacy", "{summary:#}");
    assert_eq!(bed.targets(&loaded).await, ["10.1.7.7:5432"]);
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
}
