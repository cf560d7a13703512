//! Configuration: read once from the environment at cold start, validated.
//!
//! Every variable is listed in [`ENV_VARS`], documented in the README and set by Terraform
//! (a test checks the three agree).

use scratchstack_arn::Arn;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::adapters::dns::parse_servers;
use crate::domain::exposure::{ExposurePolicy, Grant, ANY_CALLER};
use crate::domain::host::HostPolicy;
use crate::domain::router::RouterConfig;
use ipnet::Ipv4Net;

/// Every environment variable the router reads (besides the AWS SDK's own `AWS_*`).
pub const ENV_VARS: &[&str] = &[
    "ROUTER_TABLE",
    "ROUTER_DEPLOYMENT",
    "ROUTER_FLEET",
    "ROUTER_DNS_SERVERS",
    "ROUTER_PORT_RANGE",
    "ROUTER_PORT_QUARANTINE_SECONDS",
    "ROUTER_WINDOW",
    "ROUTER_READER_RETENTION_SECONDS",
    "ROUTER_GONE_AFTER_SECONDS",
    "ROUTER_RDS_MEMBERSHIP",
    "ROUTER_RDS_ROLE_ARNS",
    "ROUTER_DEREGISTRATION_DELAY_SECONDS",
    "ROUTER_IDLE_TIMEOUT_SECONDS",
    "ROUTER_TARGETS_PER_NLB",
    "ROUTER_ADMIN_PRINCIPALS",
    "ROUTER_CALLER_GRANTS",
    "ROUTER_DATABASE_CIDRS",
    "ROUTER_DATABASE_PORTS",
    "ROUTER_ROUTES_PER_OWNER",
    "ROUTER_TLS_NAMES_PER_OWNER",
    "ROUTER_TARGETS_PER_ROUTE",
    "ROUTER_HOST_SUFFIXES",
    "ROUTER_ALLOW_IP_LITERALS",
    "ROUTER_EVENT_ACCOUNTS",
    "ROUTER_DNS_POLL_DEADLINE_SECONDS",
    "ROUTER_AUDIT_CONCURRENCY",
    "ROUTER_AUDIT_BUDGET_SECONDS",
    "ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND",
    "ROUTER_ORPHAN_GRACE_SECONDS",
    "ROUTER_DRY_RUN",
    "ROUTER_METRICS_NAMESPACE",
    "ROUTER_DATABRICKS_HOST",
    "ROUTER_DATABRICKS_ACCOUNT_ID",
    "ROUTER_DATABRICKS_NCC_ID",
    "ROUTER_DATABRICKS_CLIENT_ID",
    "ROUTER_DATABRICKS_CLIENT_SECRET_ARN",
];

/// A configuration value is missing or malformed.
#[derive(Debug, thiserror::Error)]
#[error("configuration {var}: {message}")]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// What is wrong.
    pub message: String,
}

