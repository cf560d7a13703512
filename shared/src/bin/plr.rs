//! `plr`: the operator CLI. Same library and configuration (`ROUTER_*` variables) as the
//! Lambdas, the standard AWS credential chain, and `--endpoint-url` for emulators.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use privatelink_router::adopt::adopt;
use privatelink_router::aws::{retry_config, timeout_config, Clients};
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::seed_inputs::SeedInputs;
use privatelink_router::service::{self, Caller, CreateRequest, ListFilter};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "plr",
    version,
    about = "Operate a privatelink-router: routes, audit, plan, ports"
)]
struct Cli {
    /// AWS endpoint override (e.g. a local emulator); default: the SDK's own resolution.
    #[arg(long, global = true)]
    endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "table")]
    output: Output,
    /// Principal recorded as owner of routes created here (the CLI acts as an admin).
    #[arg(long, global = true, default_value = "plr-cli")]
    principal: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Output {
    Json,
    Table,
}

#[derive(Subcommand)]
enum Command {
    /// Add, list, show, sync and remove routes.
    Routes {
        #[command(subcommand)]
        command: RoutesCommand,
    },
    /// Show what the router would do with the seed's databases, changing nothing: per database
    /// the verdict `routes add` would give (create, existing, or the error), and the port.
    Plan {
        /// The seed's variables: a `.tfvars.json` object, or a bare `target_endpoints` list
        /// (`{"id": "<db host>", "port": N, "name": "<label>"}`).
        file: PathBuf,
    },
    /// Show the listener port allocation table of every router.
    Ports,
    /// Take over a running seed deployment: a route per database, its live listener port
    /// pinned and its target group adopted; no listener is created, deleted or re-pointed.
    Adopt {
        /// The seed's variables: a `.tfvars.json` object (`target_endpoints`, `service_config`,
        /// `health_check_config`, `service_name`…) or a bare `target_endpoints` list.
        #[arg(long)]
        seed: PathBuf,
        /// Router (ROUTER_FLEET id) of the seed's NLB; default: the one named
        /// `<service_name>-nlb`.
        #[arg(long)]
        router: Option<String>,
        /// Show what would be done; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Audit every route now: repair drift (or, with --dry-run, only report it).
    Audit {
        /// Report what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum RoutesCommand {
    /// Create a route (idempotent for the same definition).
    Add {
        /// Route name (lowercase letters, digits, hyphens).
        #[arg(long)]
        name: String,
        /// Database DNS name.
        #[arg(long)]
        host: String,
        /// Database port.
        #[arg(long)]
        port: i64,
        /// Tags, `key=value`, repeatable.
        #[arg(long = "tag", value_parser = parse_tag)]
        tags: Vec<(String, String)>,
        /// RDS identifier, when the host name is not an RDS endpoint name.
        #[arg(long)]
        rds_identifier: Option<String>,
        /// AWS account of the database (12 digits); events of other accounts never touch it.
        #[arg(long)]
        account_id: Option<String>,
        /// ARN of the database (gives its account, region and identifier).
        #[arg(long)]
        rds_arn: Option<String>,
    },
    /// List routes.
    List {
        /// Only routes of this owner.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Show a route with its targets and their health.
    Show {
        /// Route id.
        id: String,
    },
    /// Reconcile a route now.
    Sync {
        /// Route id.
        id: String,
    },
    /// Remove a route (listener, target group; the port is quarantined).
    Rm {
        /// Route id.
        id: String,
    },
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not key=value"))
}

/// One entry of the seed module's `target_endpoints`.
async fn context(cli: &Cli) -> anyhow::Result<Context> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = &cli.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let sdk = loader.load().await;
    let mut config = Config::from_env()?;
    config.admin_principals.insert(cli.principal.clone());
    Ok(Context::build(config, Clients::from_sdk_config(&sdk)).await?)
}

fn print(output: Output, value: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_header(headers.to_vec());
    for r in rows {
        t.add_row(r);
    }
    println!("{t}");
}

fn route_row(v: &Value) -> Vec<String> {
    let s = |k: &str| match &v[k] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    vec![
        s("id"),
        s("host"),
        s("port"),
        s("router"),
        s("listener_port"),
        s("status"),
    ]
}

const ROUTE_HEADERS: [&str; 6] = [
    "route",
    "host",
    "db port",
    "router",
    "listener port",
    "status",
];

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = context(&cli).await?;
    let caller = Caller {
        principal: cli.principal.clone(),
    };
    match &cli.command {
        Command::Routes { command } => match command {
            RoutesCommand::Add {
                name,
                host,
                port,
                tags,
                rds_identifier,
                account_id,
                rds_arn,
            } => {
                let req = CreateRequest {
                    name: name.clone(),
                    host: host.clone(),
                    port: *port,
                    protocol: None,
                    health_check: None,
                    tags: tags.iter().cloned().collect(),
                    rds_identifier: rds_identifier.clone(),
                    account_id: account_id.clone(),
                    rds_arn: rds_arn.clone(),
                    listener_port: None,
                    router: None,
                    target_group: None,
                };
                let (route, created) = service::create_trusted(&ctx, &caller, &req).await?;
                let v = json!({"created": created, "route": service::view(&ctx, route)});
                print(cli.output, &v, &ROUTE_HEADERS, vec![route_row(&v["route"])]);
            }
            RoutesCommand::List { owner } => {
                let mut all = Vec::new();
                let mut next = None;
                loop {
                    let filter = ListFilter {
                        owner: owner.clone(),
                        tag: None,
                        limit: 100,
                        next,
                    };
                    let (page, n) = service::list(&ctx, &caller, &filter).await?;
                    all.extend(page.into_iter().map(|r| service::view(&ctx, r)));
                    match n {
                        Some(n) => next = Some(n),
                        None => break,
                    }
                }
                let v = serde_json::to_value(&all)?;
                let rows = v
                    .as_array()
                    .map(|a| a.iter().map(route_row).collect())
                    .unwrap_or_default();
                print(cli.output, &json!({"routes": v}), &ROUTE_HEADERS, rows);
            }
            RoutesCommand::Show { id } => {
                let d = service::detail(&ctx, &caller, id).await?;
                let v = serde_json::to_value(&d)?;
                let rows = d
                    .targets
                    .iter()
                    .map(|t| {
                        vec![
                            t.target.ip.to_string(),
                            t.target.port.to_string(),
                            t.state.clone(),
                        ]
                    })
                    .collect();
                if cli.output == Output::Table {
                    print(cli.output, &v, &ROUTE_HEADERS, vec![route_row(&v)]);
                }
                print(cli.output, &v, &["target", "port", "health"], rows);
            }
            RoutesCommand::Sync { id } => {
                let out = service::sync(&ctx, &caller, id).await?;
                let v = serde_json::to_value(&out)?;
                let mut rows: Vec<Vec<String>> = out
                    .plan
                    .register
                    .iter()
                    .map(|c| {
                        vec![
                            "register".into(),
                            c.target.ip.to_string(),
                            format!("{:?}", c.reason),
                        ]
                    })
                    .collect();
                rows.extend(out.plan.deregister.iter().map(|c| {
                    vec![
                        "deregister".into(),
                        c.target.ip.to_string(),
                        format!("{:?}", c.reason),
                    ]
                }));
                print(cli.output, &v, &["action", "target", "reason"], rows);
            }
            RoutesCommand::Rm { id } => {
                service::delete(&ctx, &caller, id).await?;
                print(
                    cli.output,
                    &json!({"deleted": id}),
                    &["deleted"],
                    vec![vec![id.clone()]],
                );
            }
        },
        Command::Plan { file } => {
            let raw = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let json: Value = serde_json::from_str(&raw)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let inputs = SeedInputs::from_json(&json)?;
            let health_check = inputs.health_check()?;
            let mut planned = Vec::new();
            let mut rows = Vec::new();
            for db in inputs.databases()? {
                let req = CreateRequest {
                    name: db.route_id.clone(),
                    host: db.host.clone(),
                    port: i64::from(db.port),
                    protocol: None,
                    health_check: Some(health_check),
                    tags: Default::default(),
                    rds_identifier: None,
                    account_id: None,
                    rds_arn: None,
                    listener_port: Some(i64::from(db.listener_port)),
                    router: None,
                    target_group: None,
                };
                let p = service::preview(&ctx, &caller, &req, &mut planned).await?;
                rows.push(json!({
                    "route": db.route_id,
                    "host": db.host,
                    "port": db.port,
                    "listener_port": p.listener_port,
                    "verdict": p.verdict,
                    "resolved": p.resolved,
                    "detail": p.detail,
                    "source": db.source,
                }));
            }
            let table_rows = rows
                .iter()
                .map(|r| {
                    vec![
                        r["route"].as_str().unwrap_or_default().to_owned(),
                        r["host"].as_str().unwrap_or_default().to_owned(),
                        r["listener_port"].to_string(),
                        r["verdict"].as_str().unwrap_or_default().to_owned(),
                        r["detail"].as_str().unwrap_or_default().to_owned(),
                    ]
                })
                .collect();
            print(
                cli.output,
                &json!({"plan": rows}),
                &["route", "host", "listener port", "verdict", "detail"],
                table_rows,
            );
        }
        Command::Audit { dry_run } => {
            eprintln!("auditing every route (this may take a while)…");
            let req = privatelink_router::audit::AuditRequest {
                dry_run: *dry_run,
                ..Default::default()
            };
            let report = privatelink_router::audit::audit(&ctx, req).await?;
            let v = serde_json::to_value(&report)?;
            let rows = v
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| k.as_str() != "routes")
                        .map(|(k, v)| vec![k.clone(), v.to_string()])
                        .collect()
                })
                .unwrap_or_default();
            print(cli.output, &v, &["audit", "value"], rows);
        }
        Command::Adopt {
            seed,
            router,
            dry_run,
        } => {
            let raw = std::fs::read_to_string(seed)
                .with_context(|| format!("reading {}", seed.display()))?;
            let json: Value = serde_json::from_str(&raw)
                .with_context(|| format!("{} is not JSON", seed.display()))?;
            let inputs = SeedInputs::from_json(&json)?;
            let report = adopt(&ctx, &caller, &inputs, router.as_deref(), *dry_run).await?;
            let rows = report
                .routes
                .iter()
                .map(|a| {
                    vec![
                        a.route_id.clone(),
                        a.host.clone(),
                        a.listener_port.to_string(),
                        a.target_group.clone().unwrap_or_default(),
                        a.action.clone(),
                        a.note.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print(
                cli.output,
                &serde_json::to_value(&report)?,
                &[
                    "route",
                    "host",
                    "listener port",
                    "target group",
                    "action",
                    "note",
                ],
                rows,
            );
        }
        Command::Ports => {
            let mut all = BTreeMap::new();
            let mut rows = Vec::new();
            for router in ctx.fleet.values() {
                let (entries, active) = ctx.store.ports(&router.config.id).await?;
                for e in &entries {
                    rows.push(vec![
                        e.router.clone(),
                        e.port.to_string(),
                        e.route_id.clone(),
                        e.state.clone(),
                        e.until.map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
                    ]);
                }
                all.insert(
                    router.config.id.clone(),
                    json!({"active": active, "ports": entries}),
                );
            }
            print(
                cli.output,
                &json!({"routers": all}),
                &["router", "port", "route", "state", "until"],
                rows,
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // CloudWatch EMF lines are for Lambda's log pipeline; on a terminal they would garble
    // the output (and break --output json).
    privatelink_router::metrics::redirect(Box::new(std::io::sink()));
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
