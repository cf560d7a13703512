//! Route operations behind the API, CLI and demo: create, read, list, sync and delete, with
//! ownership checks. Transport-free: callers map [`ServiceError`] to their own replies.

use std::collections::BTreeMap;

use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::adapters::aws::elb::{ElbError, ListenerInfo, Targets, TAG_ROUTE};
use crate::adapters::aws::store::ports::Allocation;
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::catalog::{
    connection_urls, consumer_address, rule_domain_names, ConnectionUrls, ConsumerAddress,
    DOMAIN_NAMES_PER_RULE,
};
use crate::domain::health::TargetHealth;
use crate::domain::health::{summarize, Health, RouteHealth};
use crate::domain::host::{parse_rds_endpoint, HostName, RdsEndpointKind};
use crate::domain::plan::Lookup;
use crate::domain::ports::{free_ports, pick, PortEntry};
use crate::domain::route::PortPin;
use crate::domain::route::{Engine, HealthCheck, Protocol, Route, RouteId, RouteSpec, RouteStatus};
use crate::domain::validation::{
    parse_rds_arn, validate_account, validate_port, validate_tags, ValidationError,
};
use crate::domain::window::Retention;
use crate::domain::window::Sightings;
use crate::observe::{observe, observe_host};
use crate::provision::{ensure_resources, LISTENER_PORT_TAKEN};
use crate::reconcile::{reconcile, reconcile_with, Outcome, ReconcileError};

/// Why an operation was refused or failed, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The host resolves to addresses that may not be targets.
    #[error("host {host} resolves to {ips:?}, which may not be targets (only private addresses)")]
    PublicAddress {
        /// Host.
        host: String,
        /// Refused addresses.
        ips: Vec<String>,
    },
    /// No such route (or not visible to the caller).
    #[error("route {0} not found")]
    NotFound(String),
    /// The caller may not act on this route.
    #[error("{principal} may not access route {route}")]
    Forbidden {
        /// Caller.
        principal: String,
        /// Route.
        route: String,
    },
    /// A route with this name exists with a different definition.
    #[error("listener port {port} on router {router} is held by route {holder}: pin another port, or remove that route first")]
    PortPinned {
        /// Router id.
        router: String,
        /// The pinned port.
        port: u16,
        /// The route holding it (or `quarantine` when released recently).
        holder: String,
    },
    /// A live listener the router does not own serves the port (e.g. a seed deployment's).
    #[error("listener port {port} on router {router} is served by a listener the router does not own ({listener}): if it is a seed deployment's, take it over with `plr adopt` (infra/README.md) — never delete it, consumers use it")]
    PortServed {
        /// Router id.
        router: String,
        /// The port.
        port: u16,
        /// The listener's ARN.
        listener: String,
    },
    /// Only admins may pin listener ports through the API.
    #[error("{principal} may not pin a listener port: only ROUTER_ADMIN_PRINCIPALS may (takeovers use plr or Terraform seeds)")]
    PinNotAllowed {
        /// Caller.
        principal: String,
    },
    /// A route with this name exists with a different definition, or another owner's.
    #[error("route {id} exists with {differs}: remove it first (DELETE /routes/{id}, `plr routes rm {id}`) or use another name")]
    Conflict {
        /// Route id.
        id: String,
        /// What differs, in the API's field names (`a different tags, host`, `another owner`).
        differs: String,
    },
    /// Every router is full or every port is taken.
    #[error("no capacity: {0}")]
    CapacityExhausted(String),
    /// A `tls_name` route needs a domain name on its router's private endpoint rule, and every
    /// router's rule has its 10 (Databricks: "up to 10 domain names" per rule).
    #[error("no router's private endpoint rule has room for another TLS name (10 domain names per rule, the consumer domain included): {0}; add a router to ROUTER_FLEET, or create the route without tls_name and connect through the consumer domain")]
    TlsNamesFull(String),
    /// Another route already serves this host by its own name (a domain name maps to one
    /// private endpoint).
    #[error("{host} is already a domain name of router {router}'s private endpoint rule (another route's TLS name, or the router's consumer domain; `plr catalog` shows them): connect through it, or create this route without tls_name")]
    TlsNameTaken {
        /// The host.
        host: String,
        /// The router whose rule carries it.
        router: String,
    },
    /// The operation raced with another and should be retried.
    #[error("route {0} is being changed concurrently, retry")]
    Busy(String),
    /// ELBv2 failed.
    #[error(transparent)]
    Elb(#[from] ElbError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(id) => ServiceError::Busy(id),
            StoreError::NotFound(id) => ServiceError::NotFound(id),
            other => ServiceError::Store(other),
        }
    }
}

impl From<ReconcileError> for ServiceError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::Elb(e) => e.into(),
            ReconcileError::Store(e) => e.into(),
            ReconcileError::UnknownRouter { route, router } => {
                ServiceError::Elb(ElbError::invalid(
                    "reconcile",
                    format!("route {route}: router {router} not configured"),
                ))
            }
        }
    }
}