/// The router's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table.
    pub table: String,
    /// This deployment's name (the Terraform module's `service_name`): part of every target
    /// group name the router makes and the value of the deployment tag on every resource it
    /// creates or adopts, so two deployments in one account and region never share, change or
    /// sweep each other's resources.
    pub deployment: String,
    /// Routers (NLB + endpoint service), in the order new routes fill them.
    pub fleet: Vec<RouterConfig>,
    /// DNS servers; empty = system resolver.
    pub dns_servers: Vec<SocketAddr>,
    /// Listener ports handed out, inclusive.
    pub port_range: (u16, u16),
    /// How long a released port waits before reuse.
    pub port_quarantine: Duration,
    /// K: successful lookups an IP may be absent from before it is stale.
    pub window: u32,
    /// How long an IP a reader or custom endpoint stopped answering stays a target (seconds;
    /// see [`crate::domain::window`] for why the default is 2 hours).
    pub reader_retention_secs: i64,
    /// How long a route's name must keep answering NXDOMAIN before its targets go and the route
    /// is `source_gone` (seconds; see [`crate::domain::plan::DEFAULT_GONE_AFTER_SECS`]).
    pub gone_after_secs: i64,
    /// Read the members of Aurora reader and custom endpoints from the RDS API.
    pub rds_membership: bool,
    /// IAM roles in other accounts the router assumes to read their RDS API
    /// (`arn:aws:iam::<account>:role/<name>`).
    pub rds_role_arns: Vec<String>,
    /// Target group deregistration delay.
    pub deregistration_delay_secs: u32,
    /// Listener idle timeout of routes that set none (seconds, 60-6000;
    /// [`DEFAULT_IDLE_TIMEOUT_SECS`]).
    pub idle_timeout_secs: u32,
    /// Targets one NLB may hold, as placement budgets them
    /// ([`crate::domain::target_budget::TARGETS_PER_NLB`] unless AWS raised the quota).
    pub targets_per_nlb: usize,
    /// IAM principals (ARNs) allowed to see and change every route.
    pub admin_principals: BTreeSet<String>,
    /// Who may publish which database: database ports and the callers' grants
    /// ([`crate::domain::exposure`]).
    pub exposure: ExposurePolicy,
    /// The deployment's database CIDRs (`ROUTER_DATABASE_CIDRS`, default the RFC 1918 and
    /// RFC 6598 ranges): the only addresses that become targets, as the NLBs' security group
    /// egress allows only them.
    pub database_cidrs: Vec<Ipv4Net>,
    /// Host name rules.
    pub host_policy: HostPolicy,
    /// Accounts whose RDS events are accepted; empty = only events whose account is in
    /// `fleet` ARNs.
    pub event_accounts: BTreeSet<String>,
    /// How long an event handler polls DNS for the answer to change.
    pub dns_poll_deadline: Duration,
    /// Routes audited at once.
    pub audit_concurrency: usize,
    /// Time an audit run may take before it stops and leaves the rest for the next run.
    pub audit_budget: Duration,
    /// ELBv2 calls a second the full drift audit may make (its [`crate::adapters::aws::rate_budget`]); 0 =
    /// unpaced. The DNS watch, events and the API are not paced: they call ELBv2 only for
    /// routes that moved.
    pub audit_elbv2_calls_per_second: u32,
    /// How long an orphan stays before the audit deletes it.
    pub orphan_grace: Duration,
    /// Report only, change nothing.
    pub dry_run: bool,
    /// CloudWatch namespace of the metrics.
    pub metrics_namespace: String,
    /// The Databricks account API, when configured: the router then keeps each router's
    /// private endpoint rule's `domain_names` equal to its routes' and reports rule health.
    pub databricks: Option<crate::adapters::databricks::DatabricksConfig>,
}

/// Default of `ROUTER_DEPLOYMENT`: the Terraform module's default `service_name`.
pub const DEFAULT_DEPLOYMENT: &str = "privatelink-router";

/// `ROUTER_DEPLOYMENT`: 1-24 of `a-z`, `0-9` and `-`, no `-` at either end (the module's
/// `service_name` rule, from the NLB naming rules).
fn deployment(env: &dyn Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let value = get(env, "ROUTER_DEPLOYMENT").unwrap_or_else(|| DEFAULT_DEPLOYMENT.to_owned());
    let ok = (1..=24).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(value)
    } else {
        Err(ConfigError {
            var: "ROUTER_DEPLOYMENT",
            message: format!(
                "{value:?} is not a deployment name: 1-24 of a-z, 0-9 and '-', no '-' at either end (the Terraform module's service_name)"
            ),
        })
    }
}

/// The full audit's default ELBv2 rate budget, in calls a second: half of ELBv2's documented
/// refill rate for `Describe*` calls (10 a second per account and region, "Request throttling
/// for the ELB API"), leaving the rest to events, the API and the account's other callers.
pub const DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND: u32 = 5;

/// The most `ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND` may be: ELBv2's documented refill rate of
/// the account's `Describe*` bucket; more than that would throttle the account by itself.
pub const MAX_AUDIT_ELBV2_CALLS_PER_SECOND: u32 = 10;

fn audit_rate(env: &dyn Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    const VAR: &str = "ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND";
    let bad = |v: &str| {
        ConfigError {
        var: VAR,
        message: format!(
            "{v:?} is not a whole number from 0 (unpaced) to {MAX_AUDIT_ELBV2_CALLS_PER_SECOND} (ELBv2's refill rate)"
        ),
    }
    };
    match get(env, VAR) {
        None => Ok(DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|r| *r <= MAX_AUDIT_ELBV2_CALLS_PER_SECOND)
            .ok_or_else(|| bad(&v)),
    }
}

