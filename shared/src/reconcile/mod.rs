//! Reconcile: one route made right, whichever flow asked.
//!
//! - This module is the loop: read the targets, [plan](crate::domain::plan), apply,
//!   remember — retried on a lost race, one apply per route at a time (the apply lease).
//! - [`observe`]: what the route's name answers now — DNS, or an Aurora reader or custom
//!   endpoint's members from the RDS API — and how long a vanished IP stays.
//! - [`apply`](mod@apply): a plan → ELBv2, registering before deregistering; the only code that changes
//!   targets.
//! - [`provision`]: the route's target group and listener, created or repaired the same way.

pub mod apply;
pub mod observe;
pub mod provision;

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::adapters::aws::elb::{ElbError, Targets};
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::arrivals::{
    forget_arrivals, note_registering, record_arrivals, stamp_serving, Arrival,
};
use crate::domain::claims::Claims;
use crate::domain::health::{refused_in, TargetHealth};
use crate::domain::log_fields::tag;
use crate::domain::plan::{plan, Intent, Lookup, Note, Plan, PlanInput, Reason};
use crate::domain::route::{Resolution, Route, RouteStatus, RESOLUTIONS_KEPT};
use crate::domain::window::Retention;
use crate::reconcile::apply::apply;
use crate::reconcile::observe::retention_for;

/// Reconciling a route failed; nothing was lost (the next run retries).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// ELBv2 failed.
    #[error(transparent)]
    Elb(#[from] ElbError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The route's router is not configured here.
    #[error("route {route} is on router {router}, which is not configured")]
    UnknownRouter {
        /// Route id.
        route: String,
        /// Router id.
        router: String,
    },
}

impl ReconcileError {
    /// The route's line when the NLB refused its new targets for the target quota
    /// ([`TOO_MANY_TARGETS`]): the route stored it and stays unapplied, so callers report it
    /// rather than fail.
    pub fn target_quota_full(&self) -> Option<&str> {
        match self {
            Self::Elb(e) if e.code.as_deref() == Some(TOO_MANY_TARGETS) => Some(&e.message),
            _ => None,
        }
    }
}

/// What one reconcile did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Route id.
    pub route_id: String,
    /// The plan computed (and applied unless `dry_run`).
    pub plan: Plan,
    /// Whether the plan was applied.
    pub applied: bool,
    /// The route as stored afterwards.
    #[serde(skip)]
    pub route: Route,
    /// Targets and their health as DescribeTargetHealth reported them before the plan was
    /// applied (empty when the route has no target group yet).
    #[serde(skip)]
    pub observed: Vec<TargetHealth>,
    /// Structural conflicts found on the way (e.g. a listener the router does not own on the
    /// route's port), reported beside the target changes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// The planner intent for a route's status.
pub fn intent_for(status: RouteStatus) -> Intent {
    match status {
        RouteStatus::SourceDeleted => Intent::SourceDeleted,
        RouteStatus::Deleting => Intent::RouteDeleted,
        _ => Intent::Follow,
    }
}

fn resolution_of(lookup: &Lookup) -> Resolution {
    let (ips, error) = match lookup {
        Lookup::Answer(ips) => (ips.iter().map(|i| i.to_string()).collect(), None),
        Lookup::Failed(f) => (
            vec![],
            Some(
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
            ),
        ),
    };
    Resolution {
        at: Utc::now(),
        ips,
        error,
    }
}

