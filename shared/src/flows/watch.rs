//! The minute DNS watch: the cheap half of the scheduled work (issue #16). Every route is
//! observed (DNS, or its members from the RDS API), compared with what the route remembers,
//! and only the routes whose answer moved — or whose window still has an IP to retire, or whose
//! refused addresses changed — are reconciled. A route whose answer did not move costs no ELBv2
//! call and no write. Targets, listeners, target groups, attributes, orphans and health are the
//! full audit's job ([`crate::flows::audit`]), on its own slower schedule; RDS events stay the fast
//! path for failovers.
//!
//! Cost of a run where nothing moved: the route Query pages and one lookup per route (RDS
//! member reads for reader and custom endpoints when the API is on); no ELBv2 call, no write.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::adapters::aws::metrics::{self, count, millis};
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::context::Context;
use crate::domain::claims::{taken, Claims};
use crate::domain::health::refused_in;
use crate::domain::host::answers_one_member;
use crate::domain::net::AddressPolicy;
use crate::domain::plan::{Lookup, LookupFailure};
use crate::domain::route::{Route, RouteStatus};
use crate::flows::audit::{ip_reused_in, AuditError, DnsFailure, IpReused, RouteFailure};
use crate::reconcile::observe::{claim_of, observe, Observation};
use crate::reconcile::{reconcile_with, Seen};

/// How long after a registration the minute watch keeps reading a route's targets until the
/// new target serves (seconds): past it, the full audit takes over. One DescribeTargetHealth
/// per such route and minute, only after a target moved.
pub const ARRIVAL_WATCH_SECS: i64 = 900;

/// True when the router registered a target on the route after an RDS event less than
/// [`ARRIVAL_WATCH_SECS`] ago that has not been seen serving: the watch reconciles it, so
/// its first `healthy` is stamped within a minute (the route's event → serving time).
/// Targets registered otherwise (creation, a sync, the audit) are stamped by the next audit.
fn awaiting_serving(route: &Route, now: DateTime<Utc>) -> bool {
    route.arrivals.iter().any(|a| {
        a.is_open()
            && a.event_at.is_some()
            && (now - a.registered_at).num_seconds() < ARRIVAL_WATCH_SECS
    })
}

/// What one watch run saw and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchReport {
    /// Always `watch` (the full audit's report has no `mode`).
    pub mode: &'static str,
    /// Nothing was changed.
    pub dry_run: bool,
    /// Items in the route index.
    pub routes_seen: usize,
    /// Routes observed (`active`, `pending` and `source_gone`; the others are the full audit's).
    pub routes_watched: usize,
    /// Routes whose answer moved and were reconciled, in id order.
    pub routes_reconciled: Vec<String>,
    /// Targets registered and deregistered.
    pub repaired: BTreeMap<String, u64>,
    /// Failed lookups (targets left as they were).
    pub dns_failures: Vec<DnsFailure>,
    /// IPs removed from a route because another route's database answers them now.
    pub ip_reused: Vec<IpReused>,
    /// Routes the run could not handle.
    pub errors: Vec<RouteFailure>,
    /// Wall time.
    pub duration_ms: u64,
    /// AWS calls made, by operation.
    pub aws_calls: BTreeMap<String, u64>,
    /// Attempts AWS throttled (the SDK retried them or gave up).
    pub aws_throttles: u64,
}

/// What the reconcile of a moved route did.
struct Moved {
    registered: usize,
    deregistered: usize,
    ip_reused: Vec<IpReused>,
}

/// One route's watch: its id, what its reconcile did (`None`: the answer did not move), and
/// its failed lookup.
type RouteWatch = (String, Result<Option<Moved>, String>, Option<DnsFailure>);

