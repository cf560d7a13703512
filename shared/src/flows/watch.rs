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

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::{info, warn};

use crate::adapters::aws::metrics::{self, count, millis};
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::context::Context;
use crate::domain::health::refused_in;
use crate::domain::host::answers_one_member;
use crate::domain::net::AddressPolicy;
use crate::domain::plan::Lookup;
use crate::domain::route::{Route, RouteStatus};
use crate::flows::audit::{AuditError, DnsFailure, RouteFailure};
use crate::reconcile::observe::observe;
use crate::reconcile::reconcile_with;

/// What one watch run saw and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchReport {
    /// Always `watch` (the full audit's report has no `mode`).
    pub mode: &'static str,
    /// Nothing was changed.
    pub dry_run: bool,
    /// Items in the route index.
    pub routes_seen: usize,
    /// Routes observed (`active` and `pending`; the others are the full audit's).
    pub routes_watched: usize,
    /// Routes whose answer moved and were reconciled, in id order.
    pub routes_reconciled: Vec<String>,
    /// Targets registered and deregistered.
    pub repaired: BTreeMap<String, u64>,
    /// Failed lookups (targets left as they were).
    pub dns_failures: Vec<DnsFailure>,
    /// Routes the run could not handle.
    pub errors: Vec<RouteFailure>,
    /// Wall time.
    pub duration_ms: u64,
    /// AWS calls made, by operation.
    pub aws_calls: BTreeMap<String, u64>,
    /// Attempts AWS throttled (the SDK retried them or gave up).
    pub aws_throttles: u64,
}

/// One route's watch: its id, what its reconcile did (`None`: the answer did not move;
/// `Some((registered, deregistered))`), and its failed lookup.
type RouteWatch = (
    String,
    Result<Option<(usize, usize)>, String>,
    Option<DnsFailure>,
);

/// True when an observation asks for a reconcile: the allowed answer differs from the newest
/// one the route remembers, an IP of its window has not been answered lately (the window
/// still has to retire it), or DNS starts or stops answering a refused address. A failed
/// lookup never does: it changes no target.
///
/// Aurora reader and custom endpoints answer one member per query: for them only an address
/// outside the window counts as moved (their absent members retire by time, in the full audit).
/// Every other name must answer exactly what it answered last, with nothing left to retire.
/// A route whose last plan was stored but not applied ([`Route::unapplied`]) always moves.
pub fn moved(route: &Route, lookup: &Lookup, policy: &AddressPolicy) -> bool {
    let Lookup::Answer(ips) = lookup else {
        return false;
    };
    let (allowed, refused): (BTreeSet<IpAddr>, BTreeSet<IpAddr>) =
        ips.iter().partition(|ip| policy.classify(**ip).is_ok());
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
                if matches!(r.status, RouteStatus::Active | RouteStatus::Pending) =>
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
    let results: Vec<RouteWatch> = stream::iter(routes)
        .take_while(|_| futures::future::ready(Instant::now() < stop))
        .map(|route| async move {
            let seen = observe(ctx, route).await;
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
            if !moved(route, &seen.lookup, &router.policy) {
                return (route.id().to_string(), Ok(None), failure);
            }
            let outcome = reconcile_with(
                ctx,
                route.clone(),
                &[seen.lookup],
                Some(seen.retention),
                dry_run,
            )
            .await
            .map(|o| {
                if !refused_in(&o.plan.notes).is_empty() {
                    info!(route_id = %route.id(), "DNS answers refused addresses");
                }
                Some((o.plan.register.len(), o.plan.deregister.len()))
            })
            .map_err(|e| e.to_string());
            (route.id().to_string(), outcome, failure)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for (route_id, outcome, failure) in results {
        report.dns_failures.extend(failure);
        match outcome {
            Ok(None) => {}
            Ok(Some((registered, deregistered))) => {
                report.routes_reconciled.push(route_id);
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
        .filter(|f| f.status != RouteStatus::Pending)
        .count();
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