/// Folds plan results and lookups into the route; true when anything worth storing changed.
fn remember(route: &mut Route, lookups: &[Lookup], plan: &Plan, targets_after: usize) -> bool {
    let mut changed = false;
    if route.unapplied {
        // This reconcile's save is followed by its apply: the flag is cleared with it.
        route.unapplied = false;
        changed = true;
    }
    if matches!(lookups.last(), Some(Lookup::Answer(_))) {
        let refused = refused_in(&plan.notes);
        if route.refused != refused {
            route.refused = refused;
            changed = true;
        }
        // A rename's note outlives the DNS change it announced by at most ten minutes
        // (CEDED_FOR_SECS): a name that still answers after that was renamed back or taken.
        let announced = route.last_event_at.map_or(0, |t| t.timestamp());
        if route.renamed_to.is_some()
            && Utc::now().timestamp() - announced > crate::domain::claims::CEDED_FOR_SECS
        {
            route.renamed_to = None;
            changed = true;
        }
    }
    if route.ceded != plan.ceded {
        route.ceded = plan.ceded.clone();
        changed = true;
    }
    if route.sightings != plan.sightings {
        route.sightings = plan.sightings.clone();
        changed = true;
    }
    for lookup in lookups {
        let r = resolution_of(lookup);
        let same = route
            .resolutions
            .first()
            .is_some_and(|last| last.ips == r.ips && last.error == r.error);
        if !same {
            route.resolutions.insert(0, r);
            route.resolutions.truncate(RESOLUTIONS_KEPT);
            changed = true;
        }
    }
    let gone_since = plan
        .name_gone_since
        .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
    if route.name_gone_since.map(|t| t.timestamp()) != plan.name_gone_since {
        route.name_gone_since = gone_since;
        changed = true;
    }
    // Only a route that served becomes `source_gone`: a `pending` one waits for its database
    // to be created (its name may not resolve for a long time) and has nothing to lose.
    if plan.name_gone && route.status == RouteStatus::Active {
        route.status = RouteStatus::SourceGone;
        changed = true;
    } else if route.status == RouteStatus::SourceGone
        && matches!(lookups.last(), Some(Lookup::Answer(_)))
    {
        // The name resolves again: the route follows it like a new one.
        route.status = RouteStatus::Pending;
        route.renamed_to = None;
        changed = true;
    }
    if matches!(route.status, RouteStatus::Pending | RouteStatus::Active) {
        let status = if targets_after > 0 {
            RouteStatus::Active
        } else {
            RouteStatus::Pending
        };
        if status != route.status {
            route.status = status;
            changed = true;
        }
    }
    changed
}

/// ELBv2's error code when a registration would take a load balancer past its target quota
/// (API_RegisterTargets, Errors).
pub const TOO_MANY_TARGETS: &str = "TooManyTargets";

