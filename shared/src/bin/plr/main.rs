//! `plr`: the operator CLI. Same library and configuration (`ROUTER_*` variables) as the
//! Lambdas, the standard AWS credential chain, and `--endpoint-url` for emulators.
//!
//! One module per subcommand (`routes`, `catalog`, `ports`, `audit`, `plan`, `adopt`); this
//! file holds the command line and the dispatch. Shared: `setup` (the router context, checked
//! in the operator's terms), `output` (JSON or tables that fit the terminal, prompts, paging),
//! `errors` (one line with the fix; warnings exit 3).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use privatelink_router::flows::service::Caller;

mod adopt;
mod audit;
mod catalog;
mod errors;
mod output;
mod plan;
mod ports;
mod routes;
mod setup;

use errors::{one_line, Declined, Warning};
use routes::RoutesCommand;

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
    /// Show the listener port allocation table of every router, and what each owner holds
    /// against the quotas (routes, TLS names).
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "plr", &mut std::io::stdout());
        return Ok(());
    }
    let ctx = setup::context(&cli).await?;
    let caller = Caller {
        principal: cli.principal.clone(),
    };
    let output = cli.output;
    match &cli.command {
        Command::Routes { command } => routes::run(&ctx, &caller, output, command).await,
        Command::Plan { file } => plan::run(&ctx, &caller, output, file).await,
        // Printed before any AWS client is built (above).
        Command::Completions { .. } => Ok(()),
        Command::Audit { dry_run, budget } => audit::run(ctx, output, dry_run, budget).await,
        Command::Adopt {
            seed,
            router,
            dry_run,
        } => adopt::run(&ctx, &caller, output, seed, router, dry_run).await,
        Command::Catalog { owner } => catalog::run(&ctx, &caller, output, owner).await,
        Command::Ports => ports::run(&ctx, output).await,
    }
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
    privatelink_router::adapters::aws::metrics::redirect(Box::new(std::io::sink()));
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
