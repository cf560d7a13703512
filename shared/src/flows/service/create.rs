//! Creating a route: the request and its validation, what the RDS API adds to it, the
//! exposure policy's checks ([`super::exposure`]), the listener port ([`super::allocation`]),
//! the AWS resources, and `plr plan`'s preview of all of it.

use std::collections::BTreeMap;

use chrono::Utc;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::adapters::aws::elb::ElbError;
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::exposure::Denial;
use crate::domain::host::{parse_rds_endpoint, HostName, RdsEndpointKind};
use crate::domain::plan::Lookup;
use crate::domain::ports::free_ports;
use crate::domain::route::PortPin;
use crate::domain::route::{
    validate_idle_timeout, Engine, HealthCheck, Protocol, Route, RouteId, RouteSpec, RouteStatus,
};
use crate::domain::validation::{
    parse_rds_arn, validate_account, validate_port, validate_tags, ValidationError,
};
use crate::domain::window::Retention;
use crate::reconcile::observe::observe_host;
use crate::reconcile::provision::{ensure_resources, LISTENER_PORT_TAKEN};
use crate::reconcile::reconcile;

use super::allocation::{allocate, conflict, live_listeners, pin_router, pinned};
use super::exposure::{forbidden_addresses, owner_quotas, verify_owner};
use super::learn::{learn_from_alias, learn_from_rds};
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
    /// RDS endpoint host names when absent (for a custom endpoint its cluster, for a proxy's
    /// added endpoint its proxy, both from the RDS API).
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
    /// Seconds a consumer's connection may carry no bytes before the NLB closes it, 60-6000
    /// (the listener's `tcp.idle_timeout.seconds`; 422 outside). Absent: the deployment's
    /// default (`ROUTER_IDLE_TIMEOUT_SECONDS`). A query whose first row takes longer than this
    /// dies on an idle connection unless the client sends TCP keepalives sooner.
    #[serde(default)]
    #[schemars(range(min = 60, max = 6000))]
    pub idle_timeout_seconds: Option<i64>,
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
        let idle_timeout_seconds = self
            .idle_timeout_seconds
            .map(validate_idle_timeout)
            .transpose()?;
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
            if arn.region != endpoint.region && endpoint.kind != RdsEndpointKind::GlobalWriter {
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
            follows: None,
            pin,
            target_group: self.target_group.clone(),
            tls_name: self.tls_name,
            engine: self.engine,
            idle_timeout_seconds,
        })
    }
}

/// Creates a route (allocate port → create target group and listener → first reconcile).
/// Returns the route and whether it was created now (`false`: an identical replay).
///
/// The exposure policy ([`crate::domain::exposure`]) binds every caller to the database ports
/// and CIDRs; a caller that is not an admin may also publish only a database it owns
/// (`verify_owner`), checked before the host is ever resolved, so a refusal tells nothing
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
    let mut owner_quota = None;
    if verify_ownership {
        verify_owner(ctx, caller, &mut spec).await?;
        owner_quota = owner_quotas(ctx, caller, &spec).await?;
    }
    learn_from_rds(ctx, &mut spec, req.rds_identifier.is_some()).await;
    let seen = observe_host(
        ctx,
        spec.host.as_str(),
        spec.account.as_deref(),
        Retention::Lookups(ctx.config.window),
    )
    .await;
    if let Some(endpoint) = &seen.followed {
        learn_from_alias(ctx, &mut spec, endpoint).await;
    }
    let first = seen.lookup;
    if first == Lookup::Failed(crate::domain::plan::LookupFailure::TooManyAddresses) {
        let limit = ctx.config.exposure.quotas.targets_per_route;
        return Err(Denial::Quota {
            what: "targets_per_route",
            limit,
            detail: format!("{} answers more than {limit} addresses", spec.host),
        }
        .into());
    }
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
    // The targets the route starts with (a reader endpoint's: every member); one when its
    // name does not answer yet.
    let need = match &first {
        Lookup::Answer(ips) => ips.len(),
        Lookup::Failed(_) => 1,
    };
    let (route, created) = allocate(ctx, caller, spec, owner_quota, need).await?;
    let route = finish(ctx, route, &[first]).await?;
    if created && route.spec.tls_name {
        // The rule learns the name now; a failure is reported and the audit retries it.
        crate::flows::rules::sync(ctx, false).await;
    }
    Ok((route, created))
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
    let id = route.id().clone();
    match reconcile(ctx, route, lookups, false).await {
        Ok(outcome) => Ok(outcome.route),
        // The route exists with its port; the NLB refused its first targets for the target
        // quota. It is stored with that reason (not serving) and the DNS watch retries: a
        // create answers it as it is, not as a conflict the caller would retry.
        Err(e) if e.target_quota_full().is_some() => ctx
            .store
            .get(&id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(id.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// What `create` would do with a request, decided by the same rules and changing nothing
/// (`plr plan`).
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// `create` (a new route), `existing` (an identical route exists: a replay), or the error
    /// code `create` would answer (`validation_failed`, `conflict`, `database_port_not_allowed`,
    /// `outside_database_cidrs`, `router_address`, `quota_exceeded`, `public_address`,
    /// `port_pinned`, `capacity_exhausted`). `plr` is trusted like Terraform seeds: bound by
    /// the database ports and CIDRs, not by the callers' grants and owner quotas.
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
    // The exposure policy's rules that bind seeds and plr too: database ports, CIDRs, the
    // router's own addresses, addresses per answer.
    let denied = |e: ServiceError, resolved: Lookup| {
        let code = match &e {
            ServiceError::Denied(Denial::Port { .. }) => "database_port_not_allowed",
            ServiceError::Denied(Denial::Addresses {
                refusal: crate::domain::net::Refusal::RouterAddress,
                ..
            }) => "router_address",
            ServiceError::Denied(Denial::Addresses { .. }) => "outside_database_cidrs",
            _ => "quota_exceeded",
        };
        refuse(code, e.to_string(), resolved)
    };
    if let Err(e) = ctx.config.exposure.check_port(spec.port) {
        return Ok(denied(e.into(), resolved));
    }
    let cap = ctx.config.exposure.quotas.targets_per_route;
    if resolved == Lookup::Failed(crate::domain::plan::LookupFailure::TooManyAddresses) {
        let e = Denial::Quota {
            what: "targets_per_route",
            limit: cap,
            detail: format!("{} answers more than {cap} addresses", spec.host),
        };
        return Ok(denied(e.into(), resolved));
    }
    if let Lookup::Answer(ips) = &resolved {
        if let Err(e) = forbidden_addresses(ctx, &spec, ips) {
            return Ok(denied(e, resolved));
        }
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
    let router = pin_router(ctx, spec.pin.as_ref());
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
