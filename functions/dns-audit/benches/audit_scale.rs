//! Scale benchmark (not a test) of the two scheduled jobs, the minute DNS watch and the full
//! drift audit: N routes on moto + a loopback DNS server, each job through the real handler.
//! Per size it runs, in order:
//!
//! 1. the watch with nothing moved (the goal: no ELBv2 call, no write, ⌈table / 1 MB⌉ + 2
//!    DynamoDB requests);
//! 2. the full audit with no drift;
//! 3. the watch after 10 % of the databases moved (the goal: ≤ 3 ELBv2 calls per moved route,
//!    none for the others);
//! 4. the full audit after 10 % of the routes drifted in five other ways (a stranger target,
//!    health check, attributes, a deleted listener, a DNS flip), then full audits until every
//!    drift is repaired;
//! 5. the full audit after 10 % of the routes' targets started failing their health checks
//!    (issue #29: each is diagnosed — its database, the NLB, security groups, network ACLs —
//!    with the run's reads shared across routes; one database per router).
//!
//! It prints wall time, AWS calls per route by API, DynamoDB reads and writes, the time a paced
//! full pass takes at the default ELBv2 budget (calls / rate: the bench itself runs unpaced so
//! it measures moto, not the budget), and the process's peak RSS.
//!
//! Run: `cargo bench -p dns-audit --bench audit_scale` (N = 100 and 1,000), or pass sizes:
//! `cargo bench -p dns-audit --bench audit_scale -- 100 1000 3000`. `ROUTER_AUDIT_CONCURRENCY`
//! is read like in the Lambda (default 8).
//!
//! Layout: 50 routes per router (the NLB's hard listener limit), so N = 1,000 runs on 20
//! routers (20 NLBs, each in its own VPC) — the shape of a real fleet. Setup writes routes
//! through the library (target group, listener, route item, first reconcile), 16 at a time,
//! skipping the API's port allocator.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use aws_sdk_elasticloadbalancingv2 as elbv2;
use dns_audit::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use futures::stream::{self, StreamExt, TryStreamExt};
use privatelink_router::adapters::aws::clients::{retry_config, timeout_config, Clients};
use privatelink_router::adapters::aws::elb::TargetGroupSpec;
use privatelink_router::adapters::aws::store::{DynamoStore, RouteStore};
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::domain::plan::Lookup;
use privatelink_router::domain::route::database_attributes;
use privatelink_router::domain::route::{target_group_name, Route, RouteStatus};
use privatelink_router::domain::window::Sightings;
use privatelink_router::flows::service::CreateRequest;
use privatelink_router::reconcile::provision::ownership_tags;
use privatelink_router::reconcile::reconcile;
use router_tests::dns::DnsServer;
use router_tests::fixtures::moto;
use router_tests::network::Network;
use serde_json::{json, Value};

const ROUTES_PER_ROUTER: usize = 50;
const FIRST_PORT: u16 = 10000;

struct World {
    ctx: Context,
    dns: DnsServer,
    routes: Vec<Route>,
    elb: elbv2::Client,
    networks: Vec<Network>,
}

/// The address route `i` resolves to (distinct per route: moto keys targets by IP).
fn ip_of(i: usize, flipped: bool) -> Ipv4Addr {
    let third = if flipped { 200 } else { 100 } + (i / 250) as u8;
    Ipv4Addr::new(10, third, (i % 250) as u8, 10)
}

fn host_of(i: usize) -> String {
    format!("db-{i:04}.bench.test")
}

