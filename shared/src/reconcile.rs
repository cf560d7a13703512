//! One route's reconcile loop: read targets, plan, apply, remember — retried on a lost race.

use std::net::IpAddr;

use chrono::Utc;
use serde::Serialize;
use tracing::info;

use crate::apply::apply;
use crate::config::Config;
use crate::context::Context;
use crate::elb::{ElbError, TargetHealth, Targets};
use crate::health::refused_in;
use crate::host::answers_one_member;
use crate::plan::{plan, Intent, Lookup, Plan, PlanInput};
use crate::route::{Resolution, Route, RouteStatus, RESOLUTIONS_KEPT};
use crate::store::{RouteStore, StoreError};
use crate::window::{Retention, RDS_RECORD_TTL_SECS};

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

/// How long a route keeps an IP its name stopped answering: reader and custom endpoints answer
/// one member per query, so they keep IPs for the reader retention time as well as K lookups
/// ([`crate::window`]); every other name (instance, writer, proxy, other) follows K lookups.
pub fn retention_for(route: &Route, config: &Config) -> Retention {
    if answers_one_member(route.spec.host.as_str()) {
        Retention::Time {
            lookups: config.window,
            absent_secs: config.reader_retention_secs,
            ttl_secs: RDS_RECORD_TTL_SECS,
        }
    } else {
        Retention::Lookups(config.window)
    }
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

/// Reconciles one route against fresh lookups; stores the route only when something changed.
///
/// Concurrency (an RDS event, a sync and the audit may reconcile one route at once): a plan that
/// changes targets is applied only after the route it was planned from has been stored with a
/// version condition, so targets never move on a plan made from an outdated route (which could
/// deregister the IP another writer just registered, or register a deleted database's IP). A
/// lost race re-reads the route and plans again, up to three times; lookups that would bring
/// back an IP the other writer retired meanwhile are dropped as stale (the next pass looks
/// again).
pub async fn reconcile(
    ctx: &Context,
    route: Route,
    lookups: &[Lookup],
    dry_run: bool,
) -> Result<Outcome, ReconcileError> {
    reconcile_with(ctx, route, lookups, None, dry_run).await
}

/// [`reconcile`] with the window rule of an observation ([`crate::observe::Observation`]):
/// `None` uses the route's own ([`retention_for`]).
pub async fn reconcile_with(
    ctx: &Context,
    mut route: Route,
    lookups: &[Lookup],
    retention: Option<Retention>,
    dry_run: bool,
) -> Result<Outcome, ReconcileError> {
    let mut lookups = lookups.to_vec();
    for attempt in 0..3 {
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
        if !remember(&mut next, &lookups, &p, after) && p.is_noop() {
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
        next.version += 1;
        next.updated_at = Utc::now();
        match ctx.store.save(&next).await {
            Ok(()) => {
                log_plan(&next, &p, dry_run);
                if let Err(e) = apply(&ctx.elb, &tg, &p).await {
                    // The route remembers an answer its targets do not show: flag it so the
                    // next DNS watch retries (best effort; the full audit repairs it anyway).
                    let mut flagged = next.clone();
                    flagged.unapplied = true;
                    flagged.version += 1;
                    flagged.updated_at = Utc::now();
                    let _ = ctx.store.save(&flagged).await;
                    return Err(e.into());
                }
                return Ok(Outcome {
                    route_id: next.id().to_string(),
                    plan: p,
                    applied: true,
                    route: next,
                    observed,
                    conflicts: vec![],
                });
            }
            Err(StoreError::Conflict(_)) if attempt < 2 => {
                let fresh = ctx
                    .store
                    .get(route.id())
                    .await?
                    .ok_or_else(|| StoreError::NotFound(route.id().to_string()))?;
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
                route = fresh;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict(route.id().to_string()).into())
}

/// One log line per decision: route id, action, reason, counts.
fn log_plan(route: &Route, p: &Plan, dry_run: bool) {
    for c in &p.register {
        info!(route_id = %route.id(), action = "register", ip = %c.target.ip, port = c.target.port, az = ?c.target.availability_zone, reason = ?c.reason, dry_run, "target change");
    }
    for c in &p.deregister {
        info!(route_id = %route.id(), action = "deregister", ip = %c.target.ip, port = c.target.port, reason = ?c.reason, dry_run, "target change");
    }
    for n in &p.notes {
        info!(route_id = %route.id(), note = ?n, "reconcile note");
    }
}
