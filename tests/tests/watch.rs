//! The minute DNS watch (issue #16): through the real `dns-audit` handler, the SDK and moto, a
//! run where nothing moved makes no ELBv2 call and no write; a moved route alone is reconciled.

use router_tests::fixtures::Bed;
use router_tests::handlers::{audit, watch};
use serde_json::Value;

const ELB_AND_WRITES: &[&str] = &[
    "DescribeTargetHealth",
    "DescribeTargetGroups",
    "DescribeListeners",
    "DescribeTargetGroupAttributes",
    "RegisterTargets",
    "DeregisterTargets",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
];

fn calls(report: &Value, op: &str) -> u64 {
    report["aws_calls"][op].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_where_nothing_moved_makes_no_elb_call_and_no_write() {
    let bed = Bed::start("watch").await;
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        bed.set_ip(&format!("{name}.db.test"), [10, 4, 0, i as u8 + 1]);
        bed.add_route(name, &format!("{name}.db.test"), 5432).await;
    }
    audit(&bed.ctx).await;
    let quiet = watch(&bed.ctx).await;
    assert_eq!(quiet["mode"], "watch");
    assert_eq!(quiet["routes_watched"], 3, "{quiet:#}");
    assert_eq!(
        quiet["routes_reconciled"],
        serde_json::json!([]),
        "{quiet:#}"
    );
    for op in ELB_AND_WRITES {
        assert_eq!(calls(&quiet, op), 0, "{op}: {quiet:#}");
    }
    assert!(calls(&quiet, "Query") <= 2, "{quiet:#}");

    // b moves: only b is reconciled, with at most 3 ELBv2 calls.
    bed.set_ip("b.db.test", [10, 4, 0, 99]);
    let moved = watch(&bed.ctx).await;
    assert_eq!(
        moved["routes_reconciled"],
        serde_json::json!(["b"]),
        "{moved:#}"
    );
    let elb: u64 = ELB_AND_WRITES[..6].iter().map(|op| calls(&moved, op)).sum();
    assert!(elb <= 3, "{moved:#}");
    let b = bed.route("b").await;
    assert!(bed.targets(&b).await.contains(&"10.4.0.99:5432".to_owned()));
    // The old IP leaves once the window lets it go; then the watch is quiet again.
    let mut runs = 0;
    loop {
        let r = watch(&bed.ctx).await;
        runs += 1;
        if r["routes_reconciled"] == serde_json::json!([]) {
            for op in ELB_AND_WRITES {
                assert_eq!(calls(&r, op), 0, "{op}: {r:#}");
            }
            break;
        }
        assert!(runs < 6, "the window never settled: {r:#}");
    }
    assert_eq!(bed.targets(&b).await, ["10.4.0.99:5432"]);
}

/// One full audit at a time: while another run holds the lease, a run does nothing and says
/// so; once released, runs work again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_that_finds_the_lease_held_does_nothing_and_says_so() {
    use privatelink_router::adapters::aws::store::lease::Lease;
    use std::time::Duration;
    let bed = Bed::start("lease").await;
    bed.set_ip("a.db.test", [10, 4, 1, 1]);
    bed.add_route("a", "a.db.test", 5432).await;
    let held = Lease::take(&bed.ctx.store, "full", Duration::from_secs(600))
        .await
        .unwrap()
        .map_err(|_| "free")
        .unwrap();
    let report = audit(&bed.ctx).await;
    assert!(
        report["skipped"]
            .as_str()
            .unwrap()
            .contains("holds the lease"),
        "{report:#}"
    );
    assert_eq!(calls(&report, "DescribeTargetHealth"), 0, "{report:#}");
    held.release(&bed.ctx.store).await.unwrap();
    let report = audit(&bed.ctx).await;
    assert!(report.get("skipped").is_none(), "{report:#}");
    assert_eq!(calls(&report, "DescribeTargetHealth"), 1, "{report:#}");
}

/// Found by a review: a reader endpoint answering one member per query is not "moved" while
/// its answers stay within the window (no ELBv2 call, no write); a changed refused address is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_readers_are_quiet_and_a_new_refused_address_is_followed() {
    let bed = Bed::start_with("watch-rr", &[("ROUTER_RDS_MEMBERSHIP", "false")]).await;
    let reader = "rr.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.dns.set_round_robin(
        reader,
        &["10.4.2.1".parse().unwrap(), "10.4.2.2".parse().unwrap()],
    );
    bed.add_route("rr", reader, 5432).await;
    audit(&bed.ctx).await;
    for _ in 0..4 {
        let r = watch(&bed.ctx).await;
        assert_eq!(r["routes_reconciled"], serde_json::json!([]), "{r:#}");
        for op in ELB_AND_WRITES {
            assert_eq!(calls(&r, op), 0, "{op}: {r:#}");
        }
    }
    bed.dns.set_a(
        "pub.db.test",
        &["10.4.3.1".parse().unwrap(), "8.8.8.8".parse().unwrap()],
    );
    bed.add_route("pub", "pub.db.test", 5432).await;
    audit(&bed.ctx).await;
    bed.dns.set_a(
        "pub.db.test",
        &["10.4.3.1".parse().unwrap(), "1.1.1.1".parse().unwrap()],
    );
    let r = watch(&bed.ctx).await;
    assert_eq!(r["routes_reconciled"], serde_json::json!(["pub"]), "{r:#}");
    assert_eq!(bed.route("pub").await.refused[0].ip.to_string(), "1.1.1.1");
}

/// Found by a review: a reconcile that stored its plan but could not apply it (ELBv2 failed)
/// flags the route, so the next watch retries it although DNS did not move again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_stored_but_not_applied_is_retried_by_the_next_watch() {
    use privatelink_router::adapters::aws::store::RouteStore;
    let bed = Bed::start("watch-unapplied").await;
    bed.set_ip("u.db.test", [10, 4, 7, 1]);
    let route = bed.add_route("u", "u.db.test", 5432).await;
    audit(&bed.ctx).await;
    // As a failed apply leaves it: the route remembers A+B, B is not registered, flagged.
    bed.dns.set_a(
        "u.db.test",
        &["10.4.7.1".parse().unwrap(), "10.4.7.2".parse().unwrap()],
    );
    let mut stored = bed.route("u").await;
    stored.sightings = {
        let mut s = privatelink_router::domain::window::Sightings::default();
        s.record(
            &["10.4.7.1".parse().unwrap(), "10.4.7.2".parse().unwrap()].into(),
            0,
            privatelink_router::domain::window::Retention::Lookups(3),
        );
        s
    };
    stored.unapplied = true;
    stored.version += 1;
    bed.ctx.store.save(&stored).await.unwrap();
    let r = watch(&bed.ctx).await;
    assert_eq!(r["routes_reconciled"], serde_json::json!(["u"]), "{r:#}");
    assert!(bed
        .targets(&route)
        .await
        .contains(&"10.4.7.2:5432".to_owned()));
    assert!(!bed.route("u").await.unapplied, "cleared once applied");
    let quiet = watch(&bed.ctx).await;
    assert_eq!(
        quiet["routes_reconciled"],
        serde_json::json!([]),
        "{quiet:#}"
    );
}