async fn build(n: usize) -> anyhow::Result<World> {
    let moto = moto().await;
    moto.reset().await?;
    let sdk = moto
        .sdk_config()
        .await
        .into_builder()
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .build();
    let routers = n.div_ceil(ROUTES_PER_ROUTER);
    let networks: Vec<Network> = stream::iter(0..routers)
        .map(|r| {
            let sdk = &sdk;
            async move { Network::create(sdk, &format!("bench{r}")).await }
        })
        .buffered(4)
        .try_collect()
        .await?;
    let dns = DnsServer::start().await?;
    let fleet: Vec<Value> = networks
        .iter()
        .enumerate()
        .map(|(r, net)| {
            json!({
                "id": format!("router-{r:02}"),
                "nlb_arn": net.nlb_arn,
                "endpoint_service_name": format!("com.amazonaws.vpce.us-east-1.vpce-svc-{r:017}"),
            })
        })
        .collect();
    let table = format!("bench-routes-{n}");
    let concurrency = std::env::var("ROUTER_AUDIT_CONCURRENCY").ok();
    let env: BTreeMap<&str, String> = BTreeMap::from([
        ("ROUTER_TABLE", table.clone()),
        ("ROUTER_FLEET", Value::from(fleet).to_string()),
        ("ROUTER_DNS_SERVERS", dns.addr().to_string()),
    ]);
    let config = Config::from_lookup(&|k| match k {
        "ROUTER_AUDIT_CONCURRENCY" => concurrency.clone(),
        // Unpaced: the bench measures calls and moto; the paced time is computed from them.
        "ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND" => Some("0".into()),
        _ => env.get(k).cloned(),
    })?;
    let clients = Clients::from_sdk_config(&sdk);
    DynamoStore::new(clients.dynamodb.clone(), table)
        .create_table()
        .await?;
    let ctx = Context::build(config, clients).await?;

    for i in 0..n {
        dns.set_a(&host_of(i), &[ip_of(i, false)]);
    }
    let routes: Vec<Route> = stream::iter(0..n)
        .map(|i| seed(&ctx, i))
        .buffer_unordered(16)
        .try_collect()
        .await?;
    Ok(World {
        ctx,
        dns,
        routes,
        elb: elbv2::Client::new(&sdk),
        networks,
    })
}