/// The body of `POST /routes`: a route definition. The same body again is a replay; another
/// body under an existing name is a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Route name (becomes its id).
    #[schemars(with = "RouteId")]
    pub name: String,
    /// Database DNS name (RFC 1123; must end with one of `ROUTER_HOST_SUFFIXES` when set). IP
    /// literals only when `ROUTER_ALLOW_IP_LITERALS`.
    #[schemars(length(max = 253))]
    pub host: String,
    /// Database port (targets are registered on it).
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// `TCP` (the default, case-insensitive); others are 422 `unsupported_protocol`.
    #[serde(default)]
    pub protocol: Option<String>,
    /// TCP health check; absent fields take the defaults. `timeout_seconds` may not exceed
    /// `interval_seconds`.
    #[serde(default)]
    pub health_check: Option<HealthCheck>,
    /// Tags copied onto the route's target group: at most 40; keys 1-128 and values 0-256
    /// characters of letters, digits, spaces and `_.:/=+-@` (ELB's tag pattern); keys may not
    /// start with `aws:` or `privatelink-router:`.
    #[serde(default)]
    #[schemars(extend("maxProperties" = 40))]
    pub tags: BTreeMap<String, String>,
    /// RDS instance, cluster or proxy identifier whose events concern this route; derived from
    /// RDS endpoint host names when absent.
    #[serde(default)]
    pub rds_identifier: Option<String>,
    /// AWS account of the database (12 digits). Names are unique only per account and region,
    /// so events of other accounts never touch the route. When absent, learned from the
    /// router's own RDS API if the database is there; otherwise unknown (a deletion event then
    /// ends the route only once its name stops resolving).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account_id: Option<String>,
    /// ARN of the database (`arn:aws:rds:<region>:<account>:db:<name>`, `…:cluster:<name>`,
    /// `db-proxy`, `cluster-endpoint`): gives its account, and the RDS identifier when
    /// `rds_identifier` is absent. Must agree with `account_id` (and, for an RDS endpoint host,
    /// with the host's region); events from other regions never touch the route.
    #[serde(default)]
    pub rds_arn: Option<String>,
    /// Pinned listener port instead of an allocated one, so a takeover keeps the ports
    /// consumers use: exactly this port or a refusal (409 `port_pinned` when another route
    /// holds it). Admins only through the API (`ROUTER_ADMIN_PRINCIPALS`; others get 403
    /// `pin_not_allowed`).
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub listener_port: Option<i64>,
    /// Router (`ROUTER_FLEET` id) of the pinned `listener_port`; default the fleet's first.
    /// Only with `listener_port`.
    #[serde(default)]
    pub router: Option<String>,
    /// Take over this existing target group (by name) instead of creating one (`plr adopt`):
    /// admins only (403 `pin_not_allowed` otherwise), and it must carry the router's ownership
    /// tags (409 `target_group_not_ours` otherwise).
    #[serde(default)]
    pub target_group: Option<String>,
    /// Consumers connect by the database's own host name (`<host>:<listener port>`), which
    /// the router's private endpoint rule then carries as a domain name, so PostgreSQL
    /// `verify-full` and MySQL `VERIFY_IDENTITY` certificate checks pass. A rule carries at
    /// most 10 domain names: the route goes to a router with a free one (409
    /// `tls_names_full` when none has), and a host has one such route (409
    /// `tls_name_taken`). Not for IP literals.
    #[serde(default)]
    pub tls_name: bool,
    /// `postgres`, `mysql` or `mariadb`, for the catalog's connection strings; learned from
    /// the router's own RDS API when absent and the database is there.
    #[serde(default)]
    pub engine: Option<Engine>,
}

impl CreateRequest {
    /// Validates the request into a route spec.
    pub fn validate(&self, ctx: &Context) -> Result<RouteSpec, ValidationError> {
        let id = RouteId::parse(&self.name)?;
        let host = HostName::parse_with(&self.host, &ctx.config.host_policy)?;
        let port = validate_port("port", self.port)?;
        let protocol = self
            .protocol
            .as_deref()
            .map(Protocol::parse)
            .transpose()?
            .unwrap_or_default();
        let health_check = self.health_check.unwrap_or_default();
        health_check.validate()?;
        validate_tags(&self.tags)?;
        let arn = self.rds_arn.as_deref().map(parse_rds_arn).transpose()?;
        let account = match (&self.account_id, &arn) {
            (Some(a), Some(arn)) if *a != arn.account => {
                return Err(ValidationError::Account {
                    field: "account_id",
                    value: a.clone(),
                    reason: format!("rds_arn names account {}", arn.account),
                })
            }
            (Some(a), _) => Some(validate_account("account_id", a)?),
            (None, Some(arn)) => Some(arn.account.clone()),
            (None, None) => None,
        };
        if let (Some(arn), Some(endpoint)) = (&arn, parse_rds_endpoint(host.as_str())) {
            if arn.region != endpoint.region {
                return Err(ValidationError::Account {
                    field: "rds_arn",
                    value: self.rds_arn.clone().unwrap_or_default(),
                    reason: format!(
                        "the host is in {}, the ARN in {}",
                        endpoint.region, arn.region
                    ),
                });
            }
        }
        let rds_identifier = match &self.rds_identifier {
            Some(r) => Some(
                HostName::parse(&format!("{r}.rds"))
                    .map(|_| r.to_ascii_lowercase())
                    .map_err(|_| ValidationError::Host {
                        host: r.clone(),
                        reason: "rds_identifier must be letters, digits and hyphens".into(),
                    })?,
            ),
            None => parse_rds_endpoint(host.as_str())
                .map(|e| e.identifier)
                .or_else(|| arn.as_ref().map(|a| a.identifier.clone())),
        };
        if self.tls_name && host.as_str().parse::<std::net::IpAddr>().is_ok() {
            return Err(ValidationError::Host {
                host: host.to_string(),
                reason: "tls_name needs a DNS name: a certificate never names an IP literal here"
                    .into(),
            });
        }
        let pin = match self.listener_port {
            Some(p) => Some(PortPin {
                port: validate_port("listener_port", p)?,
                router: self.router.clone(),
            }),
            None if self.router.is_some() => {
                return Err(ValidationError::Port {
                    field: "listener_port",
                    value: 0,
                })
            }
            None => None,
        };
        if let Some(router) = pin.as_ref().and_then(|p| p.router.as_ref()) {
            if !ctx.fleet.contains_key(router) {
                return Err(ValidationError::Host {
                    host: router.clone(),
                    reason: "router is not in ROUTER_FLEET".into(),
                });
            }
        }
        Ok(RouteSpec {
            id,
            host,
            port,
            protocol,
            health_check,
            tags: self.tags.clone(),
            rds_identifier,
            account,
            region: arn.as_ref().map(|a| a.region.clone()),
            pin,
            target_group: self.target_group.clone(),
            tls_name: self.tls_name,
            engine: self.engine,
        })
    }
}