/// True when an observation asks for a reconcile: the allowed answer differs from the newest
/// one the route remembers, an IP of its window has not been answered lately (the window
/// still has to retire it), or DNS starts or stops answering a refused address. A failed
/// lookup never does: it changes no target.
///
/// Aurora reader and custom endpoints answer one member per query: for them only an address
/// outside the window counts as moved (their absent members retire by time, in the full audit).
/// Every other name must answer exactly what it answered last, with nothing left to retire.
/// A route whose last plan was stored but not applied ([`Route::unapplied`]) always moves.
///
/// An IP of the route's window that another route's database answers now (`taken`, planner
/// rule 10) always moves; an answer is compared without the taken IPs (they are never
/// registered here).
///
/// NXDOMAIN is followed as a name that may be gone ([`crate::domain::plan`], rule 1): the first
/// one of a streak is reconciled (to remember when it began: one write), and so is the first
/// one past `gone_after_secs` for an `active` route (the targets go); those in between, and
/// those of `pending` routes waiting for their database, cost nothing. An answer after
/// NXDOMAIN, or for a `source_gone` route, always moves.
pub fn moved(
    route: &Route,
    lookup: &Lookup,
    policy: &AddressPolicy,
    taken: &BTreeSet<IpAddr>,
    gone_after_secs: i64,
    now: DateTime<Utc>,
) -> bool {
    if route.sightings.ips().iter().any(|ip| taken.contains(ip)) {
        return true;
    }
    let ips = match lookup {
        Lookup::Answer(ips) => ips,
        Lookup::Failed(LookupFailure::NxDomain) => {
            return match route.name_gone_since {
                None => true,
                Some(since) => {
                    route.status == RouteStatus::Active
                        && (now - since).num_seconds() >= gone_after_secs
                }
            };
        }
        Lookup::Failed(_) => return false,
    };
    if route.name_gone_since.is_some() || route.status == RouteStatus::SourceGone {
        return true;
    }
    let (allowed, refused): (BTreeSet<IpAddr>, BTreeSet<IpAddr>) = ips
        .iter()
        .filter(|ip| !taken.contains(ip))
        .partition(|ip| policy.classify(**ip).is_ok());
    let remembered_refused: BTreeSet<IpAddr> = route.refused.iter().map(|r| r.ip).collect();
    let answer_moved = if answers_one_member(route.spec.host.as_str()) {
        !allowed.is_subset(&route.sightings.ips())
    } else {
        allowed != route.sightings.newest() || route.sightings.iter().any(|(_, misses)| misses > 0)
    };
    route.unapplied
        || route.status == RouteStatus::Pending
        || answer_moved
        || refused != remembered_refused
}

/// Runs one watch over every route (see the module documentation).
pub async fn watch(
    ctx: &Context,
    dry_run: bool,
    deadline: Option<Instant>,
) -> Result<WatchReport, AuditError> {
    // No lease: a watch writes nothing when nothing moved, and two overlapping watches can only
    // race on version-checked reconciles of a moved route.
    watch_leased(ctx, dry_run, deadline).await
}