/// One route written through the library: target group (with attributes), listener, route
/// item, then the first reconcile (registers the target and records the lookup).
async fn seed(ctx: &Context, i: usize) -> anyhow::Result<Route> {
    let router_id = format!("router-{:02}", i / ROUTES_PER_ROUTER);
    let router = ctx.fleet.get(&router_id).context("router configured")?;
    let spec = CreateRequest {
        name: format!("db-{i:04}"),
        host: host_of(i),
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
    }
    .validate(ctx)?;
    let now = chrono::Utc::now();
    let mut route = Route {
        spec,
        owner: "arn:aws:iam::123456789012:role/bench".into(),
        router: router_id.clone(),
        listener_port: FIRST_PORT + (i % ROUTES_PER_ROUTER) as u16,
        status: RouteStatus::Active,
        target_group_arn: None,
        listener_arn: None,
        sightings: Sightings::default(),
        resolutions: vec![],
        arrivals: vec![],
        refused: vec![],
        conflict: None,
        target_quota_full: None,
        unapplied: false,
        applying_until: None,
        name_gone_since: None,
        renamed_to: None,
        answers_sampled: false,
        ceded: Default::default(),
        deployment_tagged: true,
        quota_counted: false,
        last_event_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let tg = ctx
        .elb
        .ensure_target_group(
            &TargetGroupSpec {
                name: target_group_name(&ctx.config.deployment, &router_id, route.id().as_str()),
                vpc_id: router.vpc_id.clone(),
                port: 5432,
                health_check: route.spec.health_check,
                tags: ownership_tags(&ctx.config.deployment, &route),
            },
            &database_attributes(ctx.config.deregistration_delay_secs),
        )
        .await?;
    let listener = ctx
        .elb
        .create_listener(
            &router.config.nlb_arn,
            route.listener_port,
            &tg,
            &ownership_tags(&ctx.config.deployment, &route),
        )
        .await?;
    // As the router creates listeners: with the route's idle timeout (a listener without it
    // is drift the audit repairs).
    ctx.elb
        .set_idle_timeout(&listener, route.idle_timeout(ctx.config.idle_timeout_secs))
        .await?;
    route.target_group_arn = Some(tg);
    route.listener_arn = Some(listener);
    ctx.store.save(&route).await?;
    let lookup = Lookup::from_ips([ip_of(i, false).into()]);
    Ok(reconcile(ctx, route, &[lookup], false).await?.route)
}

/// Drifts every 10th route, cycling through five kinds of drift.
async fn drift(w: &World) -> anyhow::Result<BTreeMap<&'static str, usize>> {
    let mut kinds = BTreeMap::new();
    let jobs: Vec<(usize, &'static str)> = (0..w.routes.len())
        .step_by(10)
        .enumerate()
        .map(|(k, i)| {
            let kind = [
                "dns_flip",
                "stranger",
                "health_check",
                "attributes",
                "listener",
            ][k % 5];
            (i, kind)
        })
        .collect();
    for (_, kind) in &jobs {
        *kinds.entry(*kind).or_default() += 1;
    }
    stream::iter(jobs)
        .map(|(i, kind)| async move {
            let route = &w.routes[i];
            let tg = route.target_group_arn.as_deref().unwrap_or_default();
            match kind {
                "dns_flip" => w.dns.set_a(&host_of(i), &[ip_of(i, true)]),
                "stranger" => {
                    w.elb
                        .register_targets()
                        .target_group_arn(tg)
                        .targets(
                            elbv2::types::TargetDescription::builder()
                                .id(Ipv4Addr::new(10, 250, (i % 250) as u8, 99).to_string())
                                .port(5432)
                                .availability_zone("all")
                                .build(),
                        )
                        .send()
                        .await?;
                }
                "health_check" => {
                    w.elb
                        .modify_target_group()
                        .target_group_arn(tg)
                        .health_check_interval_seconds(30)
                        .send()
                        .await?;
                }
                "attributes" => {
                    w.elb
                        .modify_target_group_attributes()
                        .target_group_arn(tg)
                        .attributes(
                            elbv2::types::TargetGroupAttribute::builder()
                                .key("deregistration_delay.timeout_seconds")
                                .value("300")
                                .build(),
                        )
                        .send()
                        .await?;
                }
                _ => {
                    w.elb
                        .delete_listener()
                        .listener_arn(route.listener_arn.as_deref().unwrap_or_default())
                        .send()
                        .await?;
                }
            }
            anyhow::Ok(())
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(kinds)
}

struct Row {
    n: usize,
    routers: usize,
    run: &'static str,
    wall: Duration,
    report: Value,
    peak_rss_mb: u64,
}

/// ELBv2 operations among the counted calls (the rest are DynamoDB, EC2 and RDS).
fn is_elbv2(operation: &str) -> bool {
    [
        "Describe",
        "Register",
        "Deregister",
        "Create",
        "Delete",
        "Modify",
        "AddTags",
    ]
    .iter()
    .any(|p| operation.starts_with(p))
        && !matches!(
            operation,
            "DescribeVpcs"
                | "DescribeSubnets"
                | "DescribeNetworkInterfaces"
                | "DescribeDBClusters"
                | "DescribeDBInstances"
                | "DescribeDBClusterEndpoints"
                | "DescribeDBParameters"
                | "DescribeSecurityGroups"
                | "DescribeNetworkAcls"
                | "DeleteItem"
        )
}

/// The process's peak resident set so far (`VmHWM` in /proc/self/status), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

async fn audit(ctx: &Context) -> anyhow::Result<(Duration, Value)> {
    run(ctx, json!({})).await
}

async fn watch(ctx: &Context) -> anyhow::Result<(Duration, Value)> {
    run(ctx, json!({"mode": "watch"})).await
}

/// Invokes the handler with a scheduled event whose target input is `detail`.
async fn run(ctx: &Context, detail: Value) -> anyhow::Result<(Duration, Value)> {
    let event = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": detail});
    let started = Instant::now();
    let report = dns_audit::handler(ctx, LambdaEvent::new(event, LambdaContext::default()))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok((started.elapsed(), report))
}

async fn bench(n: usize, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let started = Instant::now();
    let w = build(n).await?;
    let routers = w.ctx.fleet.len();
    eprintln!(
        "N={n}: setup ({routers} routers, {n} routes) took {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (wall, report) = watch(&w.ctx).await?;
    ensure!(report["errors"] == json!([]), "errors: {report:#}");
    ensure!(
        report["routes_reconciled"] == json!([]),
        "moved: {report:#}"
    );
    rows.push(Row {
        n,
        routers,
        run: "watch, nothing moved",
        wall,
        report,
        peak_rss_mb: peak_rss_mb(),
    });

    // New targets pass ELB's first health checks (seconds at the bed's time scale); the first
    // audit that sees them healthy stores when, once. The steady state is measured after it.
    for _ in 0..30 {
        let (_, report) = audit(&w.ctx).await?;
        if report["routes_registering"] == json!([]) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (wall, report) = audit(&w.ctx).await?;
    ensure!(report["errors"] == json!([]), "errors: {report:#}");
    ensure!(report["repaired"] == json!({}), "drift found: {report:#}");
    ensure!(report["routes_audited"] == n, "not all audited: {report:#}");
    rows.push(Row {
        n,
        routers,
        run: "full, no drift",
        wall,
        report,
        peak_rss_mb: peak_rss_mb(),
    });

    // 10 % of the databases move (routes 5, 15, 25…; the drift below uses 0, 10, 20…).
    let moved: Vec<usize> = (5..n).step_by(10).collect();
    for i in &moved {
        w.dns.set_a(&host_of(*i), &[ip_of(*i, true)]);
    }
    let (wall, report) = watch(&w.ctx).await?;
    ensure!(report["errors"] == json!([]), "errors: {report:#}");
    ensure!(
        report["routes_reconciled"].as_array().map(Vec::len) == Some(moved.len()),
        "not every moved route reconciled: {report:#}"
    );
    rows.push(Row {
        n,
        routers,
        run: "watch, 10% moved",
        wall,
        report,
        peak_rss_mb: peak_rss_mb(),
    });

    let kinds = drift(&w).await?;
    let (wall, report) = audit(&w.ctx).await?;
    ensure!(report["errors"] == json!([]), "errors: {report:#}");
    eprintln!(
        "N={n}: drift made {kinds:?}; the first full audit repaired {}",
        report["repaired"]
    );
    // Every drift but the DNS flips' old IPs is repaired by that one pass (each route's
    // targets, listener, health check and attributes are read every pass).
    let repaired: BTreeMap<String, u64> = serde_json::from_value(report["repaired"].clone())?;
    let kind = |k: &str| kinds.get(k).copied().unwrap_or(0) as u64;
    let expected = BTreeMap::from([
        ("attributes_restored", kind("attributes")),
        ("health_check_restored", kind("health_check")),
        ("listener_created", kind("listener")),
        ("targets_registered", kind("dns_flip")),
        ("targets_deregistered", kind("stranger")),
    ]);
    for (k, v) in &expected {
        let got = repaired.get(*k).copied().unwrap_or(0);
        ensure!(
            got >= *v,
            "N={n}: {k} {got} after one pass, expected {v}: {report:#}"
        );
    }
    rows.push(Row {
        n,
        routers,
        run: "full, 10% drift",
        wall,
        report,
        peak_rss_mb: peak_rss_mb(),
    });

    // The old IPs of the flipped and moved records leave after K=3 lookups: then a pass that
    // repairs and writes nothing.
    for run in 2..=6 {
        let (wall, report) = audit(&w.ctx).await?;
        ensure!(report["errors"] == json!([]), "errors: {report:#}");
        let writes = report["aws_calls"]["PutItem"].as_u64().unwrap_or(0);
        // The run lease's PutItem is the one write a quiet pass makes.
        if report["repaired"] == json!({}) && writes <= 1 {
            eprintln!("N={n}: quiet again at pass {run} after the drift");
            rows.push(Row {
                n,
                routers,
                run: "full, drift repaired",
                wall,
                report,
                peak_rss_mb: peak_rss_mb(),
            });
            return diagnosed(&w, rows).await;
        }
    }
    anyhow::bail!("N={n}: still repairing 5 passes after the drift")
}

/// Phase 5: every 10th route (3, 13, 23…) names its router's database (one per router, whose
/// security group admits no NLB node) and its target fails its health checks; one full audit
/// diagnoses them all.
async fn diagnosed(w: &World, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    use router_tests::databases::{database_in, mark_unhealthy};
    let n = w.routes.len();
    let routers = w.ctx.fleet.len();
    for (r, net) in w.networks.iter().enumerate() {
        net.nlb_interfaces(&w.ctx.clients.sdk).await?;
        database_in(
            &w.ctx.clients.sdk,
            net,
            &format!("bench-db-{r}"),
            "postgres",
            5432,
            "192.168.0.0/24",
            None,
        )
        .await;
    }
    let failing: Vec<usize> = (3..n).step_by(10).collect();
    for i in &failing {
        let id = privatelink_router::domain::route::RouteId::parse(&format!("db-{i:04}"))?;
        let mut route = w.ctx.store.get(&id).await?.context("route stored")?;
        route.spec.rds_identifier = Some(format!("bench-db-{}", i / ROUTES_PER_ROUTER));
        route.spec.account = Some(w.ctx.config.own_account());
        route.version += 1;
        w.ctx.store.save(&route).await?;
        let tg = route.target_group_arn.clone().context("target group")?;
        mark_unhealthy(&w.ctx.clients.sdk, &tg, &ip_of(*i, false).to_string()).await;
    }
    let (wall, report) = audit(&w.ctx).await?;
    ensure!(report["errors"] == json!([]), "errors: {report:#}");
    let diagnosed = report["routes_not_serving"].as_array().map_or(0, |rows| {
        rows.iter().filter(|r| r["diagnoses"].is_array()).count()
    });
    ensure!(
        diagnosed == failing.len(),
        "N={n}: {diagnosed} of {} failing routes diagnosed: {report:#}",
        failing.len()
    );
    eprintln!("N={n}: {diagnosed} failing routes diagnosed in one full audit");
    rows.push(Row {
        n,
        routers,
        run: "full, 10% failing health checks (diagnosed)",
        wall,
        report,
        peak_rss_mb: peak_rss_mb(),
    });
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1000]
    } else {
        sizes
    };
    let mut rows = Vec::new();
    for n in sizes {
        bench(n, &mut rows).await?;
    }
    let rate = privatelink_router::config::DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND;
    println!();
    println!(
        "| routes | routers | run | wall time | repairs | ELBv2 calls/route | DynamoDB reads / writes | paced pass at {rate}/s | peak RSS | calls by operation |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &rows {
        let calls: BTreeMap<String, u64> =
            serde_json::from_value(r.report["aws_calls"].clone()).unwrap_or_default();
        let count = |ops: &[&str]| -> u64 { ops.iter().filter_map(|o| calls.get(*o)).sum() };
        let reads = count(&["GetItem", "Query", "Scan", "BatchGetItem"]);
        let writes = count(&["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"]);
        let elbv2: u64 = calls
            .iter()
            .filter(|(k, _)| is_elbv2(k))
            .map(|(_, v)| v)
            .sum();
        let by_op: Vec<String> = calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let repairs: u64 = r.report["repaired"]
            .as_object()
            .map(|m| m.values().filter_map(Value::as_u64).sum())
            .unwrap_or(0);
        let paced = if r.run.starts_with("full") {
            format!("{:.0} s", elbv2 as f64 / f64::from(rate))
        } else {
            "-".into()
        };
        println!(
            "| {} | {} | {} | {:.2} s | {} | {:.2} | {reads} / {writes} | {paced} | {} MB | {} |",
            r.n,
            r.routers,
            r.run,
            r.wall.as_secs_f64(),
            repairs,
            elbv2 as f64 / r.n as f64,
            r.peak_rss_mb,
            by_op.join(", ")
        );
    }
    for r in rows.iter().filter(|r| r.run == "full, 10% drift") {
        println!(
            "\nN={} 10% drift repaired: {}",
            r.n,
            serde_json::to_string(&r.report["repaired"]).unwrap_or_default()
        );
    }
    Ok(())
}