/// Who is calling: an IAM principal ARN, and whether it is an admin.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Principal ARN from the request context.
    pub principal: String,
}

impl Caller {
    /// The caller behind an IAM ARN as API Gateway reports it (`userArn`). An assumed-role
    /// session (`arn:aws:sts::<account>:assumed-role/<role>/<session>`) becomes its role,
    /// `arn:aws:iam::<account>:role/<role>`, so every session of a pipeline's role owns the
    /// same routes (STS ARNs carry no role path: configure admin roles without one). Other
    /// ARNs (IAM users, federated users) are kept as given.
    pub fn from_user_arn(user_arn: &str) -> Self {
        let arn = user_arn.trim();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let principal = match parts.as_slice() {
            ["arn", partition, "sts", "", account, resource] => {
                match resource
                    .strip_prefix("assumed-role/")
                    .and_then(|r| r.split_once('/'))
                {
                    Some((role, _session)) if !role.is_empty() => {
                        format!("arn:{partition}:iam::{account}:role/{role}")
                    }
                    _ => arn.to_owned(),
                }
            }
            _ => arn.to_owned(),
        };
        Self { principal }
    }

    fn may_access(&self, ctx: &Context, route: &Route) -> bool {
        ctx.config.admin_principals.contains(&self.principal) || route.owner == self.principal
    }

    /// True when the caller is a configured admin.
    pub fn is_admin(&self, ctx: &Context) -> bool {
        ctx.config.admin_principals.contains(&self.principal)
    }
}

/// What consumers (a Databricks private endpoint rule) need to reach the database.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Connection {
    /// VPC endpoint service name.
    pub endpoint_service_name: String,
    /// Listener port.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// The host a consumer connects to on `port`: the database's own name when the route has
    /// `tls_name`, else the router's consumer domain; null when the router has none.
    pub consumer_host: Option<String>,
}

/// A route as the API shows it: as stored, with what a consumer needs to reach it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(rename = "Route")]
pub struct RouteView {
    /// The stored route.
    #[serde(flatten)]
    pub route: Route,
    /// What a Databricks private endpoint rule needs; null when the route's router is not in
    /// the configured fleet.
    pub connection: Option<Connection>,
}

/// Route detail: the route plus what ELB reports now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RouteDetail {
    /// The route and connection info.
    #[serde(flatten)]
    pub view: RouteView,
    /// Targets and health as ELB reports them (state and reason code per target).
    pub targets: Vec<TargetHealth>,
    /// Whether the route serves (`serving` / `degraded` / `not_serving`), and why not.
    pub health: RouteHealth,
    /// The NLB's private IPs: the database's security group must admit them (client IP
    /// preservation is off for IP targets over TCP).
    pub nlb_private_ips: Vec<String>,
}

/// Builds the API view of a route.
pub fn view(ctx: &Context, route: Route) -> RouteView {
    // From the configuration, not the loaded fleet: a view needs no NLB to answer.
    let connection = ctx.config.router(&route.router).map(|r| Connection {
        endpoint_service_name: r.endpoint_service_name.clone(),
        port: route.listener_port,
        consumer_host: consumer_address(&route, Some(r)).map(|a| a.host),
    });
    RouteView { route, connection }
}

/// One route as a consumer sees it (`GET /catalog`, `plr catalog`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CatalogEntry {
    /// The route.
    pub route: RouteId,
    /// Its router (NLB and endpoint service).
    pub router: String,
    /// The router's VPC endpoint service (a private endpoint rule's `endpoint_service`);
    /// null when the router is not configured here.
    pub endpoint_service_name: Option<String>,
    /// Where a consumer connects; null when there is nowhere yet (see `notes`).
    pub consumer: Option<ConsumerAddress>,
    /// The database engine; null when unknown (see `notes`).
    pub engine: Option<Engine>,
    /// Connection strings for the engine at the consumer address; null without either.
    pub urls: Option<ConnectionUrls>,
    /// Lifecycle state.
    pub status: RouteStatus,
    /// Whether its targets take connections now; null when ELB could not be read.
    pub health: Option<Health>,
    /// The NLB's private IPs: the database's security group must admit them (client IP
    /// preservation is off for IP targets over TCP).
    pub nlb_private_ips: Vec<String>,
    /// What is missing for a working connection, each with the fix. Empty when none.
    pub notes: Vec<String>,
}

/// A router's private endpoint rule as its routes need it: the domain names to give it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleNames {
    /// The router.
    pub router: String,
    /// The rule's `endpoint_service`.
    pub endpoint_service_name: String,
    /// The rule's `domain_names`: the consumer domain, then the TLS names of the routes
    /// (for callers who are no admin, of their routes only: see `complete`).
    pub domain_names: Vec<String>,
    /// True when `domain_names` is the rule's whole list (the caller is an admin); false when
    /// other owners' names are left out — then it is no value to give the rule.
    pub complete: bool,
    /// Domain names the rule has room for still (10 per rule).
    pub room: usize,
}

/// A page of the catalog and the rules behind it.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The routes of the page.
    pub routes: Vec<CatalogEntry>,
    /// The private endpoint rules of the routes' routers.
    pub rules: Vec<RuleNames>,
    /// Continue after this route id; `None` on the last page.
    pub next: Option<String>,
}

