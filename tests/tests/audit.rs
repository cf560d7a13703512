//! The `dns-audit` Lambda end to end: drift is made by hand through the AWS SDK (as an operator
//! in the console would), then the real handler (`dns_audit::handler`) runs against moto and
//! the loopback DNS server, and the result is read back from moto and the table.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_elasticloadbalancingv2 as elbv2;
use dns_audit::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use elbv2::types::{Action, ActionTypeEnum, ProtocolEnum, Tag, TargetDescription, TargetTypeEnum};
use privatelink_router::adapters::aws::clients::{retry_config, timeout_config, Clients};
use privatelink_router::adapters::aws::elb::{
    MANAGED_BY, TAG_DEPLOYMENT, TAG_MANAGED_BY, TAG_ROUTE, TAG_ROUTER,
};
use privatelink_router::adapters::aws::store::DynamoStore;
use privatelink_router::adapters::aws::store::RouteStore;
use privatelink_router::config::{Config, DEFAULT_DEPLOYMENT};
use privatelink_router::context::Context;
use privatelink_router::domain::route::{target_group_name, Route, RouteStatus};
use privatelink_router::flows::service::{self, CreateRequest};
use router_tests::dns::DnsServer;
use router_tests::fixtures::{create_request, Bed};
use router_tests::moto::Moto;
use router_tests::network::Network;
use serde_json::{json, Value};

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One scheduled audit through the real handler.
async fn scheduled(ctx: &Context) -> Value {
    invoke(ctx, sample("audit-scheduled.json")).await
}

async fn invoke(ctx: &Context, event: Value) -> Value {
    dns_audit::handler(ctx, LambdaEvent::new(event, LambdaContext::default()))
        .await
        .expect("audit handler succeeds")
}

fn repaired(report: &Value, kind: &str) -> u64 {
    report["repaired"][kind].as_u64().unwrap_or(0)
}

fn calls(report: &Value, op: &str) -> u64 {
    report["aws_calls"][op].as_u64().unwrap_or(0)
}

fn elb(bed: &Bed) -> elbv2::Client {
    elbv2::Client::new(&bed.sdk)
}

fn tg_of(route: &Route) -> &str {
    route.target_group_arn.as_deref().expect("target group")
}

fn target(ip: &str, port: i32) -> TargetDescription {
    TargetDescription::builder().id(ip).port(port).build()
}

fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

/// Listener port → target group it forwards to, on the bed's NLB.
async fn listeners(bed: &Bed) -> BTreeMap<i32, String> {
    let out = elb(bed)
        .describe_listeners()
        .load_balancer_arn(&bed.network.nlb_arn)
        .send()
        .await
        .unwrap();
    out.listeners()
        .iter()
        .map(|l| {
            let tg = l.default_actions()[0]
                .target_group_arn()
                .unwrap_or_default();
            (l.port().unwrap(), tg.to_owned())
        })
        .collect()
}

async fn attributes(bed: &Bed, tg: &str) -> BTreeMap<String, String> {
    let out = elb(bed)
        .describe_target_group_attributes()
        .target_group_arn(tg)
        .send()
        .await
        .unwrap();
    out.attributes()
        .iter()
        .map(|a| (a.key().unwrap().to_owned(), a.value().unwrap().to_owned()))
        .collect()
}

async fn health_check_interval(bed: &Bed, tg: &str) -> i32 {
    let out = elb(bed)
        .describe_target_groups()
        .target_group_arns(tg)
        .send()
        .await
        .unwrap();
    out.target_groups()[0]
        .health_check_interval_seconds()
        .unwrap()
}

async fn target_group_exists(bed: &Bed, arn: &str) -> bool {
    elb(bed)
        .describe_target_groups()
        .target_group_arns(arn)
        .send()
        .await
        .is_ok()
}

/// Creates a target group (and optionally a listener on `port`) with the given tags, as a
/// leftover of a route or a stranger's resource would be.
async fn leftover(
    bed: &Bed,
    name: &str,
    tags: &[(&str, &str)],
    port: Option<i32>,
) -> (String, Option<String>) {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect();
    let tg = elb(bed)
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Tcp)
        .port(5432)
        .vpc_id(&bed.network.vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .set_tags(Some(tags.clone()))
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let listener = match port {
        None => None,
        Some(port) => Some(
            elb(bed)
                .create_listener()
                .load_balancer_arn(&bed.network.nlb_arn)
                .protocol(ProtocolEnum::Tcp)
                .port(port)
                .default_actions(forward(&tg))
                .set_tags(Some(tags))
                .send()
                .await
                .unwrap()
                .listeners()[0]
                .listener_arn()
                .unwrap()
                .to_owned(),
        ),
    };
    (tg, listener)
}

