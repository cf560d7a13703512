//! `plr`: the operator CLI. Same library and configuration (`ROUTER_*` variables) as the
//! Lambdas, the standard AWS credential chain, and `--endpoint-url` for emulators.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_dynamodb::config::ProvideCredentials;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use privatelink_router::adopt::adopt;
use privatelink_router::audit::{AuditRequest, Progress};
use privatelink_router::aws::{retry_config, timeout_config, Clients};
use privatelink_router::config::{Config, ConfigError};
use privatelink_router::context::{Context, InitError};
use privatelink_router::log_fields::tag;
use privatelink_router::plan::LookupFailure;
use privatelink_router::route::Route;
use privatelink_router::router::RouterError;
use privatelink_router::seed_inputs::SeedInputs;
use privatelink_router::service::{self, Caller, CreateRequest, ListFilter, ServiceError};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "plr",
    version,
    about = "Operate a privatelink-router: routes, audit, plan, ports",
    after_help = "Every other ROUTER_* variable the Lambdas read (README, \"Configuration\") is read \
                  here too. AWS credentials come from the SDK's usual chain (AWS_PROFILE, \
                  AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, instance roles)."
)]
struct Cli {
    /// The router's DynamoDB table (the Terraform module's output `table_name`).
    #[arg(long, global = true, env = "ROUTER_TABLE")]
    table: Option<String>,
    /// The routers: JSON list of {id, nlb_arn, endpoint_service_name, consumer_domain?} (the Terraform module's
    /// output `fleet`).
    #[arg(long, global = true, env = "ROUTER_FLEET", hide_env_values = true)]
    fleet: Option<String>,
    /// DNS servers to resolve databases with (`ip` or `ip:port`, comma-separated); default:
    /// the system's.
    #[arg(long, global = true, env = "ROUTER_DNS_SERVERS")]
    dns_servers: Option<String>,
    /// AWS region of the routers.
    #[arg(long, global = true, env = "AWS_REGION")]
    region: Option<String>,
    /// AWS endpoint override (e.g. a local emulator); default: the SDK's own resolution.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// On errors, print the whole chain of causes (AWS request ids, SDK detail).
    #[arg(long, short, global = true)]
    verbose: bool,
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
    /// How consumers reach each route: one line per route with its consumer address and a
    /// connection string, then the domain names each router's Databricks private endpoint
    /// rule must carry, as a Terraform value.
    Catalog {
        /// Only routes of this owner.
        #[arg(long)]
        owner: Option<String>,
    },
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
    /// Audit every route now: repair drift (or, with --dry-run, only report it). A progress
    /// bar shows routes audited on a terminal.
    Audit {
        /// Report what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Stop starting routes after this many seconds (default ROUTER_AUDIT_BUDGET_SECONDS);
        /// a run that stops early reports `complete: false` and the next resumes there.
        #[arg(long, value_name = "SECONDS")]
        budget: Option<u64>,
    },
    /// Print a shell completion script: `plr completions bash > ~/.local/share/bash-completion/completions/plr`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Commands that only read the route table: they work while an NLB cannot be read.
    fn reads_only(&self) -> bool {
        matches!(
            self,
            Command::Ports
                | Command::Catalog { .. }
                | Command::Routes {
                    command: RoutesCommand::List { .. }
                        | RoutesCommand::Show { .. }
                        | RoutesCommand::Rm { dry_run: true, .. }
                }
        )
    }
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
        /// Consumers connect by the database's own host name, which the router's private
        /// endpoint rule then carries, so TLS certificate checks pass (10 names per rule).
        #[arg(long)]
        tls_name: bool,
        /// The database engine, for `plr catalog`'s connection strings (learned from the
        /// router's RDS API when absent and the database is there).
        #[arg(long, value_parser = ["postgres", "mysql", "mariadb"])]
        engine: Option<String>,
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
    /// Remove a route (listener, target group; the port is quarantined). Asks first unless
    /// --yes.
    Rm {
        /// Route id.
        id: String,
        /// Show what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove without asking (required when stdin is not a terminal).
        #[arg(long, short)]
        yes: bool,
    },
}

fn parse_tag(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} is not key=value"))
}

