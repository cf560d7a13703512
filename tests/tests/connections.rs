//! Connections that work (issue #29): the listener's idle timeout, honest readiness, the NLB's
//! target quota and why a target is unhealthy, end to end through the real handlers, the SDK,
//! the strict moto (`tests/moto/strict_elbv2.py`) and the loopback DNS server.

use aws_sdk_elasticloadbalancingv2 as elbv2;
use router_tests::fixtures::{Bed, ADMIN, OWNER};
use router_tests::handlers::{audit, get_catalog, get_route, post_route};
use serde_json::{json, Value};

/// The listener's `tcp.idle_timeout.seconds`, read back from moto through the SDK.
async fn idle_timeout_of(bed: &Bed, listener_arn: &str) -> String {
    let out = elbv2::Client::new(&bed.sdk)
        .describe_listener_attributes()
        .listener_arn(listener_arn)
        .send()
        .await
        .expect("listener attributes");
    out.attributes()
        .iter()
        .find(|a| a.key() == Some("tcp.idle_timeout.seconds"))
        .and_then(|a| a.value())
        .expect("the attribute is reported")
        .to_owned()
}

/// Sets the idle timeout by hand, as someone with console access might.
async fn set_idle_timeout_by_hand(bed: &Bed, listener_arn: &str, seconds: &str) {
    elbv2::Client::new(&bed.sdk)
        .modify_listener_attributes()
        .listener_arn(listener_arn)
        .attributes(
            elbv2::types::ListenerAttribute::builder()
                .key("tcp.idle_timeout.seconds")
                .value(seconds)
                .build(),
        )
        .send()
        .await
        .expect("attribute changed by hand");
}

fn route_body(name: &str, host: &str, idle: Option<i64>) -> Value {
    let mut body = json!({"name": name, "host": host, "port": 5432});
    if let Some(idle) = idle {
        body["idle_timeout_seconds"] = idle.into();
    }
    body
}

/// Case 1: a query whose first row takes 10 minutes died at the NLB's default 350 s. A route
/// now carries `idle_timeout_seconds` (60-6000; else the deployment's default), set on its
/// listener when created, repaired by the audit when changed by hand, shown by
/// `GET /routes/{id}` and the catalog; outside the range it is a 422 naming the range. Seeds
/// carry it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_idle_timeout_is_set_on_its_listener_shown_and_repaired() {
    let bed = Bed::start("idle-timeout").await;
    bed.set_ip("warehouse.db.test", [10, 0, 4, 10]);
    bed.set_ip("orders.db.test", [10, 0, 4, 11]);

    for bad in [30, 7000, 0, -1] {
        let (status, body) = post_route(
            &bed.ctx,
            &route_body("warehouse", "warehouse.db.test", Some(bad)),
            OWNER,
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body:#}");
        assert_eq!(body["error"]["code"], "validation_failed", "{body:#}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("idle_timeout_seconds") && message.contains("between 60 and 6000"),
            "{message}"
        );
    }

    // A query job's database: 20 minutes of silence allowed.
    let (status, body) = post_route(
        &bed.ctx,
        &route_body("warehouse", "warehouse.db.test", Some(1200)),
        OWNER,
    )
    .await;
    assert_eq!(status, 201, "{body:#}");
    let warehouse = bed.route("warehouse").await;
    let listener = warehouse.listener_arn.clone().expect("a listener");
    assert_eq!(idle_timeout_of(&bed, &listener).await, "1200");

    // A route that sets none gets the deployment's default, not AWS's 350.
    let (status, body) = post_route(
        &bed.ctx,
        &route_body("orders", "orders.db.test", None),
        OWNER,
    )
    .await;
    assert_eq!(status, 201, "{body:#}");
    let orders = bed.route("orders").await;
    let default = bed.ctx.config.idle_timeout_secs.to_string();
    assert_ne!(default, "350");
    assert_eq!(
        idle_timeout_of(&bed, orders.listener_arn.as_deref().unwrap()).await,
        default
    );

    let (status, body) = get_route(&bed.ctx, "warehouse").await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["idle_timeout_seconds"], 1200, "{body:#}");
    assert_eq!(body["connection"]["idle_timeout_seconds"], 1200, "{body:#}");
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert!(body.get("idle_timeout_seconds").is_none(), "{body:#}");
    assert_eq!(
        body["connection"]["idle_timeout_seconds"], bed.ctx.config.idle_timeout_secs,
        "{body:#}"
    );
    let (status, catalog) = get_catalog(&bed.ctx, ADMIN).await;
    assert_eq!(status, 200, "{catalog:#}");
    let entry = |id: &str| {
        catalog["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["route"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} in {catalog:#}"))
    };
    assert_eq!(entry("warehouse")["idle_timeout_seconds"], 1200);

    // Someone changes the listener by hand: the audit restores the route's (a repair).
    set_idle_timeout_by_hand(&bed, &listener, "600").await;
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(report["repaired"]["idle_timeout_restored"], 1, "{report:#}");
    assert_eq!(idle_timeout_of(&bed, &listener).await, "1200");
    // A listener at AWS's default (350 s: every listener made before this change) gets the
    // route's as a one-time migration, which the `Repairs` alarm leaves out.
    set_idle_timeout_by_hand(&bed, &listener, "350").await;
    let report = audit(&bed.ctx).await;
    assert_eq!(report["repaired"]["idle_timeout_applied"], 1, "{report:#}");
    assert!(
        report["repaired"].get("idle_timeout_restored").is_none(),
        "{report:#}"
    );
    assert_eq!(idle_timeout_of(&bed, &listener).await, "1200");
    let again = audit(&bed.ctx).await;
    assert!(
        again["repaired"].get("idle_timeout_restored").is_none(),
        "{again:#}"
    );

    // A Terraform seed with `idle_timeout_seconds` (as table.tf writes it).
    use aws_sdk_dynamodb::types::AttributeValue::{M, N, S};
    bed.set_ip("seeded.db.test", [10, 0, 4, 12]);
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .item("pk", S("SEEDS".into()))
        .item("sk", S("seeded".into()))
        .item("name", S("seeded".into()))
        .item("host", S("seeded.db.test".into()))
        .item("port", N("5432".into()))
        .item("tags", M(Default::default()))
        .item("idle_timeout_seconds", N("900".into()))
        .item("owner", S("terraform".into()))
        .item("seeded_by", S("terraform".into()))
        .send()
        .await
        .unwrap();
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    let seeded = bed.route("seeded").await;
    assert_eq!(seeded.spec.idle_timeout_seconds, Some(900));
    assert_eq!(
        idle_timeout_of(&bed, seeded.listener_arn.as_deref().unwrap()).await,
        "900"
    );
}

