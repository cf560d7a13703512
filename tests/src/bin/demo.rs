//! The one-command local demo (`./demo.sh`): the router's main job on this machine, with no AWS
//! account — moto for AWS, a loopback DNS server for the databases' names — driven through the
//! real Lambda handlers with real-shaped events. Logs go to `.demo/demo.log`; the terminal gets
//! one table per step. With `--keep` it then leaves moto and the DNS server running, writes
//! the variables that point `plr` at them to `.demo/env`, and waits for Ctrl-C.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};
use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::adapters::aws::elb::Targets;
use privatelink_router::adapters::aws::store::DynamoStore;
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use rds_events::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use router_tests::dns::DnsServer;
use router_tests::fixtures::sdk_config;
use router_tests::network::Network;
use serde_json::{json, Value};

const HASH: &str = "c9akciq32abc.us-east-1.rds.amazonaws.com";
const PIPELINE: &str = "arn:aws:sts::123456789012:assumed-role/pipeline/terraform-run-4711";
/// The role behind [`PIPELINE`]'s sessions: what grants name.
const PIPELINE_ROLE: &str = "arn:aws:iam::123456789012:role/pipeline";

fn events_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"))
}

fn load(name: &str) -> anyhow::Result<Value> {
    let path = events_dir().join(name);
    let raw =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(serde_json::from_str(&raw)?)
}

/// Width of tables when stdout is not a terminal (a pipe, CI, the README's copy): `COLUMNS`
/// when set, else 100.
const PIPE_WIDTH: u16 = 100;

fn table(headers: &[&str], rows: Vec<Vec<String>>) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    if !t.is_tty() {
        let cols = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
        t.set_width(cols.unwrap_or(PIPE_WIDTH));
    }
    for r in rows {
        t.add_row(r);
    }
    t
}

async fn targets(ctx: &Context, tg: &str) -> anyhow::Result<String> {
    targets_where(ctx, tg, false).await
}

/// The targets of a group that are (`draining = true`) or are not draining, comma-separated.
async fn targets_where(ctx: &Context, tg: &str, draining: bool) -> anyhow::Result<String> {
    let mut t: Vec<String> = ctx
        .elb
        .describe_targets(tg)
        .await?
        .into_iter()
        .filter(|t| t.is_draining() == draining)
        .map(|t| t.target.ip.to_string())
        .collect();
    t.sort();
    Ok(t.join(", "))
}

/// POSTs a route through the routes-api handler with the sample API Gateway event, as the
/// pipeline's role; the HTTP status and JSON body.
async fn post_route(ctx: &Context, body: &Value) -> anyhow::Result<(i64, Value)> {
    let mut event = load("apigw-create-route.json")?;
    event["body"] = json!(body.to_string());
    event["requestContext"]["authorizer"]["iam"]["userArn"] = json!(PIPELINE);
    let req: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    let resp = routes_api::handle(ctx, req).await;
    let body: Value = serde_json::from_str(
        resp.body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
            .as_str(),
    )?;
    Ok((resp.status_code, body))
}

/// Creates a route through the routes-api handler; its JSON.
async fn create_route(
    ctx: &Context,
    name: &str,
    host: &str,
    port: u16,
    tls_name: bool,
) -> anyhow::Result<Value> {
    let body = json!({
        "name": name, "host": host, "port": port, "tags": {"demo": "true"},
        "engine": "postgres", "tls_name": tls_name,
    });
    let (status, body) = post_route(ctx, &body).await?;
    ensure!(
        status == 201 || status == 200,
        "POST /routes {name}: HTTP {status}: {body}"
    );
    Ok(body)
}

/// `export` lines that point `plr` (and the AWS CLI) at this demo's moto, table and DNS.
fn exports(endpoint: &str, env: &BTreeMap<&str, String>) -> String {
    let mut lines = vec![
        format!("export AWS_ENDPOINT_URL={endpoint} AWS_REGION=us-east-1"),
        "export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test".to_owned(),
    ];
    // Everything the demo's own functions run with, so `plr` sees the routes as they do
    // (the caller grants decide whether a route is inside the exposure policy).
    for key in [
        "ROUTER_TABLE",
        "ROUTER_FLEET",
        "ROUTER_DNS_SERVERS",
        "ROUTER_EVENT_ACCOUNTS",
        "ROUTER_CALLER_GRANTS",
    ] {
        lines.push(format!("export {key}='{}'", env[key]));
    }
    lines.join("\n") + "\n"
}