/// The catalog: every route the caller may see (filtered and paged as [`list`]) with its
/// consumer address, connection strings, health and the NLB IPs its database must admit,
/// and the domain names each of their routers' private endpoint rules must carry. Reads one
/// DescribeTargetHealth per route (eight at a time) and the NLB's network interfaces once
/// per router.
pub async fn catalog(
    ctx: &Context,
    caller: &Caller,
    filter: &ListFilter,
) -> Result<Catalog, ServiceError> {
    use futures::stream::{self, StreamExt};
    let (routes, next) = list(ctx, caller, filter).await?;
    let routers: std::collections::BTreeSet<&str> =
        routes.iter().map(|r| r.router.as_str()).collect();
    let mut nlb_ips: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in &routers {
        let ips = match ctx.fleet.get(*id) {
            Some(r) => crate::adapters::aws::ec2::nlb_private_ips(r, &ctx.clients.ec2)
                .await
                .unwrap_or_default(),
            None => vec![],
        };
        nlb_ips.insert(id, ips);
    }
    // Owned inputs: a future borrowing a route would not be `Send` for every lifetime.
    let inputs: Vec<_> = routes
        .iter()
        .map(|r| {
            (
                r.target_group_arn.clone(),
                r.refused.clone(),
                r.conflict.clone(),
            )
        })
        .collect();
    let healths: Vec<Result<Health, String>> = stream::iter(inputs)
        .map(|(tg, refused, conflict)| async move {
            let targets = match tg {
                Some(tg) => ctx
                    .elb
                    .describe_targets(&tg)
                    .await
                    .map_err(|e| e.to_string())?,
                None => vec![],
            };
            Ok(summarize(&targets, &refused, conflict.as_deref()).health)
        })
        .buffered(8)
        .collect()
        .await;
    let entries = routes
        .iter()
        .zip(healths)
        .map(|(route, health)| {
            let router = ctx.config.router(&route.router);
            let consumer = consumer_address(route, router);
            let engine = route.spec.engine;
            let mut notes = Vec::new();
            if consumer.is_none() {
                notes.push(format!(
                    "no consumer address: router {} has no consumer_domain (set it in ROUTER_FLEET, Terraform variable consumer_domain), and the route has no tls_name",
                    route.router
                ));
            }
            if engine.is_none() {
                notes.push("engine unknown: no connection strings; give the route an engine".into());
            }
            if let Err(e) = &health {
                notes.push(format!("health unknown: {e}"));
            }
            CatalogEntry {
                route: route.id().clone(),
                router: route.router.clone(),
                endpoint_service_name: router.map(|r| r.endpoint_service_name.clone()),
                urls: engine.zip(consumer.as_ref()).map(|(e, a)| connection_urls(e, a)),
                consumer,
                engine,
                status: route.status,
                health: health.ok(),
                nlb_private_ips: nlb_ips.get(route.router.as_str()).cloned().unwrap_or_default(),
                notes,
            }
        })
        .collect();
    let ids: Vec<&str> = routers.iter().copied().collect();
    let loads = ctx.store.router_loads(&ids).await?;
    let admin = caller.is_admin(ctx);
    let own_names: std::collections::BTreeSet<String> = routes
        .iter()
        .filter(|r| r.spec.tls_name)
        .map(|r| r.spec.host.to_string())
        .collect();
    let rules = routers
        .iter()
        .filter_map(|id| ctx.config.router(id))
        .map(|router| {
            let held = loads
                .get(&router.id)
                .map(|l| l.tls_names.clone())
                .unwrap_or_default();
            let visible = if admin {
                held.clone()
            } else {
                held.intersection(&own_names).cloned().collect()
            };
            let used = held.len() + usize::from(router.consumer_domain.is_some());
            RuleNames {
                router: router.id.clone(),
                endpoint_service_name: router.endpoint_service_name.clone(),
                domain_names: rule_domain_names(router, &visible),
                complete: admin || visible.len() == held.len(),
                room: DOMAIN_NAMES_PER_RULE.saturating_sub(used),
            }
        })
        .collect();
    Ok(Catalog {
        routes: entries,
        rules,
        next,
    })
}

/// Fills what the router's own RDS API can tell about a request's database: its account
/// (the router's own, when an instance, cluster or custom endpoint of that identifier exists
/// there **with this very endpoint name**), its engine when not given, and for a custom
/// endpoint the cluster whose events concern it. Changes nothing for another account's database, a proxy, a name that is not an
/// RDS endpoint, or when the RDS API is off or fails (the calls have short timeouts).
async fn learn_from_rds(ctx: &Context, spec: &mut RouteSpec, explicit_identifier: bool) {
    let Some(endpoint) = parse_rds_endpoint(spec.host.as_str()) else {
        return;
    };
    let own = ctx.config.own_account();
    if !ctx.rds.covers(&own, &endpoint.region) {
        return;
    }
    let needs_account = spec.account.is_none();
    let needs_engine = spec.engine.is_none() && spec.account.as_ref().is_none_or(|a| *a == own);
    if needs_account || needs_engine {
        match ctx
            .rds
            .find_database(&own, spec.host.as_str(), &endpoint)
            .await
        {
            Ok(Some(database)) => {
                spec.account = Some(own.clone());
                if needs_engine {
                    spec.engine = database.engine.as_deref().and_then(Engine::from_rds);
                }
            }
            Ok(None) => {}
            Err(e) => {
                info!(route_id = %spec.id, error = %e, "account and engine of the database not learned");
            }
        }
    }
    let account = spec.account.clone().unwrap_or(own);
    if endpoint.kind == RdsEndpointKind::ClusterCustom && !explicit_identifier {
        match ctx
            .rds
            .custom_endpoint(&account, &endpoint.identifier)
            .await
        {
            Ok(custom) if custom.endpoint == spec.host.as_str().trim_end_matches('.') => {
                // Cluster events (failover, topology) name the cluster, not the endpoint.
                spec.rds_identifier = Some(custom.cluster);
            }
            Ok(_) => {}
            Err(e) => {
                info!(route_id = %spec.id, error = %e, "cluster of the custom endpoint not learned");
            }
        }
    }
}

/// Creates a route (allocate port → create target group and listener → first reconcile).
/// Returns the route and whether it was created now (`false`: an identical replay).
pub async fn create(
    ctx: &Context,
    caller: &Caller,
    req: &CreateRequest,
) -> Result<(Route, bool), ServiceError> {
    if (req.listener_port.is_some() || req.target_group.is_some()) && !caller.is_admin(ctx) {
        return Err(ServiceError::PinNotAllowed {
            principal: caller.principal.clone(),
        });
    }
    create_trusted(ctx, caller, req).await
}