/// The router context from the flags and the environment. Fails early, in the operator's
/// terms, when no region or no credentials are configured.
async fn context(cli: &Cli) -> anyhow::Result<Context> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = &cli.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &cli.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    if sdk.region().is_none_or(|r| r.as_ref().trim().is_empty()) {
        anyhow::bail!(Hint(
            "no AWS region: set AWS_REGION (or --region) to the routers' region".into()
        ));
    }
    let creds = match sdk.credentials_provider() {
        Some(p) => p
            .provide_credentials()
            .await
            .map(drop)
            .map_err(anyhow::Error::new),
        None => Err(anyhow::anyhow!("no credentials provider")),
    };
    if let Err(e) = creds {
        let hint = match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
            Some(profile) => format!(
                "no AWS credentials from profile {profile:?} ({e}): check it in ~/.aws/config, or run `aws sso login --profile {profile}`"
            ),
            None => "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`".into(),
        };
        return Err(e.context(Hint(hint)));
    }
    let flags = [
        ("ROUTER_TABLE", &cli.table),
        ("ROUTER_FLEET", &cli.fleet),
        ("ROUTER_DNS_SERVERS", &cli.dns_servers),
    ];
    let lookup = |k: &str| {
        flags
            .iter()
            .find(|(name, _)| *name == k)
            .map_or_else(|| std::env::var(k).ok(), |(_, v)| (*v).clone())
    };
    let mut config = Config::from_lookup(&lookup)?;
    config.admin_principals.insert(cli.principal.clone());
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let clients = Clients::from_sdk_config(&sdk);
    let e = match Context::build(config.clone(), clients.clone()).await {
        Ok(ctx) => return Ok(ctx),
        Err(e) => e,
    };
    let hint = match &e {
        InitError::Router {
            router,
            source: RouterError::Elb(elb),
        } if elb.is_not_found() => {
            let arn = config
                .fleet
                .iter()
                .find(|r| &r.id == router)
                .map(|r| r.nlb_arn.clone())
                .unwrap_or_default();
            Some(Hint(format!(
                "router {router}: its NLB {arn} does not exist in {region}: check --fleet/ROUTER_FLEET (the Terraform module's output fleet) and AWS_REGION"
            )))
        }
        _ => None,
    };
    // Reading the route table needs no NLB: say which is missing and go on without NLB facts.
    // (Anything else — AWS unreachable, no permission — would fail the table reads too.)
    if let (true, Some(Hint(why))) = (cli.command.reads_only(), &hint) {
        eprintln!("warning: {why}; showing the route table only, without NLB details");
        return Ok(Context::for_reading(config, clients)?);
    }
    Err(match hint {
        Some(h) => anyhow::Error::new(e).context(h),
        None => anyhow::Error::new(e),
    })
}

/// A requested change that was made only in part (e.g. a route created but its name does not
/// resolve): printed as `warning: …`, exit code 3 (1 is an error, 2 a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Warning(String);

/// The warning for a route whose latest lookup failed: it has no target from it.
fn dns_warning(route: &Route) -> Option<String> {
    let stored = route.resolutions.first()?.error.as_ref()?;
    // Stored as the failure's serde name (`nx_domain`): shown in words.
    let error = serde_json::from_value::<LookupFailure>(Value::String(stored.clone()))
        .map_or_else(|_| stored.clone(), |f| f.to_string());
    Some(format!(
        "{} did not resolve: {error}; route {} has no new target and follows the name once it resolves (`plr routes sync {}`)",
        route.spec.host,
        route.id(),
        route.id()
    ))
}

/// A confirmation answered no: printed as is (no `error:`), exit code 1 — as `terraform
/// destroy` or `gcloud` do — so a script never reads a declined change as done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Declined(String);

/// An error message already in the operator's terms, with the fix: printed alone (its causes
/// only with `--verbose`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Hint(String);