fn ips(ips: &[[u8; 4]]) -> Vec<Ipv4Addr> {
    ips.iter().map(|ip| Ipv4Addr::from(*ip)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_repairs_every_kind_of_drift_and_the_next_run_finds_none() {
    let bed = Bed::start("audit-drift").await;
    let hosts = [
        ("lost-listener", [10, 0, 1, 11]),
        ("stranger", [10, 0, 1, 12]),
        ("health", [10, 0, 1, 13]),
        ("delay", [10, 0, 1, 14]),
        ("flipped", [10, 0, 1, 15]),
        ("dead-dns", [10, 0, 1, 16]),
        ("wrong-tg", [10, 0, 1, 17]),
        ("lost-group", [10, 0, 1, 18]),
        ("tidy", [10, 0, 1, 19]),
    ];
    let mut routes = BTreeMap::new();
    for (name, ip) in hosts {
        let host = format!("{name}.db.test");
        bed.set_ip(&host, ip);
        routes.insert(name, bed.add_route(name, &host, 5432).await);
    }
    let elb = elb(&bed);
    let before = listeners(&bed).await;

    // Structural drift, by hand.
    elb.delete_listener()
        .listener_arn(routes["lost-listener"].listener_arn.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(tg_of(&routes["stranger"]))
        .targets(target("10.0.2.99", 5432))
        .send()
        .await
        .unwrap();
    elb.modify_target_group()
        .target_group_arn(tg_of(&routes["health"]))
        .health_check_interval_seconds(30)
        .healthy_threshold_count(5)
        .send()
        .await
        .unwrap();
    elb.modify_target_group_attributes()
        .target_group_arn(tg_of(&routes["delay"]))
        .attributes(
            elbv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("300")
                .build(),
        )
        .attributes(
            elbv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.connection_termination.enabled")
                .value("false")
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.modify_listener()
        .listener_arn(routes["wrong-tg"].listener_arn.as_deref().unwrap())
        .default_actions(forward(tg_of(&routes["tidy"])))
        .send()
        .await
        .unwrap();
    elb.delete_listener()
        .listener_arn(routes["lost-group"].listener_arn.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    elb.delete_target_group()
        .target_group_arn(tg_of(&routes["lost-group"]))
        .send()
        .await
        .unwrap();
    // DNS drift: one record moves, one name dies.
    bed.set_ip("flipped.db.test", [10, 0, 2, 15]);
    bed.dns.remove("dead-dns.db.test");

    let report = scheduled(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(report["routes_seen"], 9);
    assert_eq!(report["routes_audited"], 9);
    assert_eq!(report["complete"], true);
    assert_eq!(repaired(&report, "listener_created"), 2, "{report:#}");
    assert_eq!(repaired(&report, "target_group_created"), 1);
    assert_eq!(repaired(&report, "listener_retargeted"), 1);
    assert_eq!(repaired(&report, "health_check_restored"), 1);
    assert_eq!(repaired(&report, "attributes_restored"), 1);
    assert_eq!(repaired(&report, "targets_deregistered"), 1, "the stranger");
    assert_eq!(
        repaired(&report, "targets_registered"),
        2,
        "the flipped IP and the recreated group's target"
    );
    assert_eq!(
        repaired(&report, "route_record_updated"),
        2,
        "new listener / group ARNs stored"
    );
    assert_eq!(
        report["dns_failures"],
        json!([{"route_id": "dead-dns", "host": "dead-dns.db.test", "failure": "nx_domain", "status": "active"}])
    );
    assert_eq!(report["orphans"]["found"], json!([]));

    // Same ports, each forwarding to its own route's target group.
    let after = listeners(&bed).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for name in routes.keys() {
        let stored = bed.route(name).await;
        assert_eq!(stored.listener_port, routes[name].listener_port, "{name}");
        assert_eq!(
            after[&i32::from(stored.listener_port)],
            tg_of(&stored),
            "{name} forwards to its own group"
        );
    }
    let lost_group = bed.route("lost-group").await;
    assert_ne!(tg_of(&lost_group), tg_of(&routes["lost-group"]));
    assert_eq!(bed.targets(&lost_group).await, vec!["10.0.1.18:5432"]);
    assert_eq!(
        bed.targets(&routes["stranger"]).await,
        vec!["10.0.1.12:5432"]
    );
    assert_eq!(
        health_check_interval(&bed, tg_of(&routes["health"])).await,
        10
    );
    let attrs = attributes(&bed, tg_of(&routes["delay"])).await;
    assert_eq!(attrs["deregistration_delay.timeout_seconds"], "30");
    assert_eq!(
        attrs["deregistration_delay.connection_termination.enabled"],
        "true"
    );
    assert_eq!(
        bed.targets(&routes["flipped"]).await,
        vec!["10.0.1.15:5432", "10.0.2.15:5432"],
        "new IP registered, old kept inside the K-lookup window"
    );
    assert_eq!(
        bed.targets(&routes["dead-dns"]).await,
        vec!["10.0.1.16:5432"],
        "a failed lookup changes nothing"
    );

    bed.set_ip("dead-dns.db.test", [10, 0, 1, 16]);
    let second = scheduled(&bed.ctx).await;
    assert_eq!(second["repaired"], json!({}), "{second:#}");
    assert_eq!(second["routes"], json!([]));
    assert_eq!(second["errors"], json!([]));
    assert_eq!(second["dns_failures"], json!([]));
    assert_eq!(second["orphans"]["found"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reports_the_drift_and_changes_nothing() {
    let bed = Bed::start("audit-dry").await;
    bed.set_ip("orders.db.test", [10, 0, 1, 21]);
    bed.set_ip("billing.db.test", [10, 0, 1, 22]);
    let orders = bed.add_route("orders", "orders.db.test", 5432).await;
    let billing = bed.add_route("billing", "billing.db.test", 5432).await;
    let elb = elb(&bed);
    elb.delete_listener()
        .listener_arn(orders.listener_arn.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(tg_of(&billing))
        .targets(target("10.0.2.98", 5432))
        .send()
        .await
        .unwrap();
    elb.modify_target_group()
        .target_group_arn(tg_of(&billing))
        .health_check_interval_seconds(60)
        .send()
        .await
        .unwrap();
    bed.set_ip("orders.db.test", [10, 0, 2, 21]);
    let stored_before = (bed.route("orders").await, bed.route("billing").await);

    let report = invoke(&bed.ctx, sample("audit-dry-run.json")).await;
    assert_eq!(report["dry_run"], true);
    assert_eq!(repaired(&report, "listener_created"), 1, "{report:#}");
    assert_eq!(repaired(&report, "health_check_restored"), 1);
    assert_eq!(repaired(&report, "targets_registered"), 1);
    assert_eq!(repaired(&report, "targets_deregistered"), 1);
    let writes: Vec<&String> = report["aws_calls"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|op| !op.starts_with("Describe") && *op != "Query" && *op != "GetItem")
        .collect();
    assert!(writes.is_empty(), "dry run wrote: {writes:?}");

    assert_eq!(listeners(&bed).await.len(), 1, "listener still missing");
    assert_eq!(
        bed.targets(&billing).await,
        vec!["10.0.1.22:5432", "10.0.2.98:5432"]
    );
    assert_eq!(health_check_interval(&bed, tg_of(&billing)).await, 60);
    assert_eq!(bed.targets(&orders).await, vec!["10.0.1.21:5432"]);
    assert_eq!(
        (bed.route("orders").await, bed.route("billing").await),
        stored_before
    );

    let real = scheduled(&bed.ctx).await;
    assert_eq!(repaired(&real, "listener_created"), 1);
    assert_eq!(bed.targets(&billing).await, vec!["10.0.1.22:5432"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_orphans_are_reported_then_deleted_after_the_grace_period_and_untagged_groups_survive(
) {
    let bed = Bed::start_with("audit-orphans", &[("ROUTER_ORPHAN_GRACE_SECONDS", "2")]).await;
    bed.set_ip("kept.db.test", [10, 0, 1, 31]);
    bed.set_ip("dropped.db.test", [10, 0, 1, 32]);
    bed.set_ip("also-kept.db.test", [10, 0, 1, 33]);
    let kept = bed.add_route("kept", "kept.db.test", 5432).await;
    let also_kept = bed.add_route("also-kept", "also-kept.db.test", 5432).await;
    let dropped = bed.add_route("dropped", "dropped.db.test", 5432).await;
    // The route item disappears (e.g. its Terraform seed entry was removed): its target group
    // and listener stay behind with our tags.
    bed.ctx.store.delete_route(&dropped).await.unwrap();
    let router = bed.router_id.as_str();
    let (gone_tg, gone_listener) = leftover(
        &bed,
        &target_group_name(DEFAULT_DEPLOYMENT, router, "never-stored"),
        &[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_DEPLOYMENT, DEFAULT_DEPLOYMENT),
            (TAG_ROUTER, router),
            (TAG_ROUTE, "never-stored"),
        ],
        Some(10990),
    )
    .await;
    // Not ours: no managed-by tag, or another deployment's router id.
    let (foreign_tg, _) = leftover(
        &bed,
        &format!("plr-foreign-{}", std::process::id()),
        &[(TAG_ROUTER, router), (TAG_ROUTE, "never-stored")],
        None,
    )
    .await;
    let (other_fleet_tg, _) = leftover(
        &bed,
        &target_group_name(DEFAULT_DEPLOYMENT, "another-fleet", "x"),
        &[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_ROUTER, "another-fleet"),
            (TAG_ROUTE, "x"),
        ],
        None,
    )
    .await;

    let first = scheduled(&bed.ctx).await;
    let found: Vec<(String, String)> = first["orphans"]["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["route_id"].as_str().unwrap().to_owned(),
                o["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = found.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("dropped".to_owned(), "listener".to_owned()),
            ("dropped".into(), "target_group".into()),
            ("never-stored".into(), "listener".into()),
            ("never-stored".into(), "target_group".into()),
        ],
        "{first:#}"
    );
    assert_eq!(
        first["orphans"]["deleted"], 0,
        "younger than the grace period"
    );
    assert!(first["orphans"]["found"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["first_seen"].is_string()));
    assert!(target_group_exists(&bed, &gone_tg).await);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    // A run the budget stops after one route (as a paced run over a large fleet always is)
    // still deletes: orphans are found against the whole route listing.
    let mut starved = bed.ctx.clone();
    starved.config.audit_budget = Duration::ZERO;
    let second = scheduled(&starved).await;
    assert_eq!(second["complete"], false, "{second:#}");
    assert_eq!(second["orphans"]["deleted"], 4, "{second:#}");
    assert_eq!(second["errors"], json!([]));
    assert!(!target_group_exists(&bed, &gone_tg).await);
    assert!(!target_group_exists(&bed, tg_of(&dropped)).await);
    let left = listeners(&bed).await;
    let mut ports = vec![
        i32::from(kept.listener_port),
        i32::from(also_kept.listener_port),
    ];
    ports.sort();
    assert_eq!(left.keys().copied().collect::<Vec<_>>(), ports);
    assert!(!left
        .values()
        .any(|tg| Some(tg.as_str()) == gone_listener.as_deref()));
    assert!(
        target_group_exists(&bed, &foreign_tg).await,
        "no managed-by tag: never touched"
    );
    assert!(
        target_group_exists(&bed, &other_fleet_tg).await,
        "another fleet's router: never touched"
    );
    assert!(target_group_exists(&bed, tg_of(&kept)).await);

    // Once the routes' targets serve, one run stamps their first `healthy` (a route write,
    // issue #29): settle that first, so the run below writes nothing but its own records.
    for route in [&kept, &also_kept] {
        for _ in 0..100 {
            if bed
                .target_states(route)
                .await
                .iter()
                .all(|(_, s)| s == "healthy")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let settle = scheduled(&bed.ctx).await;
    // Its deletions: its own lease and the cursor the starved run left; no first-seen record.
    assert_eq!(calls(&settle, "DeleteItem"), 2, "{settle:#}");
    let third = scheduled(&bed.ctx).await;
    assert_eq!(third["orphans"]["found"], json!([]), "{third:#}");
    assert_eq!(third["repaired"], json!({}));
    // Only the run's own lease (one PutItem, one DeleteItem): nothing else left to clean up.
    assert!(
        calls(&third, "PutItem") + calls(&third, "DeleteItem") == 2,
        "first-seen records were cleaned up: {third:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_out_of_budget_stops_cleanly_and_the_next_run_resumes_after_it() {
    let bed = Bed::start("audit-budget").await;
    for (name, ip) in [("alpha", 41), ("bravo", 42), ("charlie", 43)] {
        let host = format!("{name}.db.test");
        bed.set_ip(&host, [10, 0, 1, ip]);
        bed.add_route(name, &host, 5432).await;
    }
    let charlie = bed.route("charlie").await;
    elb(&bed)
        .register_targets()
        .target_group_arn(tg_of(&charlie))
        .targets(target("10.0.2.97", 5432))
        .send()
        .await
        .unwrap();

    let mut starved = bed.ctx.clone();
    starved.config.audit_budget = Duration::ZERO;
    // Dry runs resume too (issue #17: each stopped at the same route), on their own cursor.
    let dry = invoke(&starved, sample("audit-dry-run.json")).await;
    assert_eq!(
        (dry["resumed_from"].clone(), dry["stopped_at"].clone()),
        (Value::Null, json!("alpha")),
        "{dry:#}"
    );
    let dry = invoke(&starved, sample("audit-dry-run.json")).await;
    assert_eq!(
        (dry["resumed_from"].clone(), dry["stopped_at"].clone()),
        (json!("alpha"), json!("bravo")),
        "{dry:#}"
    );
    let first = scheduled(&starved).await;
    assert_eq!(first["complete"], false, "{first:#}");
    assert_eq!(first["routes_seen"], 3);
    assert_eq!(first["routes_audited"], 1);
    assert_eq!(first["resumed_from"], Value::Null);
    assert_eq!(first["stopped_at"], "alpha");
    assert_eq!(first["repaired"], json!({}), "charlie not reached yet");
    assert_eq!(
        bed.targets(&charlie).await,
        vec!["10.0.1.43:5432", "10.0.2.97:5432"]
    );

    let second = scheduled(&starved).await;
    assert_eq!(second["resumed_from"], "alpha");
    assert_eq!(second["stopped_at"], "bravo", "{second:#}");

    let third = scheduled(&starved).await;
    assert_eq!(third["resumed_from"], "bravo");
    assert_eq!(third["stopped_at"], "charlie");
    assert_eq!(repaired(&third, "targets_deregistered"), 1, "{third:#}");
    assert_eq!(bed.targets(&charlie).await, vec!["10.0.1.43:5432"]);

    let full = scheduled(&bed.ctx).await;
    assert_eq!(full["resumed_from"], "charlie", "wraps around to the start");
    assert_eq!(full["complete"], true);
    assert_eq!(full["routes_audited"], 3);
    assert_eq!(full["stopped_at"], Value::Null);
    let after = scheduled(&bed.ctx).await;
    assert_eq!(
        after["resumed_from"],
        Value::Null,
        "a complete run clears the cursor"
    );
}

/// A two-router context on a moto server of its own, so that no other test's resources show up
/// in its call counts.
async fn isolated(name: &str) -> (Moto, DnsServer, Context) {
    let moto = Moto::start().await.expect("moto starts");
    let sdk = moto
        .sdk_config()
        .await
        .into_builder()
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .build();
    let dns = DnsServer::start().await.expect("dns starts");
    let mut fleet = Vec::new();
    for r in 0..2 {
        let net = Network::create(&sdk, &format!("{name}{r}")).await.unwrap();
        fleet.push(json!({"id": format!("r{r}"), "nlb_arn": net.nlb_arn, "endpoint_service_name": format!("svc-{r}")}));
    }
    let env = BTreeMap::from([
        ("ROUTER_TABLE", name.to_owned()),
        ("ROUTER_FLEET", Value::from(fleet).to_string()),
        ("ROUTER_DNS_SERVERS", dns.addr().to_string()),
        (
            "ROUTER_CALLER_GRANTS",
            router_tests::fixtures::TEST_GRANTS.to_owned(),
        ),
    ]);
    let config = Config::from_lookup(&|k| env.get(k).cloned()).unwrap();
    let clients = Clients::from_sdk_config(&sdk);
    DynamoStore::new(clients.dynamodb.clone(), name)
        .create_table()
        .await
        .unwrap();
    let ctx = Context::build(config, clients).await.unwrap();
    (moto, dns, ctx)
}

/// Waits (up to 20 s) until every target of every route is `healthy` in the strict moto.
async fn wait_until_all_healthy(ctx: &Context) {
    use privatelink_router::adapters::aws::elb::Targets;
    let started = std::time::Instant::now();
    loop {
        let (routes, _) = service::list(ctx, &Bed::owner(), &Default::default())
            .await
            .unwrap();
        let mut all = true;
        for r in &routes {
            let tg = r.target_group_arn.as_deref().unwrap();
            let states = ctx.elb.describe_targets(tg).await.unwrap();
            all &= states.iter().all(|t| t.state == "healthy");
        }
        if all {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "targets never healthy"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_drift_reads_each_group_once_and_writes_nothing() {
    let (_moto, dns, ctx) = isolated("audit-floor").await;
    for (name, ip) in [("one", 51), ("two", 52), ("three", 53), ("four", 54)] {
        let host = format!("{name}.db.test");
        dns.set_a(&host, &[Ipv4Addr::new(10, 0, 1, ip)]);
        let req = CreateRequest {
            name: name.into(),
            host,
            port: 5432,
            protocol: None,
            health_check: None,
            tags: BTreeMap::new(),
            rds_identifier: None,
            account_id: None,
            rds_arn: None,
            listener_port: None,
            router: None,
            target_group: None,
            tls_name: false,
            engine: None,
            idle_timeout_seconds: None,
        };
        service::create(&ctx, &Bed::owner(), &req).await.unwrap();
    }
    dns.set_a("four.db.test", &ips(&[[10, 0, 1, 54], [10, 20, 0, 54]]));
    let settle = scheduled(&ctx).await;
    assert_eq!(repaired(&settle, "targets_registered"), 1, "{settle:#}");
    // The first audit that sees a new target `healthy` stores when (the route's arrivals):
    // one write per registration, once.
    wait_until_all_healthy(&ctx).await;
    scheduled(&ctx).await;

    let report = scheduled(&ctx).await;
    assert_eq!(report["repaired"], json!({}), "{report:#}");
    let calls: BTreeMap<String, u64> = serde_json::from_value(report["aws_calls"].clone()).unwrap();
    assert_eq!(
        calls,
        BTreeMap::from([
            ("Query".to_owned(), 3), // seeds, the audit's own state, one page of routes
            ("DescribeTargetGroups".to_owned(), 1),
            ("DescribeListeners".to_owned(), 2), // one per router (the second has no routes)
            ("DescribeTargetHealth".to_owned(), 4), // one per target group
            ("DescribeTargetGroupAttributes".to_owned(), 4), // no batch read exists
            ("DescribeListenerAttributes".to_owned(), 4), // the idle timeout: no batch either
            ("PutItem".to_owned(), 1),           // the run's lease: one full audit at a time
            ("DeleteItem".to_owned(), 1),        // ... given back at the end
        ]),
        "{report:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_routes_are_finished_and_routes_in_progress_are_left_alone() {
    let bed = Bed::start("audit-stuck").await;
    bed.set_ip("doomed.db.test", [10, 0, 1, 61]);
    bed.set_ip("busy.db.test", [10, 0, 1, 62]);
    bed.set_ip("half.db.test", [10, 0, 1, 63]);
    let doomed = bed.add_route("doomed", "doomed.db.test", 5432).await;
    let busy = bed.add_route("busy", "busy.db.test", 5432).await;
    let half = bed.add_route("half", "half.db.test", 5432).await;
    let long_ago = bed.route("busy").await.updated_at - Duration::from_secs(600);

    // A delete that died after marking the route.
    let mut d = bed.route("doomed").await;
    d.status = RouteStatus::Deleting;
    d.version += 1;
    d.updated_at = long_ago;
    bed.ctx.store.save(&d).await.unwrap();
    // A delete that is running right now.
    let mut b = bed.route("busy").await;
    b.status = RouteStatus::Deleting;
    b.version += 1;
    bed.ctx.store.save(&b).await.unwrap();
    // A create that died after allocating: no resources yet.
    let elb = elb(&bed);
    elb.delete_listener()
        .listener_arn(half.listener_arn.as_deref().unwrap())
        .send()
        .await
        .unwrap();
    elb.delete_target_group()
        .target_group_arn(tg_of(&half))
        .send()
        .await
        .unwrap();
    let mut h = bed.route("half").await;
    h.status = RouteStatus::Provisioning;
    h.target_group_arn = None;
    h.listener_arn = None;
    h.version += 1;
    h.updated_at = long_ago;
    bed.ctx.store.save(&h).await.unwrap();

    let report = scheduled(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(repaired(&report, "deletion_finished"), 1);
    assert_eq!(repaired(&report, "provisioning_finished"), 1);
    assert_eq!(report["routes_in_progress"], 1);
    let id = |s: &str| privatelink_router::domain::route::RouteId::parse(s).unwrap();
    assert!(bed.ctx.store.get(&id("doomed")).await.unwrap().is_none());
    assert!(!target_group_exists(&bed, tg_of(&doomed)).await);
    assert_eq!(bed.route("busy").await.status, RouteStatus::Deleting);
    assert!(target_group_exists(&bed, tg_of(&busy)).await);
    let finished = bed.route("half").await;
    assert_eq!(finished.status, RouteStatus::Active);
    assert_eq!(finished.listener_port, half.listener_port, "same port");
    assert_eq!(bed.targets(&finished).await, vec!["10.0.1.63:5432"]);
    assert_eq!(
        report["orphans"]["found"],
        json!([]),
        "a route being deleted is not an orphan"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terraform_seed_becomes_a_route_with_a_port_and_its_resources_in_one_run() {
    let bed = Bed::start("audit-seeded").await;
    bed.set_ip("seeded.db.test", [10, 0, 1, 71]);
    // The seed exactly as infra/modules/privatelink-router/table.tf writes it.
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: &str| AttributeValue::N(v.into());
    let hc = AttributeValue::M(
        [
            ("interval_seconds", n("10")),
            ("timeout_seconds", n("5")),
            ("healthy_threshold", n("3")),
            ("unhealthy_threshold", n("3")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    );
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .item("pk", s("SEEDS"))
        .item("sk", s("seeded"))
        .item("name", s("seeded"))
        .item("host", s("seeded.db.test"))
        .item("port", n("5432"))
        .item("health_check", hc)
        .item("tags", AttributeValue::M(Default::default()))
        .item("owner", s("terraform"))
        .item("seeded_by", s("terraform"))
        .send()
        .await
        .unwrap();

    let report = scheduled(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        report["seeds"],
        json!([{"route_id": "seeded", "outcome": "created", "error": null}])
    );
    assert_eq!(
        report["routes_audited"], 1,
        "the new route is audited in the same run"
    );
    let route = bed.route("seeded").await;
    assert_eq!(route.status, RouteStatus::Active);
    assert_eq!(route.router, bed.router_id);
    assert!((10000..=10999).contains(&route.listener_port));
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.71:5432"]);
    assert_eq!(
        listeners(&bed).await[&i32::from(route.listener_port)],
        tg_of(&route)
    );

    let again = scheduled(&bed.ctx).await;
    assert_eq!(again["seeds"], json!([]), "the seed was consumed");
    assert_eq!(again["repaired"], json!({}), "{again:#}");
    assert_eq!(again["errors"], json!([]));
}

/// EMF records written while a test runs, kept in memory.
#[derive(Clone, Default)]
struct Records(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Records {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Issue #17: the audit measures its AWS usage once — the run lease's PutItem and DeleteItem
/// included — and the metric it publishes is the report's figure (the published `AwsCalls`
/// used to leave out the lease's two calls the report counted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_aws_calls_are_the_reports() {
    let namespace = format!("AuditUsage{}", std::process::id());
    let bed = Bed::start_with("audit-usage", &[("ROUTER_METRICS_NAMESPACE", &namespace)]).await;
    bed.dns.set_a("usage.db.test", &ips(&[[10, 0, 1, 60]]));
    service::create(
        &bed.ctx,
        &Bed::owner(),
        &create_request("usage", "usage.db.test"),
    )
    .await
    .unwrap();
    let records = Records::default();
    privatelink_router::adapters::aws::metrics::redirect(Box::new(records.clone()));
    let report = scheduled(&bed.ctx).await;
    let text = String::from_utf8(records.0.lock().unwrap().clone()).unwrap();
    let published: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["_aws"]["CloudWatchMetrics"][0]["Namespace"] == json!(namespace))
        .filter(|r| r.get("AwsCalls").is_some())
        .collect();
    assert_eq!(published.len(), 1, "one audit record: {text}");
    let total: u64 = report["aws_calls"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(calls(&report, "PutItem"), 1, "the lease: {report:#}");
    assert_eq!(published[0]["AwsCalls"], json!(total as f64), "{report:#}");
    assert_eq!(published[0]["aws_calls"], report["aws_calls"]);
    assert_eq!(
        published[0]["AuditDurationMs"],
        json!(report["duration_ms"].as_u64().unwrap() as f64)
    );
}