/// [`create`] for trusted callers that may pin listener ports without being admins: Terraform
/// seeds (written with the table's IAM permissions) and the operator CLI (`plr`).
pub async fn create_trusted(
    ctx: &Context,
    caller: &Caller,
    req: &CreateRequest,
) -> Result<(Route, bool), ServiceError> {
    let mut spec = req.validate(ctx)?;
    learn_from_rds(ctx, &mut spec, req.rds_identifier.is_some()).await;
    let first = observe_host(
        ctx,
        spec.host.as_str(),
        spec.account.as_deref(),
        Retention::Lookups(ctx.config.window),
    )
    .await
    .lookup;
    if let Lookup::Answer(ips) = &first {
        let refused: Vec<String> = ips
            .iter()
            .filter(|ip| ctx.fleet.values().all(|r| r.policy.classify(**ip).is_err()))
            .map(|ip| ip.to_string())
            .collect();
        if !refused.is_empty() && refused.len() == ips.len() {
            return Err(ServiceError::PublicAddress {
                host: spec.host.to_string(),
                ips: refused,
            });
        }
    }
    let (route, created) = allocate(ctx, caller, spec).await?;
    let route = finish(ctx, route, &[first]).await?;
    if created && route.spec.tls_name {
        // The rule learns the name now; a failure is reported and the audit retries it.
        crate::rules::sync(ctx, false).await;
    }
    Ok((route, created))
}

/// The 409 for a route that exists otherwise than asked: which fields differ (as the API
/// names them), or that it is another principal's.
fn conflict(ctx: &Context, caller: &Caller, existing: &Route, wanted: &RouteSpec) -> ServiceError {
    let id = wanted.id.to_string();
    if existing.owner != caller.principal && !caller.is_admin(ctx) {
        return ServiceError::Conflict {
            id,
            differs: "another owner".into(),
        };
    }
    let fields = |spec: &RouteSpec| match serde_json::to_value(spec) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (have, want) = (fields(&existing.spec), fields(wanted));
    let mut keys: Vec<&String> = have.keys().chain(want.keys()).collect();
    keys.sort();
    keys.dedup();
    let differing: Vec<&str> = keys
        .into_iter()
        .filter(|k| have.get(*k) != want.get(*k))
        .map(|k| {
            if k == "pin" {
                "listener_port"
            } else {
                k.as_str()
            }
        })
        .collect();
    let differs = match differing.is_empty() {
        true => "a different definition".to_owned(),
        false => format!("a different {}", differing.join(", ")),
    };
    ServiceError::Conflict { id, differs }
}

/// Finds or writes the route record with a port on a router with room.
async fn allocate(
    ctx: &Context,
    caller: &Caller,
    spec: RouteSpec,
) -> Result<(Route, bool), ServiceError> {
    for attempt in 0..200u32 {
        if let Some(existing) = ctx.store.get(&spec.id).await? {
            if existing.spec != spec || existing.owner != caller.principal && !caller.is_admin(ctx)
            {
                return Err(conflict(ctx, caller, &existing, &spec));
            }
            return Ok((existing, false));
        }
        let now = Utc::now();
        let mut full = Vec::new();
        let mut tls_full = Vec::new();
        // One read of every router's load (listeners, TLS names); only a router with room has
        // its port table and listeners read, so a full fleet costs no more than its loads.
        let ids: Vec<&str> = ctx.fleet.keys().map(String::as_str).collect();
        let loads = ctx.store.router_loads(&ids).await?;
        let host = spec.host.as_str();
        if spec.tls_name {
            // A name resolves to one private endpoint: a TLS name already on a rule — as
            // another route's, or as a router's consumer domain — cannot be added again.
            let held = loads
                .iter()
                .find(|(_, l)| l.tls_names.contains(host))
                .map(|(router, _)| router.clone())
                .or_else(|| {
                    ctx.config
                        .fleet
                        .iter()
                        .find(|r| r.consumer_domain.as_deref() == Some(host))
                        .map(|r| r.id.clone())
                });
            if let Some(router) = held {
                return Err(ServiceError::TlsNameTaken {
                    host: host.to_owned(),
                    router,
                });
            }
        }
        let tls_room = |id: &str| {
            !spec.tls_name
                || loads.get(id).map_or(0, |l| l.tls_names.len()) < tls_names_cap(ctx, id)
        };
        let mut chosen = None;
        if let Some(pin) = &spec.pin {
            let (router, port) = pinned(ctx, pin, &spec, now.timestamp()).await?;
            if !tls_room(&router) {
                return Err(ServiceError::TlsNamesFull(format!(
                    "router {router}, the pinned port's"
                )));
            }
            chosen = Some((router, port));
        }
        for router in ctx.fleet.values().filter(|_| chosen.is_none()) {
            let id = &router.config.id;
            let listeners = loads.get(id).map_or(0, |l| l.listeners);
            if listeners >= crate::domain::ports::MAX_LISTENERS_PER_NLB {
                full.push(id.clone());
                continue;
            }
            if !tls_room(id) {
                tls_full.push(id.clone());
                continue;
            }
            let (entries, active): (Vec<PortEntry>, u32) = ctx.store.ports(id).await?;
            if active >= crate::domain::ports::MAX_LISTENERS_PER_NLB {
                full.push(id.clone());
                continue;
            }
            let live = live_listeners(ctx, &router.config.id).await?;
            let mut free = free_ports(ctx.config.port_range, &entries, now.timestamp());
            free.retain(|p| !live.contains_key(p));
            match pick(&free, spec.id.as_str(), attempt) {
                Some(port) => {
                    chosen = Some((router.config.id.clone(), port));
                    break;
                }
                None => full.push(router.config.id.clone()),
            }
        }
        let Some((router, port)) = chosen else {
            if !tls_full.is_empty() {
                return Err(ServiceError::TlsNamesFull(tls_full.join(", ")));
            }
            return Err(ServiceError::CapacityExhausted(format!(
                "every router is full (50 listeners per NLB, ports {}-{}): {}",
                ctx.config.port_range.0,
                ctx.config.port_range.1,
                full.join(", ")
            )));
        };
        let route = Route {
            spec: spec.clone(),
            owner: caller.principal.clone(),
            router,
            listener_port: port,
            status: RouteStatus::Provisioning,
            target_group_arn: None,
            listener_arn: None,
            sightings: Sightings::default(),
            resolutions: vec![],
            refused: vec![],
            conflict: None,
            unapplied: false,
            applying_until: None,
            last_event_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let cap = tls_names_cap(ctx, &route.router);
        match ctx.store.allocate(&route, cap).await? {
            Allocation::Done => {
                info!(route_id = %route.id(), router = %route.router, port, "port allocated");
                return Ok((route, true));
            }
            Allocation::PortTaken if spec.pin.is_some() => continue,
            Allocation::RouterFull
                if spec.pin.is_some()
                    && loads.get(&route.router).map_or(0, |l| l.listeners)
                        >= crate::domain::ports::MAX_LISTENERS_PER_NLB - 1 =>
            {
                return Err(ServiceError::CapacityExhausted(format!(
                    "router {} has 50 listeners (the NLB limit): the pinned port cannot be added",
                    route.router
                )))
            }
            Allocation::RouteExists | Allocation::PortTaken | Allocation::RouterFull => continue,
            Allocation::Contended => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    10 + u64::from(attempt % 7) * 15,
                ))
                .await;
            }
        }
    }
    Err(ServiceError::Busy(spec.id.to_string()))
}