fn get(env: &dyn Fn(&str) -> Option<String>, var: &'static str) -> Option<String> {
    env(var)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn num<T: std::str::FromStr>(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(env, var) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError {
            var,
            message: format!("{v:?} is not a valid number"),
        }),
    }
}

/// The listener idle timeout of routes that set none, when `ROUTER_IDLE_TIMEOUT_SECONDS` is
/// unset (seconds). See the README's "Idle connections" for why.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u32 = 3600;

fn idle_timeout(env: &dyn Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    let var = "ROUTER_IDLE_TIMEOUT_SECONDS";
    let raw: i64 = num(env, var, i64::from(DEFAULT_IDLE_TIMEOUT_SECS))?;
    crate::domain::route::validate_idle_timeout(raw).map_err(|e| ConfigError {
        var,
        message: e.to_string(),
    })
}

/// `ROUTER_TARGETS_PER_NLB`: the NLB target quota placement budgets (default 500, AWS's; set
/// it to the raised value after AWS raises "Targets per Availability Zone per Network Load
/// Balancer"). At least 2: one target and room for its failover.
fn targets_per_nlb(env: &dyn Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    let var = "ROUTER_TARGETS_PER_NLB";
    let n: usize = num(env, var, crate::domain::target_budget::TARGETS_PER_NLB)?;
    if n < 2 {
        return Err(ConfigError {
            var,
            message: format!("{n} leaves no room for a target and its failover: use the NLB's target quota (AWS's default 500)"),
        });
    }
    Ok(n)
}

fn flag(
    env: &dyn Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(env, var).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" => Ok(true),
        Some(v) if v == "false" => Ok(false),
        Some(v) => Err(ConfigError {
            var,
            message: format!("{v:?} is not true or false"),
        }),
    }
}