async fn watch_leased(
    ctx: &Context,
    dry_run: bool,
    deadline: Option<Instant>,
) -> Result<WatchReport, AuditError> {
    let started = Instant::now();
    let calls_before = ctx.clients.calls.snapshot();
    let usage_before = ctx.clients.calls.usage();
    let dry_run = dry_run || ctx.config.dry_run;
    let items = ctx.store.route_items().await?;
    let routes: Vec<&Route> = items
        .iter()
        .filter_map(|it| match it {
            RouteItem::Route(r)
                if matches!(
                    r.status,
                    RouteStatus::Active | RouteStatus::Pending | RouteStatus::SourceGone
                ) =>
            {
                Some(&**r)
            }
            _ => None,
        })
        .collect();
    let mut report = WatchReport {
        mode: "watch",
        dry_run,
        routes_seen: items.len(),
        routes_watched: routes.len(),
        ..WatchReport::default()
    };
    // A watch runs every minute: it stops starting routes after 50 s (or the budget, or the
    // Lambda's deadline); the routes it did not reach are counted in the report.
    let mut stop = started
        + ctx
            .config
            .audit_budget
            .min(std::time::Duration::from_secs(50));
    if let Some(deadline) = deadline {
        stop = stop.min(deadline);
    }
    let concurrency = (ctx.config.audit_concurrency * 4).max(1);
    // First every route is observed, so what each database answers now is known before any
    // route is planned: an IP another route's database took leaves in this same run.
    let observed: Vec<(&Route, Observation, BTreeSet<IpAddr>)> = stream::iter(routes)
        .take_while(|_| futures::future::ready(Instant::now() < stop))
        .map(|route| async move {
            let seen = observe(ctx, route).await;
            let claim = claim_of(route, &seen);
            (route, seen, claim)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut claims = Claims::default();
    for (route, _, claim) in &observed {
        claims.add(route.id().as_str(), claim.iter().copied());
    }
    let claims = &claims;
    let results: Vec<RouteWatch> = stream::iter(observed)
        .map(|(route, seen, claim)| async move {
            let failure = match &seen.lookup {
                Lookup::Failed(f) => Some(DnsFailure {
                    route_id: route.id().to_string(),
                    host: route.spec.host.to_string(),
                    failure: *f,
                    status: route.status,
                }),
                Lookup::Answer(_) => None,
            };
            let Some(router) = ctx.fleet.get(&route.router) else {
                return (
                    route.id().to_string(),
                    Err(format!("router {} is not configured", route.router)),
                    failure,
                );
            };
            let mut leaving: BTreeSet<IpAddr> = taken(
                claims,
                route.id().as_str(),
                route
                    .sightings
                    .ips()
                    .into_iter()
                    .chain(route.ceded.keys().copied()),
                &claim,
                &route.ceded.keys().copied().collect(),
            )
            .into_keys()
            .collect();
            leaving.extend(seen.not_live.iter().copied());
            let now = Utc::now();
            let confirmed = seen.gone_confirmed && route.status == RouteStatus::Active;
            if !confirmed
                && !awaiting_serving(route, now)
                && !moved(
                    route,
                    &seen.lookup,
                    &router.policy,
                    &leaving,
                    ctx.config.gone_after_secs,
                    now,
                )
            {
                return (route.id().to_string(), Ok(None), failure);
            }
            let with = Seen {
                retention: Some(seen.retention),
                claims: Some(claims),
                not_live: Some(&seen.not_live),
                gone_confirmed: seen.gone_confirmed,
                event_at: None,
                answers_sampled: seen.answers_sampled,
            };
            let outcome = reconcile_with(
                ctx,
                route.clone(),
                std::slice::from_ref(&seen.lookup),
                &with,
                dry_run,
            )
            .await
            .map(|o| {
                if !refused_in(&o.plan.notes).is_empty() {
                    info!(route_id = %route.id(), "DNS answers refused addresses");
                }
                Some(Moved {
                    registered: o.plan.register.len(),
                    deregistered: o.plan.deregister.len(),
                    ip_reused: ip_reused_in(route.id().as_str(), &o.plan.notes),
                })
            })
            .or_else(|e| match e.target_quota_full() {
                // The NLB's target quota: the route stored why and stays unapplied, so the
                // next minute tries again; the audit reports it (not a run error each minute).
                Some(line) => {
                    warn!(route_id = %route.id(), "{line}");
                    Ok(None)
                }
                None => Err(e.to_string()),
            });
            (route.id().to_string(), outcome, failure)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (route_id, outcome, failure) in results {
        report.dns_failures.extend(failure);
        match outcome {
            Ok(None) => {}
            Ok(Some(Moved {
                registered,
                deregistered,
                ip_reused,
            })) => {
                report.routes_reconciled.push(route_id);
                report.ip_reused.extend(ip_reused);
                *report
                    .repaired
                    .entry("targets_registered".into())
                    .or_default() += registered as u64;
                *report
                    .repaired
                    .entry("targets_deregistered".into())
                    .or_default() += deregistered as u64;
            }
            Err(error) => {
                warn!(route_id = %route_id, error = %error, "watch of route failed");
                report.errors.push(RouteFailure { route_id, error });
            }
        }
    }
    report.repaired.retain(|_, v| *v > 0);
    report.routes_reconciled.sort();
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.aws_calls = ctx.clients.calls.since(&calls_before);
    report.aws_throttles = ctx.clients.calls.usage().since(usage_before).throttles;
    let counted_failures = report
        .dns_failures
        .iter()
        .filter(|f| !matches!(f.status, RouteStatus::Pending | RouteStatus::SourceGone))
        .count();
    report
        .ip_reused
        .sort_by(|a, b| (&a.route_id, a.ip).cmp(&(&b.route_id, b.ip)));
    info!(
        routes_watched = report.routes_watched,
        routes_reconciled = report.routes_reconciled.len(),
        dns_failures = counted_failures,
        errors = report.errors.len(),
        duration_ms = report.duration_ms,
        "dns watch done"
    );
    // The alarm contract of the audit (`DnsFailures`, `Errors`) holds every minute. Target
    // changes that follow a DNS move are `RoutesMoved`, not `Repairs` (drift put right): a
    // failover the watch catches first must not page.
    metrics::emit(
        &ctx.config.metrics_namespace,
        &[
            count("RoutesWatched", report.routes_watched as u64),
            count("RoutesMoved", report.routes_reconciled.len() as u64),
            count("IpReused", report.ip_reused.len() as u64),
            count("DnsFailures", counted_failures as u64),
            count("Errors", report.errors.len() as u64),
            millis("WatchDurationMs", report.duration_ms),
            count("AwsCalls", report.aws_calls.values().sum()),
            count("AwsThrottles", report.aws_throttles),
        ],
        &[("Function", "dns-audit")],
    );
    Ok(report)
}