/// How many TLS names a router's private endpoint rule has room for: 10 domain names per rule
/// ([`crate::domain::catalog::DOMAIN_NAMES_PER_RULE`]), less the router's consumer domain.
fn tls_names_cap(ctx: &Context, router: &str) -> usize {
    let domain = ctx
        .config
        .router(router)
        .and_then(|r| r.consumer_domain.as_ref());
    crate::domain::catalog::DOMAIN_NAMES_PER_RULE - usize::from(domain.is_some())
}

/// The router and port of a pin, or why it cannot have them: the port is held by another route,
/// or quarantined after a route released it.
async fn pinned(
    ctx: &Context,
    pin: &PortPin,
    spec: &RouteSpec,
    now: i64,
) -> Result<(String, u16), ServiceError> {
    let route_id = spec.id.as_str();
    let router = match &pin.router {
        Some(r) => r.clone(),
        None => ctx
            .config
            .fleet
            .first()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
    };
    let (entries, _) = ctx.store.ports(&router).await?;
    if let Some(e) = entries.iter().find(|e| e.port == pin.port) {
        let held = e.state == "allocated" && e.route_id != route_id;
        let quarantined = e.state == "quarantined" && e.until.is_none_or(|u| u >= now);
        if held || quarantined {
            return Err(ServiceError::PortPinned {
                router,
                port: pin.port,
                holder: if held {
                    e.route_id.clone()
                } else {
                    format!("quarantine (released by {})", e.route_id)
                },
            });
        }
    }
    if let Some(listener) = live_listeners(ctx, &router).await?.remove(&pin.port) {
        if !listener_is_the_routes(ctx, &listener, spec).await? {
            return Err(ServiceError::PortServed {
                router,
                port: pin.port,
                listener: listener.arn,
            });
        }
    }
    Ok((router, pin.port))
}

/// The router's live listeners by port (one DescribeListeners): a port a listener serves is not
/// free, whatever the port table says (a seed deployment's listeners are in no table).
async fn live_listeners(
    ctx: &Context,
    router: &str,
) -> Result<BTreeMap<u16, ListenerInfo>, ServiceError> {
    let Some(r) = ctx.fleet.get(router) else {
        return Ok(BTreeMap::new());
    };
    Ok(ctx
        .elb
        .listeners(&r.config.nlb_arn)
        .await?
        .into_iter()
        .map(|l| (l.port, l))
        .collect())
}

/// True when a live listener on a route's pinned port is the route's own: tagged with its id
/// (an earlier attempt), or forwarding to the target group it adopts (`plr adopt`).
async fn listener_is_the_routes(
    ctx: &Context,
    listener: &ListenerInfo,
    spec: &RouteSpec,
) -> Result<bool, ServiceError> {
    if let (Some(adopted), Some(forward)) = (&spec.target_group, &listener.forward_to) {
        if let Some(tg) = ctx.elb.target_group_by_name(adopted).await? {
            if &tg.arn == forward {
                return Ok(true);
            }
        }
    }
    let tags = ctx.elb.tags_of(std::slice::from_ref(&listener.arn)).await?;
    Ok(tags
        .get(&listener.arn)
        .and_then(|t| t.get(TAG_ROUTE))
        .is_some_and(|r| r == spec.id.as_str()))
}

/// Completes a route in `Provisioning`: resources, then the first reconcile. Idempotent.
pub async fn finish(
    ctx: &Context,
    route: Route,
    lookups: &[Lookup],
) -> Result<Route, ServiceError> {
    let mut route = route;
    if route.status == RouteStatus::Provisioning
        || route.target_group_arn.is_none()
        || route.listener_arn.is_none()
    {
        let (mut provisioned, _) = ensure_resources(ctx, &route, false).await?;
        if let Some(conflict) = provisioned.conflict.clone() {
            // A new route cannot serve on a port someone else holds: refuse, do not record.
            return Err(ElbError {
                operation: "CreateListener",
                code: Some(LISTENER_PORT_TAKEN.into()),
                message: conflict,
            }
            .into());
        }
        if provisioned.status == RouteStatus::Provisioning {
            provisioned.status = RouteStatus::Pending;
        }
        provisioned.version += 1;
        provisioned.updated_at = Utc::now();
        ctx.store.save(&provisioned).await?;
        route = provisioned;
    }
    Ok(reconcile(ctx, route, lookups, false).await?.route)
}