/// The one line shown for an error: a [`Hint`] as is; a missing table named with its fix;
/// otherwise the outermost message only. `verbose` adds every cause.
fn one_line(
    e: &anyhow::Error,
    table: Option<&str>,
    endpoint: Option<&str>,
    region: Option<&str>,
    verbose: bool,
) -> String {
    let text = e
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let head = if let Some(h) = e.chain().find_map(|c| c.downcast_ref::<Hint>()) {
        h.0.clone()
    } else if text.contains("ResourceNotFoundException") {
        format!(
            "the route table {} does not exist in {}: check --table/ROUTER_TABLE (the Terraform module's output table_name) and --region/AWS_REGION",
            table.unwrap_or("(ROUTER_TABLE unset)"),
            region.unwrap_or("this region")
        )
    } else if let Some(id) = e
        .chain()
        .find_map(|c| match c.downcast_ref::<ServiceError>() {
            Some(ServiceError::NotFound(id)) => Some(id.clone()),
            _ => None,
        })
    {
        format!("route {id} not found: `plr routes list` shows the routes you may see")
    } else if let Some(var @ ("ROUTER_TABLE" | "ROUTER_FLEET")) = e
        .chain()
        .find_map(|c| c.downcast_ref::<ConfigError>())
        .map(|c| c.var)
    {
        let (flag, output) = match var {
            "ROUTER_TABLE" => ("--table", "table_name"),
            _ => ("--fleet", "fleet"),
        };
        format!("{e}; set {flag} or {var} (the Terraform module's output {output})")
    } else if text.contains("failed to apply endpoint") {
        format!(
            "{} is not a valid endpoint URL (scheme://host[:port]); check --endpoint-url/AWS_ENDPOINT_URL",
            endpoint.unwrap_or("the AWS endpoint")
        )
    } else if text.contains("request has timed out") {
        format!(
            "AWS did not answer in time at {}: check --endpoint-url/AWS_ENDPOINT_URL, AWS_REGION and the network (-v for detail)",
            endpoint.unwrap_or("its regional endpoint")
        )
    } else if text.contains("unhandled error") && endpoint.is_some() {
        format!(
            "{} does not answer as AWS does (no AWS error in its reply): check --endpoint-url/AWS_ENDPOINT_URL (-v for detail)",
            endpoint.unwrap_or_default()
        )
    } else if text.contains("dispatch failure") {
        // The SDK never reached AWS: say where it tried and why, not the connector's dump.
        let why = [
            ("Connection refused", "connection refused"),
            ("dns error", "the host name does not resolve"),
            ("timed out", "timed out"),
            ("invalid URL", "not a valid URL"),
            ("InvalidUri", "not a valid URL"),
        ]
        .iter()
        .find(|(k, _)| text.contains(k))
        .map_or("unreachable", |(_, w)| w);
        format!(
            "cannot reach AWS at {}: {why}; check --endpoint-url/AWS_ENDPOINT_URL, AWS_REGION and the network (-v for detail)",
            endpoint.unwrap_or("its regional endpoint")
        )
    } else {
        e.to_string()
    };
    let head = head.replace('\n', " ");
    if !verbose {
        return head;
    }
    let head = head.replace(" (-v for detail)", "");
    // Each cause once (an outer message often ends with its cause's), at most 300 characters
    // (the SDK's own messages may carry a whole request).
    let mut causes: Vec<String> = Vec::new();
    for cause in e.chain().map(|c| c.to_string().replace('\n', " ")) {
        let repeated = head.ends_with(cause.as_str())
            || head.starts_with(cause.as_str())
            || causes
                .last()
                .is_some_and(|last| last.ends_with(cause.as_str()));
        if !repeated {
            causes.push(cause);
        }
    }
    let causes: Vec<String> = causes
        .into_iter()
        .map(|c| match c.char_indices().nth(300) {
            Some((cut, _)) => format!("{}…", &c[..cut]),
            None => c,
        })
        .collect();
    if causes.is_empty() {
        head
    } else {
        format!("{head}\n  caused by: {}", causes.join("\n  caused by: "))
    }
}

fn print(output: Output, value: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    println!("{}", render(headers, rows, terminal_width()));
}

/// The width to fit: COLUMNS when set (shells export it, and pipes need it), else the
/// terminal's; none when neither is known (a pipe: print whole lines). A width of 0 (a
/// pseudo-terminal without a size, or COLUMNS=0) would fit nothing: 100 then.
fn terminal_width() -> Option<u16> {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .or_else(|| Table::new().width());
    width.map(|w| if w < 20 { 100 } else { w })
}

/// Rows as a table when it fits `width`, else as one block of `header  value` lines per
/// row (psql's expanded display): a host or endpoint service name is never broken across
/// lines, so it can be read and copied whole. A key/value table (two columns) that does not
/// fit wraps its values instead.
fn render(headers: &[&str], rows: Vec<Vec<String>>, width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    for r in &rows {
        t.add_row(r.clone());
    }
    let table = t.to_string();
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    if width.is_none_or(|w| widest <= usize::from(w)) {
        return table;
    }
    if let (2, Some(w)) = (headers.len(), width) {
        // A key/value table is already one value per line: wrap the values (at spaces).
        t.set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(w);
        return t.to_string();
    }
    let key_width = headers.iter().map(|h| h.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        out.push(format!("-[ RECORD {} ]-", i + 1));
        for (header, value) in headers.iter().zip(row) {
            out.push(format!("{header:<key_width$}  {value}"));
        }
    }
    out.join("\n")
}

