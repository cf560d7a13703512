//! Creating a route: the request and its validation, what the RDS API adds to it, the
//! listener port (allocated, pinned or reused), the AWS resources, and `plr plan`'s preview of
//! all of it.

use std::collections::BTreeMap;

use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::adapters::aws::elb::{ElbError, ListenerInfo, TAG_ROUTE};
use crate::adapters::aws::store::ports::Allocation;
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::catalog::{tls_names_capacity, DOMAIN_NAMES_PER_RULE};
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
use crate::reconcile::observe::observe_host;
use crate::reconcile::provision::{ensure_resources, LISTENER_PORT_TAKEN};
use crate::reconcile::reconcile;

use super::{Caller, ServiceError};

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

/// Fills what the router's own RDS API can tell about a request's database: its account
/// (the router's own, when an instance, cluster or custom endpoint of that identifier exists
/// there **with this very endpoint name**), its engine when not given, and for a custom
/// endpoint the cluster whose events concern it. Changes nothing for another account's database, a proxy, a name that is not an
/// RDS endpoint, or when the RDS API is off or fails (the calls have short timeouts).
pub(super) async fn learn_from_rds(ctx: &Context, spec: &mut RouteSpec, explicit_identifier: bool) {
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
///
/// The exposure policy ([`crate::domain::exposure`]) binds every caller to the database ports
/// and CIDRs; a caller that is not an admin may also publish only a database it owns
/// ([`verify_owner`]), checked before the host is ever resolved, so a refusal tells nothing
/// about what a name answers.
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
    let verify = !caller.is_admin(ctx);
    create_checked(ctx, caller, req, verify).await
}

/// [`create`] for trusted callers that may pin listener ports without being admins and are
/// bound only by the database ports and CIDRs: Terraform seeds (written with the table's IAM
/// permissions) and the operator CLI (`plr`).
pub async fn create_trusted(
    ctx: &Context,
    caller: &Caller,
    req: &CreateRequest,
) -> Result<(Route, bool), ServiceError> {
    create_checked(ctx, caller, req, false).await
}

async fn create_checked(
    ctx: &Context,
    caller: &Caller,
    req: &CreateRequest,
    verify_ownership: bool,
) -> Result<(Route, bool), ServiceError> {
    let mut spec = req.validate(ctx)?;
    ctx.config.exposure.check_port(spec.port)?;
    if verify_ownership {
        verify_owner(ctx, caller, &mut spec).await?;
    }
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
        forbidden_addresses(ctx, &spec, ips)?;
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
        crate::flows::rules::sync(ctx, false).await;
    }
    Ok((route, created))
}

/// Refuses a host whose answer holds an address the deployment never publishes on any router
/// (outside the database CIDRs, or the router's own): a route is created for its whole answer
/// or not at all. Later answers are bound the same way by the planner (its rule 12).
fn forbidden_addresses(
    ctx: &Context,
    spec: &RouteSpec,
    ips: &std::collections::BTreeSet<std::net::IpAddr>,
) -> Result<(), ServiceError> {
    let mut refused: BTreeMap<std::net::IpAddr, crate::domain::net::Refusal> = BTreeMap::new();
    for ip in ips {
        for router in ctx.fleet.values() {
            if let Err(why) = router.policy.classify(*ip) {
                if why.is_forbidden() {
                    refused.entry(*ip).or_insert(why);
                }
            }
        }
    }
    let Some(why) = refused.values().next().copied() else {
        return Ok(());
    };
    Err(crate::domain::exposure::Denial::Addresses {
        host: spec.host.to_string(),
        ips: refused
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        why: why.explain().to_owned(),
        refusal: why,
    }
    .into())
}

/// Verifies that a caller that is not an admin may publish the request's database
/// ([`crate::domain::exposure`]): the host is under a host suffix granted to it, or it is an
/// RDS instance, cluster or custom endpoint that the RDS API of the caller's own account or a
/// granted one (its own, or the read role) shows **with this very endpoint name**. The account
/// found is stored on the route (`account_id`). Refused: IP literals, names that are no RDS
/// endpoint, RDS Proxy endpoints (not looked up), another account's database, an account
/// whose RDS API the router cannot read, and a name the RDS API does not show.
async fn verify_owner(
    ctx: &Context,
    caller: &Caller,
    spec: &mut RouteSpec,
) -> Result<(), ServiceError> {
    let policy = &ctx.config.exposure;
    let principal = caller.principal.as_str();
    let scope = policy.scope(principal);
    let host = spec.host.as_str().trim_end_matches('.').to_owned();
    let deny = |reason: String| ServiceError::from(policy.not_owner(principal, reason));
    if scope.grants_host(&host) {
        return Ok(());
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(deny(format!(
            "{host} is an IP literal, not a database the router can verify"
        )));
    }
    let Some(endpoint) = parse_rds_endpoint(&host) else {
        return Err(deny(format!(
            "{host} is not an RDS endpoint name and is under no host suffix granted to it"
        )));
    };
    if endpoint.kind == RdsEndpointKind::Proxy {
        return Err(deny(format!(
            "{host} is an RDS Proxy endpoint, which the router does not verify"
        )));
    }
    let candidates: Vec<String> = match &spec.account {
        Some(a) if !scope.accounts.contains(a) => {
            return Err(deny(format!(
                "the database is in account {a}, which is not its own nor granted to it"
            )));
        }
        Some(a) => vec![a.clone()],
        None => scope.accounts.iter().cloned().collect(),
    };
    let mut why = Vec::new();
    for account in candidates {
        if !ctx.rds.covers(&account, &endpoint.region) {
            why.push(format!(
                "the router cannot read account {account}'s RDS API in {} (a read role in rds_role_arns, ROUTER_RDS_ROLE_ARNS)",
                endpoint.region
            ));
            continue;
        }
        match ctx.rds.find_database(&account, &host, &endpoint).await {
            Ok(Some(database)) => {
                spec.account = Some(account);
                if spec.engine.is_none() {
                    spec.engine = database.engine.as_deref().and_then(Engine::from_rds);
                }
                return Ok(());
            }
            Ok(None) => why.push(format!(
                "account {account}'s RDS API shows no database whose endpoint is {host}"
            )),
            Err(e) => {
                info!(route_id = %spec.id, %account, error = %e, "ownership of the database not verified");
                why.push(format!(
                    "account {account}'s RDS API did not answer (retry)"
                ));
            }
        }
    }
    Err(deny(why.join("; ")))
}

/// The 409 for a route that exists otherwise than asked: which fields differ (as the API
/// names them), or that it is another principal's.
pub(super) fn conflict(
    ctx: &Context,
    caller: &Caller,
    existing: &Route,
    wanted: &RouteSpec,
) -> ServiceError {
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
pub(super) async fn allocate(
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
            name_gone_since: None,
            ceded: Default::default(),
            deployment_tagged: true,
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
            Allocation::TlsNameTaken(holder) => {
                return Err(ServiceError::TlsNameTaken {
                    host: spec.host.to_string(),
                    router: holder.unwrap_or_else(|| "another".into()),
                })
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

/// How many TLS names a router's private endpoint rule has room for ([`tls_names_capacity`];
/// a router not configured here has the whole rule).
pub(super) fn tls_names_cap(ctx: &Context, router: &str) -> usize {
    ctx.config
        .router(router)
        .map_or(DOMAIN_NAMES_PER_RULE, tls_names_capacity)
}

/// The router and port of a pin, or why it cannot have them: the port is held by another route,
/// or quarantined after a route released it.
pub(super) async fn pinned(
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
pub(super) async fn live_listeners(
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
pub(super) async fn listener_is_the_routes(
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