fn list(env: &dyn Fn(&str) -> Option<String>, var: &'static str) -> Vec<String> {
    get(env, var)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// `ROUTER_RDS_ROLE_ARNS`: comma-separated IAM role ARNs, one per account.
fn role_arns(env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let roles = list(env, "ROUTER_RDS_ROLE_ARNS");
    for role in &roles {
        if account_of_role(role).is_none() {
            return Err(ConfigError {
                var: "ROUTER_RDS_ROLE_ARNS",
                message: format!(
                    "{role:?} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
                ),
            });
        }
    }
    Ok(roles)
}

/// The 12-digit account of an IAM role ARN `arn:<partition>:iam::<account>:role/<name>`
/// (parsed by `scratchstack-arn`, which checks each part's syntax).
pub fn account_of_role(arn: &str) -> Option<String> {
    let arn: Arn = arn.parse().ok()?;
    let role = arn.resource().strip_prefix("role/")?;
    (arn.service() == "iam"
        && arn.region().is_empty()
        && arn.account_id() != "aws"
        && !role.is_empty())
    .then(|| arn.account_id().to_owned())
}

/// An ELBv2 load balancer ARN, `arn:<partition>:elasticloadbalancing:<region>:<account>:
/// loadbalancer/<type>/<name>/<id>` (ELBv2 API reference, LoadBalancer), parsed.
pub fn load_balancer_arn(arn: &str) -> Option<Arn> {
    let parsed: Arn = arn.parse().ok()?;
    (parsed.service() == "elasticloadbalancing"
        && !parsed.region().is_empty()
        && parsed.resource().starts_with("loadbalancer/"))
    .then_some(parsed)
}

impl Config {
    /// The configured router `id` of [`Config::fleet`], if any.
    pub fn router(&self, id: &str) -> Option<&RouterConfig> {
        self.fleet.iter().find(|r| r.id == id)
    }

    /// The router's own AWS account: the account of its first NLB's ARN
    /// (`arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/...`).
    pub fn own_account(&self) -> String {
        self.fleet
            .first()
            .and_then(|r| load_balancer_arn(&r.nlb_arn))
            .map(|arn| arn.account_id().to_owned())
            .unwrap_or_default()
    }

    /// The router's own region: the region of its first NLB's ARN.
    pub fn own_region(&self) -> String {
        self.fleet
            .first()
            .and_then(|r| load_balancer_arn(&r.nlb_arn))
            .map(|arn| arn.region().to_owned())
            .unwrap_or_default()
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads configuration through a lookup function (the environment, or a map in tests).
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table = get(env, "ROUTER_TABLE").ok_or(ConfigError {
            var: "ROUTER_TABLE",
            message: "required: the DynamoDB table name".into(),
        })?;
        let fleet_raw = get(env, "ROUTER_FLEET").ok_or(ConfigError {
            var: "ROUTER_FLEET",
            message:
                "required: JSON list of {id, nlb_arn, endpoint_service_name, consumer_domain?}"
                    .into(),
        })?;
        let fleet: Vec<RouterConfig> =
            serde_json::from_str(&fleet_raw).map_err(|e| ConfigError {
                var: "ROUTER_FLEET",
                message: format!(
                    "not a JSON list of {{id, nlb_arn, endpoint_service_name, consumer_domain?}} ({e}); the Terraform module's output `fleet` is one"
                ),
            })?;
        if fleet.is_empty() {
            return Err(ConfigError {
                var: "ROUTER_FLEET",
                message: "at least one router is required".into(),
            });
        }
        if let Some(bad) = fleet
            .iter()
            .find(|r| load_balancer_arn(&r.nlb_arn).is_none())
        {
            return Err(ConfigError {
                var: "ROUTER_FLEET",
                message: format!(
                    "router {}: {:?} is not a load balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<id>)",
                    bad.id, bad.nlb_arn
                ),
            });
        }
        let mut fleet = fleet;
        for router in &mut fleet {
            if let Some(domain) = &router.consumer_domain {
                let parsed =
                    crate::domain::host::HostName::parse(domain).map_err(|e| ConfigError {
                        var: "ROUTER_FLEET",
                        message: format!("router {}: consumer_domain: {e}", router.id),
                    })?;
                router.consumer_domain = Some(parsed.to_string());
            }
        }
        let dns_servers = parse_servers(&get(env, "ROUTER_DNS_SERVERS").unwrap_or_default())
            .map_err(|e| ConfigError {
                var: "ROUTER_DNS_SERVERS",
                message: e.to_string(),
            })?;
        let port_range = match get(env, "ROUTER_PORT_RANGE") {
            None => (10000, 10999),
            Some(v) => {
                let parsed = v
                    .split_once('-')
                    .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                    .filter(|(a, b): &(u16, u16)| *a >= 1 && a <= b);
                parsed.ok_or(ConfigError {
                    var: "ROUTER_PORT_RANGE",
                    message: format!("{v:?} is not FIRST-LAST within 1-65535"),
                })?
            }
        };
        let window: u32 = num(env, "ROUTER_WINDOW", 3)?;
        if window == 0 {
            return Err(ConfigError {
                var: "ROUTER_WINDOW",
                message: "must be at least 1".into(),
            });
        }
        let secs = |var, default| num(env, var, default).map(Duration::from_secs);
        Ok(Self {
            table,
            deployment: deployment(env)?,
            fleet,
            dns_servers,
            port_range,
            port_quarantine: secs("ROUTER_PORT_QUARANTINE_SECONDS", 7 * 24 * 3600)?,
            window,
            reader_retention_secs: num(
                env,
                "ROUTER_READER_RETENTION_SECONDS",
                crate::domain::window::DEFAULT_READER_RETENTION_SECS,
            )?
            .max(0),
            gone_after_secs: num(
                env,
                "ROUTER_GONE_AFTER_SECONDS",
                crate::domain::plan::DEFAULT_GONE_AFTER_SECS,
            )?
            .max(0),
            rds_membership: flag(env, "ROUTER_RDS_MEMBERSHIP", true)?,
            rds_role_arns: role_arns(env)?,
            deregistration_delay_secs: num(env, "ROUTER_DEREGISTRATION_DELAY_SECONDS", 30)?,
            idle_timeout_secs: idle_timeout(env)?,
            targets_per_nlb: targets_per_nlb(env)?,
            admin_principals: list(env, "ROUTER_ADMIN_PRINCIPALS").into_iter().collect(),
            exposure: ExposurePolicy {
                database_ports: database_ports(env)?,
                grants: caller_grants(env)?,
                quotas: crate::domain::exposure::Quotas {
                    routes_per_owner: num(env, "ROUTER_ROUTES_PER_OWNER", 0)?,
                    tls_names_per_owner: num(env, "ROUTER_TLS_NAMES_PER_OWNER", 0)?,
                    targets_per_route: num(env, "ROUTER_TARGETS_PER_ROUTE", 0)?,
                },
            },
            database_cidrs: database_cidrs(env)?,
            host_policy: HostPolicy {
                allow_ip_literals: flag(env, "ROUTER_ALLOW_IP_LITERALS", false)?,
                allowed_suffixes: list(env, "ROUTER_HOST_SUFFIXES"),
            },
            event_accounts: list(env, "ROUTER_EVENT_ACCOUNTS").into_iter().collect(),
            dns_poll_deadline: secs("ROUTER_DNS_POLL_DEADLINE_SECONDS", 60)?,
            audit_concurrency: num(env, "ROUTER_AUDIT_CONCURRENCY", 8)?,
            audit_budget: secs("ROUTER_AUDIT_BUDGET_SECONDS", 240)?,
            audit_elbv2_calls_per_second: audit_rate(env)?,
            orphan_grace: secs("ROUTER_ORPHAN_GRACE_SECONDS", 3600)?,
            dry_run: flag(env, "ROUTER_DRY_RUN", false)?,
            metrics_namespace: get(env, "ROUTER_METRICS_NAMESPACE")
                .unwrap_or_else(|| "PrivateLinkRouter".into()),
            databricks: databricks(env)?,
        })
    }
}

/// The module's default `database_cidrs`: the private ranges the router ever registers.
pub const DEFAULT_DATABASE_CIDRS: &str = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10";

/// `ROUTER_DATABASE_CIDRS`: comma-separated IPv4 CIDRs; default [`DEFAULT_DATABASE_CIDRS`].
fn database_cidrs(env: &dyn Fn(&str) -> Option<String>) -> Result<Vec<Ipv4Net>, ConfigError> {
    let value = get(env, "ROUTER_DATABASE_CIDRS").unwrap_or_else(|| DEFAULT_DATABASE_CIDRS.into());
    let cidrs = value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<Ipv4Net>().map_err(|_| ConfigError {
                var: "ROUTER_DATABASE_CIDRS",
                message: format!("{c:?} is not an IPv4 CIDR (like 10.0.0.0/8)"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if cidrs.is_empty() {
        return Err(ConfigError {
            var: "ROUTER_DATABASE_CIDRS",
            message: "is empty: no address could become a target".into(),
        });
    }
    Ok(cidrs)
}

/// `ROUTER_DATABASE_PORTS`: comma-separated ports (1-65535); unset or empty = any port.
fn database_ports(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeSet<u16>, ConfigError> {
    list(env, "ROUTER_DATABASE_PORTS")
        .iter()
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| ConfigError {
                    var: "ROUTER_DATABASE_PORTS",
                    message: format!("{p:?} is not a port (1-65535)"),
                })
        })
        .collect()
}

/// `ROUTER_CALLER_GRANTS`: a JSON object from principal ARN (or `*`, every caller) to
/// `{"accounts": ["<12 digits>"], "host_suffixes": ["<domain>"]}`; unset = no grants.
fn caller_grants(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<std::collections::BTreeMap<String, Grant>, ConfigError> {
    let err = |message: String| ConfigError {
        var: "ROUTER_CALLER_GRANTS",
        message,
    };
    let Some(value) = get(env, "ROUTER_CALLER_GRANTS") else {
        return Ok(Default::default());
    };
    let grants: std::collections::BTreeMap<String, Grant> =
        serde_json::from_str(&value).map_err(|e| {
            err(format!(
                "not a JSON object of principal ARN → {{accounts, host_suffixes}}: {e}"
            ))
        })?;
    for (principal, grant) in &grants {
        if principal != ANY_CALLER && principal.parse::<Arn>().is_err() {
            return Err(err(format!(
                "{principal:?} is neither an IAM principal ARN nor \"*\""
            )));
        }
        if let Some(a) = grant
            .accounts
            .iter()
            .find(|a| a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(err(format!("{principal}: account {a:?} is not 12 digits")));
        }
        if let Some(s) = grant
            .host_suffixes
            .iter()
            .find(|s| crate::domain::host::HostName::parse(s.trim_matches('.')).is_err())
        {
            return Err(err(format!(
                "{principal}: host suffix {s:?} is not a DNS name"
            )));
        }
    }
    Ok(grants)
}

/// The Databricks account API settings: all of account, NCC, client id and secret ARN, or
/// none (the router then only reports the domain names a rule needs).
fn databricks(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::adapters::databricks::DatabricksConfig>, ConfigError> {
    const REQUIRED: [&str; 4] = [
        "ROUTER_DATABRICKS_ACCOUNT_ID",
        "ROUTER_DATABRICKS_NCC_ID",
        "ROUTER_DATABRICKS_CLIENT_ID",
        "ROUTER_DATABRICKS_CLIENT_SECRET_ARN",
    ];
    let values: Vec<Option<String>> = REQUIRED.iter().map(|k| get(env, k)).collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(missing) = REQUIRED.iter().zip(&values).find(|(_, v)| v.is_none()) {
        return Err(ConfigError {
            var: missing.0,
            message: format!(
                "required with the other ROUTER_DATABRICKS_* settings ({})",
                REQUIRED.join(", ")
            ),
        });
    }
    let [account_id, ncc_id, client_id, client_secret_arn] =
        <[Option<String>; 4]>::try_from(values).map_err(|_| ConfigError {
            var: "ROUTER_DATABRICKS_ACCOUNT_ID",
            message: "unreadable".into(),
        })?;
    let secret = client_secret_arn.unwrap_or_default();
    if secret
        .parse::<Arn>()
        .map_or(true, |a| a.service() != "secretsmanager")
    {
        return Err(ConfigError {
            var: "ROUTER_DATABRICKS_CLIENT_SECRET_ARN",
            message: format!("{secret:?} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"),
        });
    }
    let host = get(env, "ROUTER_DATABRICKS_HOST")
        .unwrap_or_else(|| "https://accounts.cloud.databricks.com".into());
    // Plain HTTP only to this machine (a local emulator, as AWS_ENDPOINT_URL allows).
    if !(host.starts_with("https://") || host.starts_with("http://127.0.0.1:")) {
        return Err(ConfigError {
            var: "ROUTER_DATABRICKS_HOST",
            message: format!("{host:?} is not an https:// URL"),
        });
    }
    Ok(Some(crate::adapters::databricks::DatabricksConfig {
        host,
        account_id: account_id.unwrap_or_default(),
        ncc_id: ncc_id.unwrap_or_default(),
        client_id: client_id.unwrap_or_default(),
        client_secret_arn: secret,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    const FLEET: &str = r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/b","endpoint_service_name":"com.amazonaws.vpce.us-east-1.vpce-svc-1"}]"#;

    #[test]
    fn defaults_apply_when_only_required_variables_are_set() {
        let c =
            Config::from_lookup(&env(&[("ROUTER_TABLE", "t"), ("ROUTER_FLEET", FLEET)])).unwrap();
        assert_eq!(c.port_range, (10000, 10999));
        assert_eq!(c.window, 3);
        assert_eq!(c.deregistration_delay_secs, 30);
        assert_eq!(c.port_quarantine, Duration::from_secs(604800));
        assert!(c.dns_servers.is_empty());
    }

    #[test]
    fn missing_table_and_bad_values_name_the_variable() {
        let e = Config::from_lookup(&env(&[("ROUTER_FLEET", FLEET)])).unwrap_err();
        assert_eq!(e.var, "ROUTER_TABLE");
        let e = Config::from_lookup(&env(&[
            ("ROUTER_TABLE", "t"),
            ("ROUTER_FLEET", FLEET),
            ("ROUTER_PORT_RANGE", "9-1"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "ROUTER_PORT_RANGE");
        let e = Config::from_lookup(&env(&[("ROUTER_TABLE", "t"), ("ROUTER_FLEET", "[]")]))
            .unwrap_err();
        assert_eq!(e.var, "ROUTER_FLEET");
        // Not load balancer ARNs: an account that is not 12 digits, another service, a target
        // group, no region.
        for bad in [
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/a/b",
            "arn:aws:ec2:us-east-1:123456789012:loadbalancer/net/a/b",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/a/b",
            "arn:aws:elasticloadbalancing::123456789012:loadbalancer/net/a/b",
        ] {
            let fleet = FLEET.replace(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/b",
                bad,
            );
            let e = Config::from_lookup(&env(&[("ROUTER_TABLE", "t"), ("ROUTER_FLEET", &fleet)]))
                .unwrap_err();
            assert!(
                e.message.contains("is not a load balancer ARN"),
                "{bad}: {e:?}"
            );
        }
        assert_eq!(
            load_balancer_arn(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/b"
            )
            .map(|a| a.account_id().to_owned()),
            Some("123456789012".to_owned())
        );
    }

    /// Issue #18: a router's consumer domain is a DNS name (lowercased), or the fleet is
    /// refused naming the router.
    #[test]
    fn a_consumer_domain_is_a_dns_name() {
        let with = |domain: &str| {
            let mut fleet: serde_json::Value = serde_json::from_str(FLEET).unwrap();
            fleet[0]["consumer_domain"] = domain.into();
            Config::from_lookup(&env(&[
                ("ROUTER_TABLE", "t"),
                ("ROUTER_FLEET", &fleet.to_string()),
            ]))
        };
        let config = with("Databases.Corp.Example").unwrap();
        assert_eq!(
            config.fleet[0].consumer_domain.as_deref(),
            Some("databases.corp.example")
        );
        for bad in ["db_corp.example", "-db.example", "", "10.0.0.1"] {
            let e = with(bad).unwrap_err();
            assert!(
                e.var == "ROUTER_FLEET" && e.message.contains("consumer_domain"),
                "{bad}: {e:?}"
            );
        }
        let config = Config::from_lookup(&env(&[("ROUTER_TABLE", "t"), ("ROUTER_FLEET", FLEET)]));
        assert_eq!(config.unwrap().fleet[0].consumer_domain, None);
    }

    #[test]
    fn the_audit_rate_is_a_whole_number_from_zero_to_elbv2s_refill_rate() {
        let rate = |v: &str| {
            Config::from_lookup(&env(&[
                ("ROUTER_TABLE", "t"),
                ("ROUTER_FLEET", FLEET),
                ("ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND", v),
            ]))
            .map(|c| c.audit_elbv2_calls_per_second)
        };
        assert_eq!(rate("").unwrap(), DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND);
        assert_eq!(rate("0").unwrap(), 0);
        assert_eq!(rate("10").unwrap(), 10);
        for bad in ["-1", "11", "2.5", "abc", "100000"] {
            let e = rate(bad).unwrap_err();
            assert_eq!(e.var, "ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND");
            assert!(e.message.contains("from 0 (unpaced) to 10"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_target_budget_defaults_to_the_nlb_quota_and_takes_a_raised_one() {
        let base = [("ROUTER_TABLE", "t"), ("ROUTER_FLEET", FLEET)];
        let c = Config::from_lookup(&env(&base)).unwrap();
        assert_eq!(c.targets_per_nlb, 500);
        let raised = [base[0], base[1], ("ROUTER_TARGETS_PER_NLB", "1500")];
        assert_eq!(
            Config::from_lookup(&env(&raised)).unwrap().targets_per_nlb,
            1500
        );
        let none = [base[0], base[1], ("ROUTER_TARGETS_PER_NLB", "1")];
        let err = Config::from_lookup(&env(&none)).unwrap_err();
        assert_eq!(err.var, "ROUTER_TARGETS_PER_NLB");
    }

    #[test]
    fn rds_roles_must_be_role_arns_and_name_their_account() {
        let c = Config::from_lookup(&env(&[
            ("ROUTER_TABLE", "t"),
            ("ROUTER_FLEET", FLEET),
            (
                "ROUTER_RDS_ROLE_ARNS",
                "arn:aws:iam::210987654321:role/plr-rds-read",
            ),
        ]))
        .unwrap();
        assert!(c.rds_membership);
        assert_eq!(
            account_of_role(&c.rds_role_arns[0]).as_deref(),
            Some("210987654321")
        );
        assert_eq!(c.own_account(), "123456789012");
        let e = Config::from_lookup(&env(&[
            ("ROUTER_TABLE", "t"),
            ("ROUTER_FLEET", FLEET),
            ("ROUTER_RDS_ROLE_ARNS", "arn:aws:iam::2109:user/x"),
        ]))
        .unwrap_err();
        assert_eq!(e.var, "ROUTER_RDS_ROLE_ARNS");
    }
}