/// Asks `question` on the terminal; true for `y`/`yes`. Without a terminal, refuses with the
/// fix (`--yes`) rather than guess: `{undone}: there is no terminal to ask for confirmation
/// on; pass --yes to confirm`.
fn confirm(question: &str, undone: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(Hint(format!(
            "{undone}: there is no terminal to ask for confirmation on; pass --yes to confirm"
        )));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// A route's table row: what a database owner and a Databricks admin need (the endpoint
/// service and listener port are the consumer's address).
fn route_row(v: &Value) -> Vec<String> {
    vec![
        cell(&v["id"]),
        cell(&v["host"]),
        cell(&v["port"]),
        cell(&v["connection"]["endpoint_service_name"]),
        cell(&v["listener_port"]),
        cell(&v["status"]),
    ]
}

const ROUTE_HEADERS: [&str; 6] = [
    "route",
    "host",
    "db port",
    "endpoint service",
    "listener port",
    "status",
];

/// Every page of a listing of `owner`'s routes (all routes when `None`), 100 at a time:
/// `page` answers one page and the id to continue after.
async fn all_pages<P, F, Fut>(owner: &Option<String>, mut page: F) -> anyhow::Result<Vec<P>>
where
    F: FnMut(ListFilter) -> Fut,
    Fut: std::future::Future<Output = Result<(P, Option<String>), ServiceError>>,
{
    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let filter = ListFilter {
            owner: owner.clone(),
            tag: None,
            limit: 100,
            next,
        };
        let (one, n) = page(filter).await?;
        pages.push(one);
        match n {
            Some(n) => next = Some(n),
            None => return Ok(pages),
        }
    }
}

/// A catalog entry's table row: the consumer address and one connection string (JDBC), or
/// what is missing.
fn catalog_row(e: &service::CatalogEntry) -> Vec<String> {
    let address = e
        .consumer
        .as_ref()
        .map_or("-".to_owned(), |a| format!("{}:{}", a.host, a.port));
    let connection = match (&e.urls, e.notes.first()) {
        (Some(urls), _) => urls.jdbc.clone(),
        (None, Some(note)) => note.clone(),
        (None, None) => "-".to_owned(),
    };
    let tag = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    vec![
        e.route.to_string(),
        address,
        tag(e.engine.map(|x| privatelink_router::log_fields::tag(&x))),
        connection,
        tag(e.health.map(|x| privatelink_router::log_fields::tag(&x))),
    ]
}