/// The one line a route shows when its router's NLB refused its new targets for the quota:
/// when it first happened (`since`, kept across retries), what still serves (`staying`: the
/// targets left registered, none for a new route), and the fix.
fn quota_full_line(
    router: &str,
    budget: usize,
    targets: usize,
    staying: usize,
    since: DateTime<Utc>,
) -> String {
    let stays = match staying {
        0 => "the route has no target until there is room".to_owned(),
        n => format!("its {n} current target(s) stay"),
    };
    format!(
        "the NLB of router {router} holds as many targets as it may (its quota \"Targets per Availability Zone per Network Load Balancer\", {budget} here by ROUTER_TARGETS_PER_NLB: per NLB with cross-zone load balancing, else per Availability Zone; a target in N target groups counts N times), so {targets} new target(s) could not be registered since {}: {stays}; remove routes from this router, or ask AWS to raise that quota (then set ROUTER_TARGETS_PER_NLB to it, so placement uses the room); the DNS watch retries every minute",
        since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// When the route's current quota refusal began: the time its stored line names, else now.
fn quota_full_since(line: Option<&str>) -> DateTime<Utc> {
    line.and_then(|l| l.split_once(" since "))
        .and_then(|(_, rest)| rest.split_once(": "))
        .and_then(|(t, _)| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// How long a reconcile holds a route's apply lease ([`Route::applying_until`]) at most. An
/// apply is one RegisterTargets and one DeregisterTargets call per 200 targets, well under a
/// second normally; it gets [`APPLY_DEADLINE`] inside the lease, so it never outlives it. A
/// lease whose holder died or could not return it expires by itself: the next reconcile waits
/// at most this long.
pub const APPLY_LEASE: TimeDelta = TimeDelta::seconds(10);

/// How long an apply may take inside its [`APPLY_LEASE`] (2 s less, for the lease's own
/// writes): an apply cut at the deadline fails like any ELBv2 failure (the route is flagged
/// [`Route::unapplied`], the next DNS watch retries) instead of landing after the lease, when
/// another reconcile may already be planning from the targets.
pub const APPLY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(8);

/// Reconciles one route against fresh lookups; stores the route only when something changed.
///
/// Concurrency (an RDS event, a sync and the audit may reconcile one route at once): a plan that
/// changes targets is applied only after the route it was planned from has been stored with a
/// version condition, so targets never move on a plan made from an outdated route (which could
/// deregister the IP another writer just registered, or register a deleted database's IP). A
/// lost race re-reads the route and plans again, up to three times; lookups that would bring
/// back an IP the other writer retired meanwhile are dropped as stale (the next pass looks
/// again).
///
/// The same save takes the route's apply lease ([`APPLY_LEASE`]) and a second save after the
/// apply returns it, so plans are applied in the order they were stored: a reconcile that
/// finds the lease held waits for it before it reads the targets (otherwise it could plan
/// from targets the first apply is still changing, and the two applies could land in the
/// wrong order, e.g. the first one's late deregistration of the IP the second one kept).
/// Cost: one more conditional write per reconcile that changes targets; none otherwise.
pub async fn reconcile(
    ctx: &Context,
    route: Route,
    lookups: &[Lookup],
    dry_run: bool,
) -> Result<Outcome, ReconcileError> {
    reconcile_with(ctx, route, lookups, &Seen::default(), dry_run).await
}

/// What a flow knows beside the lookups, for the planner: the window rule of an observation
/// ([`crate::reconcile::observe::Observation`]; `None`: the route's own, [`retention_for`]),
/// what every route's database answers now ([`Claims`], planner rule 10; `None`: unknown) and
/// the retained IPs no RDS network interface holds (rule 11; empty: not checked).
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen<'a> {
    /// The window rule of the observation.
    pub retention: Option<Retention>,
    /// What every route's database answers now.
    pub claims: Option<&'a Claims>,
    /// Retained IPs no RDS network interface holds.
    pub not_live: Option<&'a BTreeSet<IpAddr>>,
    /// The RDS API confirms an NXDOMAIN: the database does not exist.
    pub gone_confirmed: bool,
    /// Time of the RDS event being handled, for the route's arrivals (event → registered).
    pub event_at: Option<DateTime<Utc>>,
    /// Whether the name answers a subset of its records per query, when the observation says
    /// ([`crate::reconcile::observe::Observation::answers_sampled`]): stored on the route.
    pub answers_sampled: Option<bool>,
}

/// [`reconcile`] with what the flow saw ([`Seen`]).
pub async fn reconcile_with(
    ctx: &Context,
    mut route: Route,
    lookups: &[Lookup],
    seen: &Seen<'_>,
    dry_run: bool,
) -> Result<Outcome, ReconcileError> {
    let (retention, claims) = (seen.retention, seen.claims);
    let none = BTreeSet::new();
    let not_live = seen.not_live.unwrap_or(&none);
    let mut lookups = lookups.to_vec();
    let (mut attempt, mut waits) = (0, 0);
    loop {
        let router = ctx
            .fleet
            .get(&route.router)
            .ok_or_else(|| ReconcileError::UnknownRouter {
                route: route.id().to_string(),
                router: route.router.clone(),
            })?;
        let Some(tg) = route.target_group_arn.clone() else {
            // Not provisioned yet: the API retry or the audit creates the target group first.
            return Ok(Outcome {
                route_id: route.id().to_string(),
                plan: Plan::default(),
                applied: false,
                route,
                observed: vec![],
                conflicts: vec![],
            });
        };
        if !dry_run && lease_held(&route) {
            waits += 1;
            if waits > 3 {
                return Err(StoreError::Conflict(route.id().to_string()).into());
            }
            let fresh = wait_for_apply(ctx, &route).await?;
            follow(&mut lookups, &route, &fresh);
            route = fresh;
            continue;
        }
        let observed = ctx.elb.describe_targets(&tg).await?;
        // Draining targets take no new connections: not registered, for planning (rule 6).
        let current: Vec<_> = observed
            .iter()
            .filter(|h| !h.is_draining())
            .map(|h| h.target.clone())
            .collect();
        let p = plan(&PlanInput {
            intent: intent_for(route.status),
            lookups: &lookups,
            sightings: &route.sightings,
            current: &current,
            port: route.spec.port,
            policy: &router.policy,
            retention: retention.unwrap_or_else(|| retention_for(&route, &ctx.config)),
            now: Utc::now().timestamp(),
            name_gone_since: route.name_gone_since.map(|t| t.timestamp()),
            gone_after_secs: ctx.config.gone_after_secs,
            gone_confirmed: seen.gone_confirmed,
            route_id: route.id().as_str(),
            claims,
            ceded: &route.ceded,
            not_live,
        });
        if dry_run {
            log_plan(&route, &p, dry_run);
            return Ok(Outcome {
                route_id: route.id().to_string(),
                plan: p,
                applied: false,
                route,
                observed,
                conflicts: vec![],
            });
        }
        let after = current.len() + p.register.len() - p.deregister.len();
        let mut next = route.clone();
        let now = Utc::now();
        let served = stamp_serving(&mut next.arrivals, &observed, now);
        note_registering(&mut next.arrivals, &observed, now);
        record_arrivals(
            &mut next.arrivals,
            &p.register
                .iter()
                .map(|c| c.target.clone())
                .collect::<Vec<_>>(),
            seen.event_at,
            now,
        );
        let mut flags_changed = next.arrivals != route.arrivals;
        if let Some(sampled) = seen.answers_sampled {
            flags_changed |= next.answers_sampled != sampled;
            next.answers_sampled = sampled;
        }
        if !remember(&mut next, &lookups, &p, after) && p.is_noop() && !flags_changed {
            log_plan(&route, &p, dry_run);
            return Ok(Outcome {
                route_id: route.id().to_string(),
                plan: p,
                applied: true,
                route,
                observed,
                conflicts: vec![],
            });
        }
        // The conditional write comes first: it proves `route` is still the latest version,
        // so the plan may be applied (a plan that only changes targets is stored too, as that
        // proof).
        // A plan supersedes an earlier quota refusal; its own apply sets it again if need be.
        next.target_quota_full = None;
        next.version += 1;
        next.updated_at = Utc::now();
        let leased = !p.is_noop();
        next.applying_until = leased.then(|| next.updated_at + APPLY_LEASE);
        match ctx.store.save(&next).await {
            Ok(()) => {
                log_plan(&next, &p, dry_run);
                report_arrivals(ctx, &next, &served);
                // Unpaced: the audit's rate budget must not stretch the lease.
                let elb = ctx.elb.unpaced();
                let applied = match tokio::time::timeout(APPLY_DEADLINE, apply(&elb, &tg, &p)).await {
                    Ok(applied) => applied,
                    Err(_) => Err(ElbError::invalid(
                        "RegisterTargets/DeregisterTargets",
                        format!("the apply took longer than {} s (its lease); the next DNS watch retries", APPLY_DEADLINE.as_secs()),
                    )),
                };
                let quota_full = applied
                    .as_ref()
                    .err()
                    .filter(|e| e.code.as_deref() == Some(TOO_MANY_TARGETS))
                    .map(|_| {
                        // Apply still removes the targets that must leave (not the stale ones).
                        let leaving = p
                            .deregister
                            .iter()
                            .filter(|c| c.reason != Reason::Stale)
                            .count();
                        quota_full_line(
                            &route.router,
                            ctx.config.targets_per_nlb,
                            p.register.len(),
                            current.len().saturating_sub(leaving),
                            quota_full_since(route.target_quota_full.as_deref()),
                        )
                    });
                if let Some(line) = &quota_full {
                    error!(route_id = %route.id(), router = %route.router, "{line}");
                }
                let refusal = quota_full.clone().map(|line| QuotaRefusal {
                    line,
                    targets: p.register.iter().map(|c| c.target.clone()).collect(),
                    recorded_at: now,
                });
                let done = if leased || applied.is_err() {
                    return_lease(ctx, next, applied.is_err(), refusal).await
                } else {
                    next
                };
                if let Some(line) = quota_full {
                    return Err(ElbError {
                        operation: "RegisterTargets",
                        code: Some(TOO_MANY_TARGETS.into()),
                        message: line,
                    }
                    .into());
                }
                applied?;
                return Ok(Outcome {
                    route_id: done.id().to_string(),
                    plan: p,
                    applied: true,
                    route: done,
                    observed,
                    conflicts: vec![],
                });
            }
            Err(StoreError::Conflict(_)) if attempt < 2 => {
                attempt += 1;
                let fresh = ctx
                    .store
                    .get(route.id())
                    .await?
                    .ok_or_else(|| StoreError::NotFound(route.id().to_string()))?;
                follow(&mut lookups, &route, &fresh);
                route = fresh;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Another writer stored `fresh` after `route`: lookups that would bring back an IP it retired
/// meanwhile are dropped as stale (the next pass looks again).
fn follow(lookups: &mut Vec<Lookup>, route: &Route, fresh: &Route) {
    let retired: Vec<IpAddr> = route
        .sightings
        .ips()
        .difference(&fresh.sightings.ips())
        .copied()
        .collect();
    lookups.retain(|l| match l {
        Lookup::Answer(ips) => !ips.iter().any(|ip| retired.contains(ip)),
        Lookup::Failed(_) => true,
    });
}

/// The NLB refused a plan's registrations for its target quota: the route's line, and the
/// targets whose arrivals (recorded at `recorded_at`) are taken back.
struct QuotaRefusal {
    line: String,
    targets: Vec<crate::domain::plan::Target>,
    recorded_at: DateTime<Utc>,
}

/// Returns the apply lease taken by the save of `stored` (clears [`Route::applying_until`] if
/// it is still that lease: writers in between, e.g. an event's mark, keep the field); when the
/// apply failed, also flags the route [`Route::unapplied`]: it remembers an answer its targets
/// do not show, so the next DNS watch retries. Best effort: a lease not returned expires by
/// itself, and the full audit repairs the rest. Returns the route as last stored.
async fn return_lease(
    ctx: &Context,
    stored: Route,
    failed: bool,
    quota_full: Option<QuotaRefusal>,
) -> Route {
    let lease = stored.applying_until;
    let mut route = stored;
    for _ in 0..3 {
        if route.applying_until != lease {
            return route;
        }
        let mut next = route.clone();
        next.applying_until = None;
        next.unapplied |= failed;
        if let Some(refusal) = &quota_full {
            next.target_quota_full = Some(refusal.line.clone());
            forget_arrivals(&mut next.arrivals, &refusal.targets, refusal.recorded_at);
        }
        next.version += 1;
        next.updated_at = Utc::now();
        match ctx.store.save(&next).await {
            Ok(()) => return next,
            Err(StoreError::Conflict(_)) => match ctx.store.get(route.id()).await {
                Ok(Some(fresh)) => route = fresh,
                _ => return route,
            },
            Err(e) => {
                warn!(route_id = %route.id(), error = %e, "apply lease not returned; it expires by itself");
                return route;
            }
        }
    }
    warn!(route_id = %route.id(), "apply lease not returned after three tries; it expires by itself");
    route
}

/// True while another reconcile holds the route's apply lease. A lease further ahead than a
/// lease can be (clock skew, a hand edit) counts as expired, so nothing waits longer than one
/// lease.
fn lease_held(route: &Route) -> bool {
    let now = Utc::now();
    route
        .applying_until
        .is_some_and(|until| until > now && until <= now + APPLY_LEASE)
}

/// Waits until the route's apply lease is returned or expires (polling the route, 50 ms
/// doubling to 1 s) and returns the route as stored then.
async fn wait_for_apply(ctx: &Context, route: &Route) -> Result<Route, ReconcileError> {
    let mut pause = std::time::Duration::from_millis(50);
    loop {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(1));
        let fresh = ctx
            .store
            .get(route.id())
            .await?
            .ok_or_else(|| StoreError::NotFound(route.id().to_string()))?;
        if !lease_held(&fresh) {
            info!(route_id = %route.id(), version = fresh.version, "apply lease returned; planning from the targets as they are now");
            return Ok(fresh);
        }
    }
}

/// One log line and one EMF record per target that just served after a registration by the
/// router: `RegisteredToServingMs` always, `EventToServingMs` when an RDS event moved it
/// (beside the event's `EventToRegisteredMs` in the arrival).
fn report_arrivals(ctx: &Context, route: &Route, served: &[Arrival]) {
    use crate::adapters::aws::metrics::{self, millis};
    for a in served {
        let Some(serving_at) = a.serving_at else {
            continue;
        };
        let registered_to_serving = (serving_at - a.registered_at).num_milliseconds().max(0);
        info!(route_id = %route.id(), target = %a.target, event_to_registered_ms = a.event_to_registered_ms, to_serving_ms = a.to_serving_ms, registered_to_serving_ms = registered_to_serving, "target serving");
        let mut values = vec![millis(
            "RegisteredToServingMs",
            registered_to_serving as u64,
        )];
        if let (Some(_), Some(ms)) = (a.event_at, a.to_serving_ms) {
            values.push(millis("EventToServingMs", ms.max(0) as u64));
        }
        // No dimension: whichever function reconciled, it is one route's data-plane time.
        metrics::emit(&ctx.config.metrics_namespace, &values, &[]);
    }
}

/// One log line per decision: route id, action, reason, counts.
fn log_plan(route: &Route, p: &Plan, dry_run: bool) {
    for c in &p.register {
        info!(route_id = %route.id(), action = "register", ip = %c.target.ip, port = c.target.port, az = c.target.availability_zone.as_deref(), reason = %tag(&c.reason), dry_run, "target change");
    }
    for c in &p.deregister {
        info!(route_id = %route.id(), action = "deregister", ip = %c.target.ip, port = c.target.port, reason = %tag(&c.reason), dry_run, "target change");
    }
    for n in &p.notes {
        let (route_id, note) = (route.id().as_str(), tag(n));
        match n {
            Note::LookupFailed { failure } => {
                info!(route_id, note, failure = %tag(failure), "reconcile note");
            }
            Note::Refused { ip, why } => {
                info!(route_id, note, %ip, why = %tag(why), "reconcile note");
            }
            Note::KeptLastTargets { count } => info!(route_id, note, count, "reconcile note"),
            Note::KeptInWindow { ip, misses } => {
                info!(route_id, note, %ip, misses, "reconcile note");
            }
            Note::IpReused { ip, routes } => {
                warn!(route_id, note, %ip, other_routes = %routes.join(","), "another route's database answers this IP now: removed from this route");
            }
            Note::NotLive { ip } => {
                warn!(route_id, note, %ip, "no RDS network interface holds this retained reader IP: removed");
            }
            Note::NameGone { since } => {
                warn!(route_id, note, since, host = %route.spec.host, "the route's name stays NXDOMAIN: every target removed, the route is source_gone until it resolves again");
            }
        }
    }
}