/// Reads a route the caller may see.
pub async fn get(ctx: &Context, caller: &Caller, id: &str) -> Result<Route, ServiceError> {
    let id = RouteId::parse(id)?;
    let route = ctx
        .store
        .get(&id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
    if !caller.may_access(ctx, &route) {
        return Err(ServiceError::Forbidden {
            principal: caller.principal.clone(),
            route: id.to_string(),
        });
    }
    Ok(route)
}

/// Route detail with ELB's view of targets and the NLB's private IPs.
pub async fn detail(ctx: &Context, caller: &Caller, id: &str) -> Result<RouteDetail, ServiceError> {
    let route = get(ctx, caller, id).await?;
    let targets = match &route.target_group_arn {
        Some(tg) => ctx.elb.describe_targets(tg).await?,
        None => vec![],
    };
    let nlb_private_ips = match ctx.fleet.get(&route.router) {
        Some(r) => crate::adapters::aws::ec2::nlb_private_ips(r, &ctx.clients.ec2)
            .await
            .unwrap_or_default(),
        None => vec![],
    };
    let health = summarize(&targets, &route.refused, route.conflict.as_deref());
    Ok(RouteDetail {
        view: view(ctx, route),
        targets,
        health,
        nlb_private_ips,
    })
}

/// Filters for listing routes.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only routes of this owner.
    pub owner: Option<String>,
    /// Only routes with this tag key (and value, when given).
    pub tag: Option<(String, Option<String>)>,
    /// Page size (1-100).
    pub limit: usize,
    /// Continue after this route id.
    pub next: Option<String>,
}

/// Lists routes the caller may see, filtered, paginated by route id.
pub async fn list(
    ctx: &Context,
    caller: &Caller,
    filter: &ListFilter,
) -> Result<(Vec<Route>, Option<String>), ServiceError> {
    let limit = filter.limit.clamp(1, 100);
    let mut out = Vec::new();
    let mut start = filter.next.clone();
    loop {
        let page = ctx.store.list(start.as_deref(), 100).await?;
        for r in page.routes {
            let visible = caller.may_access(ctx, &r)
                && filter.owner.as_ref().is_none_or(|o| &r.owner == o)
                && filter
                    .tag
                    .as_ref()
                    .is_none_or(|(k, v)| match (r.spec.tags.get(k), v) {
                        (Some(_), None) => true,
                        (Some(have), Some(want)) => have == want,
                        _ => false,
                    });
            if visible {
                let id = r.id().to_string();
                out.push(r);
                if out.len() == limit {
                    return Ok((out, Some(id)));
                }
            }
        }
        match page.next {
            Some(n) => start = Some(n),
            None => return Ok((out, None)),
        }
    }
}

/// Reconciles a route now (one fresh lookup) and returns what was done. Re-provisions
/// missing resources first; a route whose source was deleted follows DNS again.
pub async fn sync(ctx: &Context, caller: &Caller, id: &str) -> Result<Outcome, ServiceError> {
    let mut route = get(ctx, caller, id).await?;
    if route.status == RouteStatus::SourceDeleted {
        route.status = RouteStatus::Pending;
        route.version += 1;
        ctx.store.save(&route).await?;
    }
    let before = route.conflict.clone();
    let (mut route, _) = ensure_resources(ctx, &route, false).await?;
    if route.conflict != before {
        route.version += 1;
        route.updated_at = Utc::now();
        ctx.store.save(&route).await?;
    }
    // A listener conflict is reported, and never stops the targets from following DNS.
    let conflicts: Vec<String> = route.conflict.iter().cloned().collect();
    let seen = observe(ctx, &route).await;
    let mut outcome =
        reconcile_with(ctx, route, &[seen.lookup], Some(seen.retention), false).await?;
    outcome.conflicts = conflicts;
    Ok(outcome)
}

/// Deletes a route: targets, listener, target group, then the record; the port is quarantined.
/// Marks the route `Deleting` first, so a crash midway is finished by a retry or the audit.
pub async fn delete(ctx: &Context, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    let route = get(ctx, caller, id).await?;
    teardown(ctx, route).await
}

/// Removes a route's resources and record (used by delete and by the audit for `Deleting`).
pub async fn teardown(ctx: &Context, mut route: Route) -> Result<(), ServiceError> {
    if route.status != RouteStatus::Deleting {
        route.status = RouteStatus::Deleting;
        route.version += 1;
        route.updated_at = Utc::now();
        ctx.store.save(&route).await?;
    }
    discover_resources(ctx, &mut route).await?;
    if let Some(l) = &route.listener_arn {
        ctx.elb.delete_listener(l).await?;
    }
    if let Some(tg) = route.target_group_arn.clone() {
        let outcome = reconcile(ctx, route.clone(), &[], false).await?;
        route = outcome.route;
        ctx.elb.delete_target_group(&tg).await?;
    }
    let until = Utc::now().timestamp() + ctx.config.port_quarantine.as_secs() as i64;
    ctx.store.release(&route, until).await?;
    info!(route_id = %route.id(), port = route.listener_port, until, "route deleted, port quarantined");
    if route.spec.tls_name {
        crate::rules::sync(ctx, false).await;
    }
    Ok(())
}