/// A JSON value as a table cell: strings bare, null as `-`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "plr", &mut std::io::stdout());
        return Ok(());
    }
    let mut ctx = context(&cli).await?;
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
                tls_name,
                engine,
            } => {
                let engine = engine
                    .as_deref()
                    .map(|e| serde_json::from_value(json!(e)))
                    .transpose()?;
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
                    tls_name: *tls_name,
                    engine,
                };
                let (route, created) = service::create_trusted(&ctx, &caller, &req).await?;
                let warning = dns_warning(&route);
                let v = json!({"created": created, "route": service::view(&ctx, route)});
                print(cli.output, &v, &ROUTE_HEADERS, vec![route_row(&v["route"])]);
                if let Some(w) = warning {
                    return Err(Warning(w).into());
                }
            }
            RoutesCommand::List { owner } => {
                let (ctx, caller) = (&ctx, &caller);
                let pages = all_pages(owner, |filter| async move {
                    service::list(ctx, caller, &filter).await
                })
                .await?;
                let all: Vec<_> = pages
                    .into_iter()
                    .flatten()
                    .map(|r| service::view(ctx, r))
                    .collect();
                let v = serde_json::to_value(&all)?;
                let rows = v
                    .as_array()
                    .map(|a| a.iter().map(route_row).collect())
                    .unwrap_or_default();
                // As the API's last page (`RoutePage`).
                print(
                    cli.output,
                    &json!({"routes": v, "next": null}),
                    &ROUTE_HEADERS,
                    rows,
                );
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
                if cli.output == Output::Table {
                    let health = tag(&d.health.health);
                    match &d.health.reason {
                        Some(why) => println!("health: {health}: {why}"),
                        None => println!("health: {health}"),
                    }
                    if !d.nlb_private_ips.is_empty() {
                        println!(
                            "NLB private IPs (the database's security group must admit them): {}",
                            d.nlb_private_ips.join(", ")
                        );
                    }
                }
            }
            RoutesCommand::Sync { id } => {
                let out = service::sync(&ctx, &caller, id).await?;
                let warning = dns_warning(&out.route);
                // As the API answers (`SyncResult`): the outcome and the route afterwards.
                let mut v = serde_json::to_value(&out)?;
                v["route"] = serde_json::to_value(service::view(&ctx, out.route.clone()))?;
                let rows: Vec<Vec<String>> = [
                    ("register", &out.plan.register),
                    ("deregister", &out.plan.deregister),
                ]
                .into_iter()
                .flat_map(|(action, changes)| {
                    changes
                        .iter()
                        .map(move |c| vec![action.into(), c.target.ip.to_string(), tag(&c.reason)])
                })
                .collect();
                if rows.is_empty() && cli.output == Output::Table {
                    let targets = out.route.resolutions.first().map_or_else(String::new, |r| {
                        r.ips
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    });
                    match targets.is_empty() {
                        true => println!("{id}: nothing to change"),
                        false => println!("{id}: nothing to change; DNS answers {targets}"),
                    }
                } else {
                    print(cli.output, &v, &["action", "target", "reason"], rows);
                }
                if let Some(w) = warning {
                    return Err(Warning(w).into());
                }
            }
            RoutesCommand::Rm { id, dry_run, yes } => {
                let route = service::get(&ctx, &caller, id).await?;
                let what = json!({
                    "route": id,
                    "router": route.router,
                    "listener_port": route.listener_port,
                    "listener": route.listener_arn,
                    "target_group": route.target_group_arn,
                    "port_free_again_after": (chrono::Utc::now() + ctx.config.port_quarantine)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                });
                let row = |v: &Value| {
                    [
                        "route",
                        "router",
                        "listener_port",
                        "listener",
                        "target_group",
                        "port_free_again_after",
                    ]
                    .iter()
                    .map(|k| cell(&v[*k]))
                    .collect::<Vec<_>>()
                };
                let headers = [
                    "route",
                    "router",
                    "listener port",
                    "listener",
                    "target group",
                    "port free again after",
                ];
                if *dry_run {
                    print(
                        cli.output,
                        &json!({"dry_run": true, "would_delete": what}),
                        &headers,
                        vec![row(&what)],
                    );
                    return Ok(());
                }
                let undone = format!("route {id} not removed");
                let question = format!(
                    "remove route {id}, listener port {} of router {}? The port stays quarantined until {}.",
                    route.listener_port, route.router, what["port_free_again_after"].as_str().unwrap_or("later")
                );
                if !yes && !confirm(&question, &undone)? {
                    return Err(Declined(undone).into());
                }
                service::delete(&ctx, &caller, id).await?;
                print(
                    cli.output,
                    &json!({"deleted": what}),
                    &headers,
                    vec![row(&what)],
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
                    tls_name: false,
                    engine: None,
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
        // Printed before any AWS client is built (above).
        Command::Completions { .. } => {}
        Command::Audit { dry_run, budget } => {
            if let Some(secs) = budget {
                ctx.config.audit_budget = Duration::from_secs(*secs);
            }
            // Drawn on stderr when it is a terminal; hidden in pipes and CI.
            // Drawn from the first route on (no `0/0` frame while seeds and the snapshot load).
            let template = format!(
                "auditing {{bar:30}} {{pos}}/{{len}} routes, {{elapsed}} (budget {} s)",
                ctx.config.audit_budget.as_secs()
            );
            let bar = ProgressBar::new(0).with_style(
                ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            let shown = bar.clone();
            let req = AuditRequest {
                dry_run: *dry_run,
                progress: Some(Progress(Arc::new(move |done, total| {
                    shown.set_length(total as u64);
                    shown.set_position(done as u64);
                }))),
                ..Default::default()
            };
            let report = privatelink_router::audit::audit(&ctx, req).await;
            bar.finish_and_clear();
            let report = report?;
            let v = serde_json::to_value(&report)?;
            let rows = report.rows().into_iter().map(|(k, v)| vec![k, v]).collect();
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
        Command::Catalog { owner } => {
            let (ctx, caller) = (&ctx, &caller);
            let pages = all_pages(owner, |filter| async move {
                let page = service::catalog(ctx, caller, &filter).await?;
                let next = page.next.clone();
                Ok((page, next))
            })
            .await?;
            let (mut routes, mut rules) = (Vec::new(), BTreeMap::new());
            for page in pages {
                routes.extend(page.routes);
                for rule in page.rules {
                    rules.insert(rule.router.clone(), rule);
                }
            }
            let rules: Vec<_> = rules.into_values().collect();
            let v = json!({"routes": routes, "rules": rules});
            let rows = routes.iter().map(catalog_row).collect();
            print(
                cli.output,
                &v,
                &[
                    "route",
                    "consumer address",
                    "engine",
                    "connection",
                    "health",
                ],
                rows,
            );
            if cli.output == Output::Table {
                for rule in &rules {
                    println!(
                        "\n# router {} (endpoint service {}): its private endpoint rule's domain names, {} more fit\ndomain_names = {}",
                        rule.router,
                        rule.endpoint_service_name,
                        rule.room,
                        serde_json::to_string(&rule.domain_names)?
                    );
                }
            }
        }
        Command::Ports => {
            let mut all = BTreeMap::new();
            let mut rows = Vec::new();
            for router in &ctx.config.fleet {
                let (entries, active) = ctx.store.ports(&router.id).await?;
                for e in &entries {
                    rows.push(vec![
                        e.router.clone(),
                        e.port.to_string(),
                        e.route_id.clone(),
                        e.state.clone(),
                        e.until
                            .and_then(|u| chrono::DateTime::from_timestamp(u, 0))
                            .map_or_else(
                                || "-".into(),
                                |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            ),
                    ]);
                }
                all.insert(
                    router.id.clone(),
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
    // `plr … | head`: end quietly when the reader goes away, as Unix tools do (Rust ignores
    // SIGPIPE, so the next print would panic with "Broken pipe").
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // CloudWatch EMF lines are for Lambda's log pipeline; on a terminal they would garble
    // the output (and break --output json).
    privatelink_router::metrics::redirect(Box::new(std::io::sink()));
    let (table, endpoint, verbose) = (cli.table.clone(), cli.endpoint_url.clone(), cli.verbose);
    let region = cli.region.clone();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match (e.downcast_ref::<Warning>(), e.downcast_ref::<Declined>()) {
            (Some(w), _) => {
                eprintln!("warning: {w}");
                // 3: 1 is an error, 2 a usage error (clap).
                ExitCode::from(3)
            }
            (_, Some(declined)) => {
                eprintln!("{declined}");
                ExitCode::FAILURE
            }
            (None, None) => {
                eprintln!(
                    "error: {}",
                    one_line(
                        &e,
                        table.as_deref(),
                        endpoint.as_deref(),
                        region.as_deref(),
                        verbose
                    )
                );
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<String>> {
        let row = |id: &str, host: &str| {
            [
                id,
                host,
                "5432",
                "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                "10000",
                "active",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        vec![
            row(
                "orders",
                "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
            ),
            row("billing", "billing.db.test"),
        ]
    }

    /// Issue #17: at 80 columns a table of RDS hosts used to wrap them mid-name
    /// (`orders.cluste` / `r-c9akciq32ab` / …); now each row is a block of whole values.
    #[test]
    fn a_table_too_wide_for_the_terminal_becomes_records_with_whole_values() {
        let out = render(&ROUTE_HEADERS, rows(), Some(80));
        assert!(out.starts_with("-[ RECORD 1 ]-"), "{out}");
        for value in rows().concat() {
            assert!(
                out.lines().any(|l| l.ends_with(&format!("  {value}"))),
                "{value} is not whole on one line:\n{out}"
            );
        }
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    }

    /// The newcomer trial: `plr audit` at 80 columns became 20 one-line records; a key/value
    /// table wraps its values instead.
    #[test]
    fn a_key_value_table_too_wide_wraps_its_values() {
        let calls = (1..=8)
            .map(|i| format!("DescribeTargetGroupAttributes{i}: {i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = vec![
            vec!["routes_seen".to_owned(), "3".to_owned()],
            vec!["aws_calls".to_owned(), calls],
        ];
        let out = render(&["audit", "value"], rows, Some(80));
        assert!(!out.contains("RECORD"), "{out}");
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(out.contains("routes_seen"), "{out}");
    }

    #[test]
    fn a_table_that_fits_or_goes_to_a_pipe_stays_a_table() {
        for width in [Some(200), None] {
            let out = render(&ROUTE_HEADERS, rows(), width);
            assert!(out.starts_with('┌'), "{out}");
            assert_eq!(out.lines().filter(|l| l.contains("vpce-svc")).count(), 2);
        }
    }
}
