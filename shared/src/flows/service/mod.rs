//! Route operations behind the API, CLI and demo: create, read, list, sync and delete, with
//! ownership checks. Transport-free: callers map [`ServiceError`] to their own replies.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;

use crate::adapters::aws::elb::{ElbError, Targets};
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::catalog::consumer_address;
use crate::domain::health::TargetHealth;
use crate::domain::health::{summarize, RouteHealth};
use crate::domain::route::{Route, RouteId, RouteStatus};
use crate::domain::validation::ValidationError;
use crate::flows::diagnose::{
    diagnose_within_deadline, fails_health_checks, wants_diagnosis, Facts,
};
use crate::reconcile::observe::{observe, stored_claims};
use crate::reconcile::provision::ensure_resources;
use crate::reconcile::{reconcile_with, Outcome, ReconcileError, Seen};

mod allocation;
mod catalog;
mod create;
mod delete;
mod exposure;
mod learn;

pub use catalog::{catalog, Catalog, CatalogEntry, RuleNames};
pub use create::{create, create_trusted, finish, preview, CreateRequest, Preview};
pub use delete::{delete, teardown};
pub(crate) use learn::refresh_event_aliases;

/// Why an operation was refused or failed, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The host resolves to addresses that may not be targets.
    #[error("host {host} resolves to {}, which may not be targets (only private addresses)", if ips.is_empty() { "addresses".to_owned() } else { format!("{ips:?}") })]
    PublicAddress {
        /// Host.
        host: String,
        /// Refused addresses (empty in answers to callers that are not admins).
        ips: Vec<String>,
    },
    /// The deployment's exposure policy refuses the route: a port that is no database port,
    /// addresses it never publishes, or (for a caller that is not an admin) a database that
    /// is not verifiably the caller's. The message names the setting that would allow it.
    #[error(transparent)]
    Denied(#[from] crate::domain::exposure::Denial),
    /// No such route (or not visible to the caller).
    #[error("route {0} not found")]
    NotFound(String),
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
    /// Seconds a connection may carry no bytes before the listener closes it: the route's
    /// `idle_timeout_seconds`, else the deployment's default (`ROUTER_IDLE_TIMEOUT_SECONDS`).
    /// Through a PrivateLink endpoint the endpoint's own limit may be shorter: see the
    /// README's "Idle connections".
    #[schemars(range(min = 60, max = 6000))]
    pub idle_timeout_seconds: u32,
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
    /// Why the route is outside the deployment's exposure policy now (a port that is no
    /// database port, a database its owner was not granted), one line each; absent when it is
    /// inside. Such a route keeps serving: an operator removes it or grants it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_violations: Vec<String>,
    /// On a create's answer: what would keep the new targets from serving, as the RDS and EC2
    /// APIs show it now (the database's security groups or network ACLs not admitting the
    /// NLB, another port, MySQL's `max_connect_errors`), each with its fix; absent when nothing
    /// was found. `GET /routes/{id}` reports them under `health.diagnoses` while a target fails
    /// its health checks (MySQL's and MariaDB's risk always).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<crate::domain::diagnosis::Diagnosis>,
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

/// What a caller that is not an admin may see of what a route's name answers: only
/// addresses that may be targets of the route's router (the ones it registers). Resolutions
/// lose the others, refused addresses go: otherwise a route on a name a caller controls (a
/// CNAME into a private zone it may not read) would be a probe of that zone. Admins see
/// everything. Used by every API answer that shows a route (list, create, show, sync).
pub fn redact(ctx: &Context, caller: &Caller, route: &mut Route) {
    if caller.is_admin(ctx) {
        return;
    }
    let policy = ctx.fleet.get(&route.router).map(|r| &r.policy);
    let allowed =
        |ip: &str| policy.is_some_and(|p| ip.parse().is_ok_and(|ip| p.classify(ip).is_ok()));
    for resolution in &mut route.resolutions {
        resolution.ips.retain(|ip| allowed(ip));
    }
    route.refused.clear();
}

/// [`redact`] for a refusal shown to a caller that is not an admin: the addresses a name
/// answers leave the error (the code and the reason stay).
pub fn redact_error(ctx: &Context, caller: &Caller, e: ServiceError) -> ServiceError {
    if caller.is_admin(ctx) {
        return e;
    }
    match e {
        ServiceError::PublicAddress { host, .. } => {
            ServiceError::PublicAddress { host, ips: vec![] }
        }
        ServiceError::Denied(crate::domain::exposure::Denial::Addresses {
            host,
            why,
            refusal,
            ..
        }) => ServiceError::Denied(crate::domain::exposure::Denial::Addresses {
            host,
            ips: String::new(),
            why,
            refusal,
        }),
        other => other,
    }
}

/// [`redact`] for a plan shown to a caller that is not an admin: refused addresses leave its
/// notes, and the routes that took an address are not named.
pub fn redact_plan(ctx: &Context, caller: &Caller, plan: &mut crate::domain::plan::Plan) {
    if !caller.is_admin(ctx) {
        plan.notes
            .retain(|n| !matches!(n, crate::domain::plan::Note::Refused { .. }));
        // Which other routes' databases answer an address is theirs to know (another owner's
        // route answers 404): the note keeps the address this route gave up, not who took it.
        for note in &mut plan.notes {
            if let crate::domain::plan::Note::IpReused { routes, .. } = note {
                routes.clear();
            }
        }
    }
}

/// Why `route` is outside the deployment's exposure policy now, one line each (empty: it is
/// inside); no AWS call ([`crate::domain::exposure::ExposurePolicy::violations`]).
pub fn policy_violations(ctx: &Context, route: &Route) -> Vec<String> {
    ctx.config.exposure.violations(
        route.spec.port,
        route.spec.host.as_str(),
        route.spec.account.as_deref(),
        &route.owner,
        ctx.config.admin_principals.contains(&route.owner),
    )
}

/// Builds the API view of a route.
pub fn view(ctx: &Context, route: Route) -> RouteView {
    // From the configuration, not the loaded fleet: a view needs no NLB to answer.
    let connection = ctx.config.router(&route.router).map(|r| Connection {
        endpoint_service_name: r.endpoint_service_name.clone(),
        port: route.listener_port,
        consumer_host: consumer_address(&route, Some(r)).map(|a| a.host),
        idle_timeout_seconds: route.idle_timeout(ctx.config.idle_timeout_secs),
    });
    let policy_violations = policy_violations(ctx, &route);
    RouteView {
        route,
        connection,
        policy_violations,
        diagnoses: vec![],
    }
}

/// What would keep a new route's targets from serving ([`crate::flows::diagnose`], the
/// network checks included): its targets read once more, then the database's facts. Best
/// effort: empty when nothing could be read.
pub async fn diagnose_new(
    ctx: &Context,
    route: &Route,
) -> Vec<crate::domain::diagnosis::Diagnosis> {
    if !crate::flows::diagnose::names_a_database(route) {
        return vec![];
    }
    let targets = match &route.target_group_arn {
        Some(tg) => ctx.elb.describe_targets(tg).await.unwrap_or_default(),
        None => vec![],
    };
    diagnose_within_deadline(ctx, route, &targets, true, &Facts::default()).await
}

/// Reads a route the caller may see; another owner's is [`ServiceError::NotFound`].
pub async fn get(ctx: &Context, caller: &Caller, id: &str) -> Result<Route, ServiceError> {
    let id = RouteId::parse(id)?;
    let route = ctx
        .store
        .get(&id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(id.to_string()))?;
    // Another owner's route answers as no route at all: a 403 would confirm that the name
    // exists (and so that someone publishes that database).
    if !caller.may_access(ctx, &route) {
        return Err(ServiceError::NotFound(id.to_string()));
    }
    Ok(route)
}

/// Route detail with ELB's view of targets and the NLB's private IPs.
///
/// A route with no target registered shows a caller that is not an admin nothing of what its
/// name answers (no resolutions, sightings or refused addresses): otherwise a route on any
/// name would be a probe of private DNS zones. Admins see everything.
pub async fn detail(ctx: &Context, caller: &Caller, id: &str) -> Result<RouteDetail, ServiceError> {
    let mut route = get(ctx, caller, id).await?;
    let targets = match &route.target_group_arn {
        Some(tg) => ctx.elb.describe_targets(tg).await?,
        None => vec![],
    };
    let nlb_private_ips = nlb_private_ips(ctx, &route.router).await;
    let diagnoses = match wants_diagnosis(&route, &targets) {
        true => {
            let network = fails_health_checks(&targets);
            let facts = Facts::knowing_nlb_ips(&route.router, &nlb_private_ips);
            diagnose_within_deadline(ctx, &route, &targets, network, &facts).await
        }
        false => vec![],
    };
    let mut health = summarize(&targets, &route.refused, route.conflict.as_deref()).with_arrivals(
        &targets,
        &route.arrivals,
        chrono::Utc::now(),
    );
    if !caller.is_admin(ctx) {
        // The addresses stay hidden (see `redact`); the health still says why.
        health = health.without_refused_addresses();
    }
    if targets.is_empty() && !caller.is_admin(ctx) {
        route.sightings = Default::default();
        route.resolutions.clear();
        route.ceded.clear();
    }
    redact(ctx, caller, &mut route);
    if route.name_is_gone() {
        health = health.name_gone(&route);
    }
    health = health
        .target_quota_full(route.target_quota_full.as_deref())
        .with_diagnoses(diagnoses);
    Ok(RouteDetail {
        view: view(ctx, route),
        targets,
        health,
        nlb_private_ips,
    })
}

/// The private IPs of a router's NLB, which a database's security group must admit; empty
/// when the router is not in this context's fleet or EC2 cannot be read (the route is still
/// shown, without them).
async fn nlb_private_ips(ctx: &Context, router: &str) -> Vec<String> {
    match ctx.fleet.get(router) {
        Some(r) => ctx.ec2.nlb_private_ips(r).await.unwrap_or_default(),
        None => vec![],
    }
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
    let before = route.clone();
    let (mut route, _) = ensure_resources(ctx, &route, false).await?;
    // Recreated resources have new ARNs: stored, so a delete right after finds them.
    if route.conflict != before.conflict
        || route.listener_arn != before.listener_arn
        || route.target_group_arn != before.target_group_arn
    {
        route.version += 1;
        route.updated_at = Utc::now();
        ctx.store.save(&route).await?;
    }
    // A listener conflict is reported, and never stops the targets from following DNS.
    let conflicts: Vec<String> = route.conflict.iter().cloned().collect();
    let items = ctx.store.route_items().await?;
    let claims = stored_claims(
        items.iter().filter_map(|it| match it {
            RouteItem::Route(r) if r.id() != route.id() => Some(&**r),
            _ => None,
        }),
        &ctx.config,
    );
    let seen = observe(ctx, &route).await;
    let with = Seen {
        retention: Some(seen.retention),
        claims: Some(&claims),
        not_live: Some(&seen.not_live),
        gone_confirmed: seen.gone_confirmed,
        event_at: None,
        answers_sampled: seen.answers_sampled,
    };
    let mut outcome =
        reconcile_with(ctx, route, std::slice::from_ref(&seen.lookup), &with, false).await?;
    outcome.conflicts = conflicts;
    Ok(outcome)
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