/// The deployment default is validated like a route's: a Terraform typo does not start a
/// router that sets a listener AWS would refuse.
#[test]
fn a_deployment_default_outside_the_range_is_a_configuration_error() {
    use privatelink_router::config::Config;
    let env = |v: &'static str| {
        move |k: &str| {
            match k {
            "ROUTER_TABLE" => Some("t".to_owned()),
            "ROUTER_FLEET" => Some(
                r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/1","endpoint_service_name":"com.amazonaws.vpce.us-east-1.vpce-svc-1"}]"#
                    .to_owned(),
            ),
            "ROUTER_IDLE_TIMEOUT_SECONDS" => Some(v.to_owned()),
            _ => None,
        }
        }
    };
    let err = Config::from_lookup(&env("30")).unwrap_err().to_string();
    assert!(
        err.contains("ROUTER_IDLE_TIMEOUT_SECONDS") && err.contains("between 60 and 6000"),
        "{err}"
    );
    assert_eq!(
        Config::from_lookup(&env("6000")).unwrap().idle_timeout_secs,
        6000
    );
}

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

/// Waits (up to 20 s) until every target of the route is `healthy` in the strict moto.
async fn wait_healthy(bed: &Bed, route: &str) {
    let r = bed.route(route).await;
    let started = std::time::Instant::now();
    loop {
        let states = bed.target_states(&r).await;
        if !states.is_empty() && states.iter().all(|(_, s)| s == "healthy") {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{states:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Case 2: after a failover the new target is `initial` (Elb.RegistrationInProgress) while
/// the old one drains, and the route said `serving`. It is now `degraded`, "registering since"
/// the registration, not alarmed while that is shorter than the bound; the route's arrivals
/// record event → registered and, once a reconcile sees the target `healthy` (the minute
/// watch looks at such routes), event → serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registering_target_is_degraded_since_its_registration_and_its_serving_time_is_recorded()
{
    use router_tests::handlers::{rds_event, rds_event_at, watch};
    let bed = Bed::start("registering").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    bed.add_route("orders", ORDERS, 5432).await;
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(body["health"]["health"], "degraded", "{body:#}");
    wait_healthy(&bed, "orders").await;
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(body["health"]["health"], "serving", "{body:#}");

    // Multi-AZ failover: DNS moves, then RDS-EVENT-0049 arrives.
    bed.set_ip(ORDERS, [10, 1, 7, 7]);
    let event_time = chrono::Utc::now() - chrono::TimeDelta::seconds(2);
    let handled = rds_event(
        &bed.ctx,
        rds_event_at(
            "rds-instance-failover-completed-0049.json",
            &event_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ),
    )
    .await;
    assert_eq!(handled["decision"], "handled", "{handled:#}");
    let (_, body) = get_route(&bed.ctx, "orders").await;
    let health = &body["health"];
    assert_eq!(health["health"], "degraded", "{body:#}");
    assert_eq!(health["registering"], 1, "{body:#}");
    let reason = health["reason"].as_str().unwrap();
    assert!(reason.contains("registering since "), "{reason}");
    let arrival = &body["arrivals"][0];
    assert_eq!(arrival["target"], "10.1.7.7:5432", "{body:#}");
    assert!(arrival.get("serving_at").is_none(), "{body:#}");
    let to_registered = arrival["event_to_registered_ms"].as_i64().unwrap();
    assert!((2000..60_000).contains(&to_registered), "{to_registered}");

    // Registering for seconds is normal: listed, not alarmed.
    let report = audit(&bed.ctx).await;
    assert_eq!(report["routes_not_serving"], json!([]), "{report:#}");
    assert_eq!(report["routes_registering"][0]["route_id"], "orders");
    assert_eq!(report["routes_registering"][0]["overdue"], false);

    // ELB's first health checks pass; the next minute watch stamps the first `healthy`.
    wait_healthy(&bed, "orders").await;
    let watched = watch(&bed.ctx).await;
    assert_eq!(
        watched["routes_reconciled"],
        json!(["orders"]),
        "{watched:#}"
    );
    let route = bed.route("orders").await;
    let arrival = &route.arrivals[0];
    let serving_at = arrival.serving_at.expect("first healthy recorded");
    let to_serving = arrival.to_serving_ms.unwrap();
    // The event's time travels in milliseconds.
    assert!((to_serving - (serving_at - event_time).num_milliseconds()).abs() <= 1);
    assert!(to_serving > to_registered, "{arrival:?}");
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(body["health"]["health"], "serving", "{body:#}");
    // Once served, the watch leaves the route alone again.
    let watched = watch(&bed.ctx).await;
    assert_eq!(watched["routes_reconciled"], json!([]), "{watched:#}");
}

/// Case 2's alarm: a target still `initial` five minutes after its registration is overdue:
/// the audit lists the route in `routes_not_serving` and counts it in
/// `RoutesRegisteringTooLong`. The strict moto keeps a target `initial` for interval x
/// healthy threshold (300 s x 10 here, at the bed's time scale); the registration is moved six
/// minutes back in the stored route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_registering_longer_than_the_bound_is_alarmed() {
    use privatelink_router::adapters::aws::store::RouteStore;
    let bed = Bed::start("registering-long").await;
    bed.set_ip("slow.db.test", [10, 0, 5, 5]);
    let body = json!({"name": "slow", "host": "slow.db.test", "port": 5432,
        "health_check": {"interval_seconds": 300, "timeout_seconds": 10, "healthy_threshold": 10}});
    let (status, created) = post_route(&bed.ctx, &body, OWNER).await;
    assert_eq!(status, 201, "{created:#}");
    let mut route = bed.route("slow").await;
    assert_eq!(route.arrivals.len(), 1, "{route:?}");
    route.arrivals[0].registered_at -= chrono::TimeDelta::minutes(6);
    route.version += 1;
    bed.ctx.store.save(&route).await.unwrap();

    let report = audit(&bed.ctx).await;
    assert_eq!(
        report["routes_registering"][0]["overdue"], true,
        "{report:#}"
    );
    let listed = &report["routes_not_serving"][0];
    assert_eq!(listed["route_id"], "slow", "{report:#}");
    assert_eq!(listed["health"], "degraded");
    let (_, shown) = get_route(&bed.ctx, "slow").await;
    assert_eq!(shown["health"]["registering_overdue"], true, "{shown:#}");
}

/// Fills the bed's NLB with `n` targets of a target group the router does not own (another
/// team's listener on port 19000), outside the VPC (zone `all`), with no deregistration delay.
async fn fill_nlb(bed: &Bed, n: usize) -> (String, Vec<elbv2::types::TargetDescription>) {
    let (tg, _) = bed
        .network
        .foreign_listener(&bed.sdk, &format!("fill-{}", bed.router_id), 19000, 5432)
        .await
        .expect("another team's listener");
    let elb = elbv2::Client::new(&bed.sdk);
    elb.modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            elbv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let targets: Vec<_> = (0..n)
        .map(|i| {
            elbv2::types::TargetDescription::builder()
                .id(format!("10.200.{}.{}", i / 200, i % 200 + 1))
                .port(5432)
                .availability_zone("all")
                .build()
        })
        .collect();
    for chunk in targets.chunks(200) {
        elb.register_targets()
            .target_group_arn(&tg)
            .set_targets(Some(chunk.to_vec()))
            .send()
            .await
            .expect("filling the NLB");
    }
    (tg, targets)
}

/// Case 3: with cross-zone load balancing on, an NLB takes 500 targets in all (a target in N
/// groups counts N times). At 500, a failover's RegisterTargets fails with TooManyTargets:
/// before, an unexplained error and no failover. Now the old target stays (nothing is
/// deregistered before the new one is in), the route is `not_serving` with the reason and the
/// fix, the audit reports it (RoutesNotServing alarms), a sync is a 409 `target_quota_full`,
/// and once there is room the next minute watch moves the route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_nlb_keeps_the_old_target_says_why_and_follows_once_there_is_room() {
    use router_tests::handlers::{rds_event_at, sync_route, watch};
    let bed = Bed::start("quota").await;
    elbv2::Client::new(&bed.sdk)
        .modify_load_balancer_attributes()
        .load_balancer_arn(&bed.network.nlb_arn)
        .attributes(
            elbv2::types::LoadBalancerAttribute::builder()
                .key("load_balancing.cross_zone.enabled")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    let (foreign, filled) = fill_nlb(&bed, 499).await;

    bed.set_ip(ORDERS, [10, 1, 7, 7]);
    let event = rds_event_at(
        "rds-instance-failover-completed-0049.json",
        &chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    );
    let handled = rds_events::handler(
        &bed.ctx,
        rds_events::lambda_runtime::LambdaEvent::new(
            event,
            rds_events::lambda_runtime::Context::default(),
        ),
    )
    .await
    .expect("not an invocation failure: a retry would meet the same quota");
    let report = &handled["routes"][0];
    assert_eq!(report["result"], "target_quota_full", "{handled:#}");
    let line = report["reason"].as_str().unwrap();
    assert!(
        line.contains("holds as many targets as it may")
            && line.contains("its 1 current target(s) stay"),
        "{line}"
    );
    assert_eq!(
        bed.targets(&route).await,
        ["10.1.2.3:5432"],
        "old target kept"
    );
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(body["health"]["health"], "not_serving", "{body:#}");
    let reason = body["health"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("500 here by ROUTER_TARGETS_PER_NLB") && reason.contains("remove routes"),
        "{reason}"
    );
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        report["routes_not_serving"][0]["route_id"], "orders",
        "{report:#}"
    );
    assert_eq!(report["routes_not_serving"][0]["health"], "not_serving");
    // A retry a second later still names the first refusal's time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, body) = sync_route(&bed.ctx, "orders").await;
    assert_eq!(status, 409, "{body:#}");
    assert_eq!(body["error"]["code"], "target_quota_full", "{body:#}");
    assert_eq!(
        bed.route("orders").await.target_quota_full.as_deref(),
        Some(line),
        "the first refusal's time is kept"
    );

    // Another team removes ten targets: the next minute watch registers the new address.
    elbv2::Client::new(&bed.sdk)
        .deregister_targets()
        .target_group_arn(&foreign)
        .set_targets(Some(filled[..10].to_vec()))
        .send()
        .await
        .unwrap();
    let watched = watch(&bed.ctx).await;
    assert_eq!(watched["errors"], json!([]), "{watched:#}");
    assert_eq!(bed.targets(&route).await, ["10.1.7.7:5432"]);
    let stored = bed.route("orders").await;
    assert_eq!(stored.target_quota_full, None);
    let (_, body) = get_route(&bed.ctx, "orders").await;
    assert_ne!(body["health"]["health"], "not_serving", "{body:#}");
}

/// Case 3, placement: a new route goes to a router with room for its targets and a failover
/// of its largest route (500 targets per NLB; a reader endpoint needs one per member), counted
/// from the routes' stored targets. Before, placement counted listeners only and put it on the
/// full NLB. With no router left, the create is refused up front (409 `capacity_exhausted`,
/// naming the counts) and nothing is stored. What the count cannot see (here another team's
/// target group on the same NLB) ELB still refuses: the route is then created `not_serving`
/// with the reason, not answered with a 409 the caller would retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_route_goes_to_a_router_with_room_for_its_targets() {
    use privatelink_router::adapters::aws::clients::Clients;
    use privatelink_router::config::Config;
    use privatelink_router::context::Context;
    use std::net::Ipv4Addr;
    let bed = Bed::start("placement").await;
    // 32 routes of 15 targets: 480 on the bed's router.
    for i in 0..32u8 {
        let host = format!("fill-{i}.placement.test");
        let ips: Vec<Ipv4Addr> = (1..=15).map(|j| Ipv4Addr::new(10, 50, i, j)).collect();
        bed.dns.set_a(&host, &ips);
        bed.add_route(&format!("fill-{i}"), &host, 5432).await;
    }
    let second = bed.network.more_nlbs(&bed.sdk, 1).await.unwrap().remove(0);
    let fleet = json!([
        {"id": bed.router_id, "nlb_arn": bed.network.nlb_arn,
         "endpoint_service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0placementfull0"},
        {"id": "zroomy", "nlb_arn": second,
         "endpoint_service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0placementroom1"},
    ]);
    let context = |fleet: Value| {
        let mut env = bed.env.clone();
        env.insert("ROUTER_FLEET".into(), fleet.to_string());
        let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("config");
        Context::build(config, Clients::from_sdk_config(&bed.sdk))
    };
    // (Placement tries routers in id order: the full one first.)
    let two = context(fleet.clone()).await.unwrap();
    let one = context(json!([fleet[0]])).await.unwrap();
    // Ten readers: 480 + 10 leaves no room for a failover of 15.
    let readers = "readers.placement.test";
    let ten: Vec<Ipv4Addr> = (1..=10).map(|j| Ipv4Addr::new(10, 1, 4, j)).collect();
    bed.dns.set_a(readers, &ten);
    let body = json!({"name": "readers", "host": readers, "port": 5432});
    let (status, created) = post_route(&two, &body, OWNER).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(created["router"], "zroomy", "{created:#}");

    // Only the full router: refused before anything is stored.
    let body = json!({"name": "more", "host": readers, "port": 5432});
    let (status, refused) = post_route(&one, &body, OWNER).await;
    assert_eq!(status, 409, "{refused:#}");
    assert_eq!(
        refused["error"]["code"], "capacity_exhausted",
        "{refused:#}"
    );
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{} (480 of 500 targets)", bed.router_id)),
        "{message}"
    );
    let (status, _) = get_route(&one, "more").await;
    assert_eq!(status, 404);

    // Another team's 20 targets fill the NLB: one more target fits the count, not the NLB.
    fill_nlb(&bed, 20).await;
    bed.set_ip("lone.placement.test", [10, 1, 5, 1]);
    let body = json!({"name": "lone", "host": "lone.placement.test", "port": 5432});
    let (status, created) = post_route(&one, &body, OWNER).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(
        created["arrivals"],
        Value::Null,
        "nothing was registered: {created:#}"
    );
    let (_, shown) = get_route(&one, "lone").await;
    assert_eq!(shown["health"]["health"], "not_serving", "{shown:#}");
    let reason = shown["health"]["reason"].as_str().unwrap();
    assert!(reason.contains("no target until there is room"), "{reason}");

    // After AWS raises the quota, ROUTER_TARGETS_PER_NLB gives placement the room.
    let mut env = bed.env.clone();
    env.insert("ROUTER_FLEET".into(), json!([fleet[0]]).to_string());
    env.insert("ROUTER_TARGETS_PER_NLB".into(), "1000".into());
    let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("config");
    let raised = Context::build(config, Clients::from_sdk_config(&bed.sdk))
        .await
        .unwrap();
    let body = json!({"name": "more", "host": readers, "port": 5432});
    let (status, created) = post_route(&raised, &body, OWNER).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(created["router"], bed.router_id.as_str(), "{created:#}");
}
