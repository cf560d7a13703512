//! `plr routes …`: add, list, show, sync and remove routes.

use clap::Subcommand;
use privatelink_router::context::Context;
use privatelink_router::domain::log_fields::tag;
use privatelink_router::flows::service::{self, Caller, CreateRequest};
use serde_json::{json, Value};

use crate::errors::{dns_warning, Declined, Warning};
use crate::output::{all_pages, cell, confirm, print, route_row, ROUTE_HEADERS};
use crate::Output;

#[derive(Subcommand)]
pub(crate) enum RoutesCommand {
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
        /// Seconds a connection may carry no bytes before the NLB closes it (60-6000; default
        /// the deployment's ROUTER_IDLE_TIMEOUT_SECONDS).
        #[arg(long)]
        idle_timeout_seconds: Option<i64>,
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

/// Runs one `routes` subcommand.
pub(crate) async fn run(
    ctx: &Context,
    caller: &Caller,
    output: Output,
    command: &RoutesCommand,
) -> anyhow::Result<()> {
    match command {
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
            idle_timeout_seconds,
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
                idle_timeout_seconds: *idle_timeout_seconds,
            };
            let (route, created) = service::create_trusted(ctx, caller, &req).await?;
            let warning = dns_warning(&route);
            let diagnoses = match created {
                true => service::diagnose_new(ctx, &route).await,
                false => vec![],
            };
            let causes: Vec<String> = diagnoses
                .iter()
                .map(|d| format!("{}: {}", label(d), d.line))
                .collect();
            let mut view = service::view(ctx, route);
            view.diagnoses = diagnoses;
            let v = json!({"created": created, "route": view});
            print(output, &v, &ROUTE_HEADERS, vec![route_row(&v["route"])]);
            if output == Output::Table {
                for cause in causes {
                    println!("{cause}");
                }
            }
            if let Some(w) = warning {
                return Err(Warning(w).into());
            }
        }
        RoutesCommand::List { owner } => {
            let (ctx, caller) = (ctx, caller);
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
                output,
                &json!({"routes": v, "next": null}),
                &ROUTE_HEADERS,
                rows,
            );
        }
        RoutesCommand::Show { id } => {
            let d = service::detail(ctx, caller, id).await?;
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
            if output == Output::Table {
                print(output, &v, &ROUTE_HEADERS, vec![route_row(&v)]);
            }
            print(output, &v, &["target", "port", "health"], rows);
            if output == Output::Table {
                let health = tag(&d.health.health);
                match &d.health.reason {
                    Some(why) => println!("health: {health}: {why}"),
                    None => println!("health: {health}"),
                }
                // One line per cause, with its fix (issue #29: the first place an operator
                // looks says why a target is unhealthy).
                for diagnosis in &d.health.diagnoses {
                    println!("{}: {}", label(diagnosis), diagnosis.line);
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
            let out = service::sync(ctx, caller, id).await?;
            let warning = dns_warning(&out.route);
            // As the API answers (`SyncResult`): the outcome and the route afterwards.
            let mut v = serde_json::to_value(&out)?;
            v["route"] = serde_json::to_value(service::view(ctx, out.route.clone()))?;
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
            if rows.is_empty() && output == Output::Table {
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
                print(output, &v, &["action", "target", "reason"], rows);
            }
            if let Some(w) = warning {
                return Err(Warning(w).into());
            }
        }
        RoutesCommand::Rm { id, dry_run, yes } => {
            let route = service::get(ctx, caller, id).await?;
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
                    output,
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
            service::delete(ctx, caller, id).await?;
            print(
                output,
                &json!({"deleted": what}),
                &headers,
                vec![row(&what)],
            );
        }
    }
    Ok(())
}

/// How `plr` labels a diagnosis line: `cause:` (why checks fail), `risk:` (what breaks
/// connections while they pass).
fn label(d: &privatelink_router::domain::diagnosis::Diagnosis) -> &'static str {
    match d.cause.is_risk() {
        true => "risk",
        false => "cause",
    }
}