async fn run(keep: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("privatelink-router demo — moto + loopback DNS, real handlers\n");

    // 1. Emulated AWS and DNS.
    let sdk = sdk_config().await;
    let dns = DnsServer::start().await?;
    let writer = format!("orders-db.{HASH}");
    let cluster = format!("billing-aurora.cluster-{HASH}");
    let reader = format!("billing-aurora.cluster-ro-{HASH}");
    dns.set_a(&writer, &[Ipv4Addr::new(10, 1, 2, 3)]);
    dns.set_a(&cluster, &[Ipv4Addr::new(10, 2, 0, 10)]);
    dns.set_round_robin(
        &reader,
        &[Ipv4Addr::new(10, 2, 0, 21), Ipv4Addr::new(10, 2, 0, 22)],
    );
    println!(
        "step 1: moto and DNS on 127.0.0.1 ({}), three database names",
        dns.addr()
    );

    // 2. The router's NLB and table (as Terraform would), then routes through the API handler.
    let network = Network::create(&sdk, "demo").await?;
    let env: BTreeMap<&str, String> = BTreeMap::from([
        ("ROUTER_TABLE", "privatelink-router-demo".to_owned()),
        (
            "ROUTER_FLEET",
            json!([{"id": "router-a", "nlb_arn": network.nlb_arn, "endpoint_service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0demo0000000000a", "consumer_domain": "databases.demo.internal"}]).to_string(),
        ),
        ("ROUTER_DNS_SERVERS", dns.addr().to_string()),
        ("ROUTER_DNS_POLL_DEADLINE_SECONDS", "10".to_owned()),
        ("ROUTER_EVENT_ACCOUNTS", "123456789012".to_owned()),
        // The one setting that lets the pipeline in: its role may publish exactly the demo
        // databases' names (they are DNS-only here, so no RDS lookup could verify them as its
        // own). A suffix as wide as rds.amazonaws.com would admit every account's databases.
        (
            "ROUTER_CALLER_GRANTS",
            json!({ PIPELINE_ROLE: {"host_suffixes": [&writer, &cluster, &reader]} }).to_string(),
        ),
    ]);
    let config = Config::from_lookup(&|k| env.get(k).cloned())?;
    let clients = Clients::from_sdk_config(&sdk);
    DynamoStore::new(clients.dynamodb.clone(), config.table.clone())
        .create_table()
        .await?;
    let ctx = Context::build(config, clients).await?;

    let mut rows = Vec::new();
    let mut tgs = BTreeMap::new();
    let mut services = std::collections::BTreeSet::new();
    // orders is reached by its own name (TLS verify-full); the others by the consumer domain.
    for (name, host, port, tls_name) in [
        ("orders", &writer, 5432, true),
        ("billing", &cluster, 5432, false),
        ("billing-ro", &reader, 5432, false),
    ] {
        let route = create_route(&ctx, name, host, port, tls_name).await?;
        tgs.insert(
            name,
            route["target_group_arn"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        services.insert(
            route["connection"]["endpoint_service_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        rows.push(vec![
            name.to_owned(),
            route["listener_port"].to_string(),
            host.split('.').take(2).collect::<Vec<_>>().join("."),
            targets(&ctx, &tgs[name]).await?,
        ]);
    }
    // The reader answers one IP per query: a second sync sees the other one.
    for _ in 0..3 {
        privatelink_router::flows::service::sync(
            &ctx,
            &privatelink_router::flows::service::Caller::from_user_arn(PIPELINE),
            "billing-ro",
        )
        .await?;
    }
    rows[2][3] = targets(&ctx, &tgs["billing-ro"]).await?;
    // A name the pipeline was not granted, answering some host of a connected network.
    dns.set_a("bastion.corp.internal", &[Ipv4Addr::new(10, 9, 9, 9)]);
    let (status, refused) = post_route(
        &ctx,
        &json!({"name": "bastion", "host": "bastion.corp.internal", "port": 5432}),
    )
    .await?;
    ensure!(
        status == 403,
        "POST /routes bastion: HTTP {status}: {refused}"
    );
    println!("\nstep 2: three routes added through the routes-api handler — the port map for a Databricks admin");
    println!(
        "(caller_grants lets the pipeline publish its three database names; bastion.corp.internal: HTTP {status} {})",
        refused["error"]["code"].as_str().unwrap_or_default()
    );
    let services: Vec<String> = services.into_iter().collect();
    println!("endpoint service: {}", services.join(", "));
    println!("{}", table(&["route", "port", "database", "targets"], rows));

    // 3. Failover: DNS flips, the RDS event arrives, targets follow.
    let before = targets(&ctx, &tgs["orders"]).await?;
    dns.set_a(&writer, &[Ipv4Addr::new(10, 1, 7, 7)]);
    let event = load("rds-instance-failover-completed-0049.json")?;
    let t0 = Instant::now();
    let summary = rds_events::handler(&ctx, LambdaEvent::new(event, LambdaContext::default()))
        .await
        .map_err(|e| anyhow::anyhow!("rds-events handler: {e}"))?;
    let took = t0.elapsed();
    let after = targets(&ctx, &tgs["orders"]).await?;
    let draining = targets_where(&ctx, &tgs["orders"], true).await?;
    println!(
        "\nstep 3: Multi-AZ failover of orders-db (RDS-EVENT-0049) through the rds-events handler"
    );
    println!(
        "{}",
        table(
            &[
                "route",
                "targets before",
                "targets after",
                "draining",
                "event → converged"
            ],
            vec![vec![
                "orders".into(),
                before,
                after.clone(),
                draining,
                format!("{} ms", took.as_millis())
            ]],
        )
    );
    if after != "10.1.7.7" {
        bail!("failover did not converge: targets {after}; handler said {summary}");
    }

    // 4. Break things by hand, then run the audit handler.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
    let billing = privatelink_router::flows::service::get(
        &ctx,
        &privatelink_router::flows::service::Caller::from_user_arn(PIPELINE),
        "billing",
    )
    .await?;
    elb.delete_listener()
        .listener_arn(billing.listener_arn.clone().unwrap_or_default())
        .send()
        .await?;
    elb.register_targets()
        .target_group_arn(&tgs["orders"])
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id("10.66.6.6")
                .port(5432)
                .availability_zone("all")
                .build(),
        )
        .send()
        .await?;
    let report = dns_audit::handler(
        &ctx,
        LambdaEvent::new(load("audit-scheduled.json")?, LambdaContext::default()),
    )
    .await
    .map_err(|e| anyhow::anyhow!("dns-audit handler: {e}"))?;
    println!("\nstep 4: deleted billing's listener and registered a stranger (10.66.6.6) on orders; the audit handler's report:");
    let rows = privatelink_router::flows::audit::report_rows(&report)
        .into_iter()
        .map(|(k, v)| vec![k, v])
        .collect();
    println!("{}", table(&["audit", "value"], rows));
    let orders_now = targets(&ctx, &tgs["orders"]).await?;
    let listener_back = ctx
        .elb
        .listeners(&network.nlb_arn)
        .await?
        .iter()
        .any(|l| u64::from(l.port) == billing.listener_port as u64);
    ensure!(
        orders_now == "10.1.7.7",
        "audit left orders with targets {orders_now}"
    );
    ensure!(
        listener_back,
        "audit did not recreate billing's listener on port {}",
        billing.listener_port
    );
    println!(
        "\nstep 5: repaired — orders targets: {orders_now}; billing listener back on port {}",
        billing.listener_port
    );
    println!(
        "\ndemo finished in {:.1} s; logs: .demo/demo.log",
        started.elapsed().as_secs_f64()
    );
    if keep {
        let endpoint = router_tests::fixtures::moto().await.endpoint();
        let exports = exports(&endpoint, &env);
        let file = demo_dir().join("env");
        std::fs::write(&file, &exports).with_context(|| format!("writing {}", file.display()))?;
        println!(
            "\nmoto and DNS keep running until Ctrl-C. In another shell, in this directory:\n"
        );
        println!("source .demo/env        # these lines:\n{exports}");
        println!("cargo run -q -p privatelink-router --bin plr -- routes list");
        println!("cargo run -q -p privatelink-router --bin plr -- catalog");
        tokio::signal::ctrl_c().await?;
        let _ = std::fs::remove_file(&file);
        println!("stopped");
    }
    Ok(())
}

fn demo_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.demo"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let keep = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--keep") => true,
        Some("-h" | "--help") => {
            println!("usage: ./demo.sh [--keep]\n  --keep  then keep moto and DNS running for plr (exports in .demo/env) until Ctrl-C");
            return std::process::ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("demo: unknown argument {other}; usage: ./demo.sh [--keep]");
            return std::process::ExitCode::from(2);
        }
    };
    let dir = demo_dir();
    let _ = std::fs::create_dir_all(dir);
    if let Ok(file) = std::fs::File::create(dir.join("demo.log")) {
        if let Ok(emf) = file.try_clone() {
            privatelink_router::adapters::aws::metrics::redirect(Box::new(emf));
        }
        tracing_subscriber::fmt()
            .json()
            .with_writer(std::sync::Mutex::new(file))
            .init();
    }
    match run(keep).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