/// Fills in ARNs that a creation cut short never recorded — the target group by its
/// deterministic name and our ownership tag, the listener by the route's port forwarding to
/// it — so a teardown of a half-created route leaves nothing behind.
async fn discover_resources(ctx: &Context, route: &mut Route) -> Result<(), ServiceError> {
    if route.target_group_arn.is_none() {
        let name = route.target_group_name();
        if let Some(tg) = ctx.elb.target_group_by_name(&name).await? {
            let tags = ctx.elb.tags_of(std::slice::from_ref(&tg.arn)).await?;
            let ours = tags
                .get(&tg.arn)
                .and_then(|t| t.get(TAG_ROUTE))
                .is_some_and(|r| r == route.id().as_str());
            if ours {
                route.target_group_arn = Some(tg.arn);
            }
        }
    }
    if route.listener_arn.is_none() {
        if let (Some(router), Some(tg)) = (ctx.fleet.get(&route.router), &route.target_group_arn) {
            let listeners = ctx.elb.listeners(&router.config.nlb_arn).await?;
            route.listener_arn = listeners
                .into_iter()
                .find(|l| l.port == route.listener_port && l.forward_to.as_deref() == Some(tg))
                .map(|l| l.arn);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_sessions_become_their_role_and_other_arns_stay() {
        let c = Caller::from_user_arn("arn:aws:sts::123456789012:assumed-role/pipeline/run-4711");
        assert_eq!(c.principal, "arn:aws:iam::123456789012:role/pipeline");
        let gov = Caller::from_user_arn("arn:aws-us-gov:sts::1:assumed-role/r/s");
        assert_eq!(gov.principal, "arn:aws-us-gov:iam::1:role/r");
        for kept in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:federated-user/bob",
            "arn:aws:sts::123456789012:assumed-role/no-session",
            "not-an-arn",
        ] {
            assert_eq!(Caller::from_user_arn(kept).principal, kept);
        }
    }
}

/// What `create` would do with a request, decided by the same rules and changing nothing
/// (`plr plan`).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// `create` (a new route), `existing` (an identical route exists: a replay), or the error
    /// code `create` would answer (`validation_failed`, `conflict`, `public_address`,
    /// `port_pinned`, `capacity_exhausted`).
    pub verdict: String,
    /// The listener port the route would have (pinned, existing, or the next free one).
    pub listener_port: Option<u16>,
    /// What DNS answers now (failures included).
    pub resolved: Lookup,
    /// Why, in one line, when the verdict is not `create` or `existing`; a note otherwise
    /// (e.g. the name does not resolve yet: the route would wait in `pending`).
    pub detail: Option<String>,
}

/// Previews `create` for `req` as `caller` would run it: validation, an existing route with
/// another definition, an all-public DNS answer, a pinned port held by another route, a full
/// router. `planned` are listener ports earlier previews of the same plan take.
pub async fn preview(
    ctx: &Context,
    caller: &Caller,
    req: &CreateRequest,
    planned: &mut Vec<(String, u16)>,
) -> Result<Preview, ServiceError> {
    let refuse = |verdict: &str, detail: String, resolved: Lookup| Preview {
        verdict: verdict.into(),
        listener_port: None,
        resolved,
        detail: Some(detail),
    };
    let spec = match req.validate(ctx) {
        Ok(spec) => spec,
        Err(e) => {
            return Ok(refuse(
                "validation_failed",
                e.to_string(),
                Lookup::Failed(crate::domain::plan::LookupFailure::Other),
            ))
        }
    };
    let resolved = ctx.dns.lookup(spec.host.as_str()).await;
    if let Some(existing) = ctx.store.get(&spec.id).await? {
        let same = existing.spec.host == spec.host
            && existing.spec.port == spec.port
            && spec
                .pin
                .as_ref()
                .is_none_or(|p| p.port == existing.listener_port);
        if !same || existing.owner != caller.principal && !caller.is_admin(ctx) {
            return Ok(refuse(
                "conflict",
                conflict(ctx, caller, &existing, &spec).to_string(),
                resolved,
            ));
        }
        return Ok(Preview {
            verdict: "existing".into(),
            listener_port: Some(existing.listener_port),
            resolved,
            detail: None,
        });
    }
    if let Lookup::Answer(ips) = &resolved {
        if ips
            .iter()
            .all(|ip| ctx.fleet.values().all(|r| r.policy.classify(*ip).is_err()))
        {
            let e = ServiceError::PublicAddress {
                host: spec.host.to_string(),
                ips: ips.iter().map(|i| i.to_string()).collect(),
            };
            return Ok(refuse("public_address", e.to_string(), resolved));
        }
    }
    let now = Utc::now().timestamp();
    let router = match spec.pin.as_ref().and_then(|p| p.router.clone()) {
        Some(r) => r,
        None => ctx
            .config
            .fleet
            .first()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
    };
    let (entries, active) = ctx.store.ports(&router).await?;
    let taken_here = planned.iter().filter(|(r, _)| *r == router).count() as u32;
    if active + taken_here >= crate::domain::ports::MAX_LISTENERS_PER_NLB {
        return Ok(refuse(
            "capacity_exhausted",
            format!("router {router} would have more than 50 listeners (the NLB limit)"),
            resolved,
        ));
    }
    let port = match &spec.pin {
        Some(pin) => {
            match pinned(ctx, pin, &spec, now).await {
                Ok(_) => {}
                Err(e @ ServiceError::PortServed { .. }) => {
                    return Ok(refuse("port_in_use", e.to_string(), resolved))
                }
                Err(e @ ServiceError::PortPinned { .. }) => {
                    return Ok(refuse("port_pinned", e.to_string(), resolved))
                }
                Err(e) => return Err(e),
            }
            if planned.iter().any(|(r, p)| *r == router && *p == pin.port) {
                return Ok(refuse(
                    "port_pinned",
                    format!(
                        "listener port {} is pinned by another entry of this plan",
                        pin.port
                    ),
                    resolved,
                ));
            }
            pin.port
        }
        None => {
            let live = live_listeners(ctx, &router).await?;
            let mut free = free_ports(ctx.config.port_range, &entries, now);
            free.retain(|p| !live.contains_key(p));
            match free
                .into_iter()
                .find(|p| !planned.iter().any(|(r, q)| *r == router && q == p))
            {
                Some(p) => p,
                None => {
                    return Ok(refuse(
                        "capacity_exhausted",
                        format!(
                            "no free port in {}-{}",
                            ctx.config.port_range.0, ctx.config.port_range.1
                        ),
                        resolved,
                    ))
                }
            }
        }
    };
    planned.push((router, port));
    let detail = match &resolved {
        Lookup::Failed(f) => Some(format!(
            "{} ({f}): the route would wait in `pending` until it resolves",
            spec.host
        )),
        Lookup::Answer(_) => None,
    };
    Ok(Preview {
        verdict: "create".into(),
        listener_port: Some(port),
        resolved,
        detail,
    })
}
