//! The scheduled audit: the backstop that keeps every route right even when events are lost or
//! someone edits the NLB by hand. One run, in order:
//!
//! 1. turns Terraform's seeds into routes ([`seeds::provision_seeds`], one Query when there
//!    are none), then reads its own state (one Query: the resume cursor and orphan first-seen records), the
//!    ELBv2 [`Snapshot`] (DescribeTargetGroups pages, one DescribeListeners per router) and every
//!    route (Query pages of the route index);
//! 2. audits the routes in id order starting after the cursor (wrapping around), at most
//!    `audit_concurrency` at a time, until the time budget is spent:
//!    - `provisioning` (stuck for [`STUCK_AFTER`]) → [`service::finish`];
//!    - `deleting` (stuck for [`STUCK_AFTER`]) → [`service::teardown`];
//!    - otherwise structural drift ([`ensure_resources_with`]: target group, health check,
//!      attributes, listener on the **same** port) and one fresh DNS lookup → [`reconcile`](crate::reconcile::reconcile)
//!      (DNS drift and stranger targets; a failed lookup changes nothing);
//! 3. reports unhealthy targets (never removes them: health is AWS's call);
//! 4. finds orphans — target groups and listeners carrying our managed-by tag and one of the
//!    fleet's router ids whose route does not exist — records when each was first seen, and
//!    deletes those older than `orphan_grace`; nothing without our tags is ever touched;
//! 5. stores the cursor when the budget stopped it early (the next run resumes after the last
//!    route audited, so no route starves), logs one summary line and prints EMF counters.
//!
//! Cost of a run with no drift: the Query for seeds, the Query for the audit state, the route
//! Query pages, DescribeTargetGroups pages, one DescribeListeners per router, and per target
//! group one DescribeTargetHealth and one DescribeTargetGroupAttributes (ELBv2 has no batch
//! read of attributes): about 2 ELBv2 calls per route, paced by the run's rate budget
//! ([`crate::adapters::aws::rate_budget`]) and resumed across runs by the cursor. No write but the run lease:
//! the cursor is written only when it changes, routes only when something changed.
//!
//! Its own items in the route table (cursors, orphan records, the lease) are in the layout of
//! [`crate::adapters::aws::store`].

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde_json::Value;
use tracing::{info, warn};

use crate::adapters::aws::elb::{ElbError, Targets};
use crate::adapters::aws::rate_budget::RateBudget;
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::adapters::aws::store::lease::{Lease, Taken};
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::claims::Claims;
use crate::domain::health::{refused_in, summarize, RouteHealth};
use crate::domain::plan::Lookup;
use crate::domain::route::{Route, RouteStatus};
use crate::flows::diagnose::{diagnose_route, fails_health_checks, Facts};
use crate::flows::seeds::{self};
use crate::flows::service;
use crate::reconcile::observe::{observe, stored_claims};
use crate::reconcile::provision::{ensure_deployment_tag, ensure_resources_with, Snapshot};
use crate::reconcile::{reconcile_with, Seen};

mod accounts;
mod orphans;
mod report;

pub use orphans::orphan_of;
pub use report::{
    ip_reused_in, report_rows, AddressRefused, AuditReport, DnsFailure, IpReused, Orphan,
    OrphanReport, PolicyViolation, RouteConflict, RouteFailure, RouteFinding, RouteNotServing,
    TargetNotServing,
};

use orphans::{find_orphans, settle_orphans, Known};
use report::{publish, report_health};

/// A route left in `provisioning` or `deleting` this long is stuck: its API call died, so the
/// audit finishes it. Younger ones are left to the call still working on them (the API's
/// Lambda timeout is 29 s).
pub const STUCK_AFTER: Duration = Duration::from_secs(120);

/// An audit run could not start or read what it audits; nothing was changed. Per-route
/// failures are not errors of the run: they are listed in [`AuditReport::errors`].
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The invocation payload is not a scheduled event or `{"dry_run": bool}`.
    #[error("audit request is malformed: {0}")]
    BadRequest(String),
    /// ELBv2 could not be read.
    #[error(transparent)]
    Elb(#[from] ElbError),
    /// The route table could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which job a run does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The full drift audit: targets, listeners, target groups, attributes, orphans, health.
    #[default]
    Full,
    /// The minute DNS watch ([`crate::flows::watch`]): resolve every route, reconcile only those
    /// whose answer moved; no ELBv2 call for the others.
    Watch,
}

/// Told after each route of a full audit: (routes audited so far, routes the run will look at
/// if its budget allows). The CLI draws its progress bar with it.
#[derive(Clone)]
pub struct Progress(pub Arc<dyn Fn(usize, usize) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// What to audit and how.
#[derive(Debug, Clone, Default)]
pub struct AuditRequest {
    /// Full audit or DNS watch (`{"mode": "watch"}`; default full).
    pub mode: Mode,
    /// Report the plan, change nothing (also forced by `ROUTER_DRY_RUN`).
    pub dry_run: bool,
    /// Stop starting routes at this instant at the latest (the Lambda deadline less a margin);
    /// the configured budget applies as well.
    pub deadline: Option<Instant>,
    /// Told of each route audited (full audit only).
    pub progress: Option<Progress>,
}

impl AuditRequest {
    /// Reads an invocation payload: an EventBridge "Scheduled Event" (nothing of ours in it)
    /// or a custom target input such as `{"dry_run": true}` (also accepted under `detail`).
    pub fn from_event(payload: &Value) -> Result<Self, AuditError> {
        let flag = payload
            .get("dry_run")
            .or_else(|| payload.get("detail").and_then(|d| d.get("dry_run")));
        let dry_run = match flag {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(AuditError::BadRequest(format!(
                    "dry_run must be true or false, got {other}"
                )))
            }
        };
        let mode = match payload
            .get("mode")
            .or_else(|| payload.get("detail").and_then(|d| d.get("mode")))
        {
            None | Some(Value::Null) => Mode::Full,
            Some(Value::String(m)) if m == "full" => Mode::Full,
            Some(Value::String(m)) if m == "watch" => Mode::Watch,
            Some(other) => {
                return Err(AuditError::BadRequest(format!(
                    "mode must be \"full\" or \"watch\", got {other}"
                )))
            }
        };
        Ok(Self {
            mode,
            dry_run,
            ..Self::default()
        })
    }
}

/// Audits every route (see the module docs) and returns the report. Fails only when the run
/// cannot read what it audits; everything else is in the report.
pub async fn audit(ctx: &Context, req: AuditRequest) -> Result<AuditReport, AuditError> {
    // Measured here, once, around the whole run: the lease's calls count like any other.
    let started = Instant::now();
    let calls_before = ctx.clients.calls.snapshot();
    let usage_before = ctx.clients.calls.usage();
    // One full audit at a time (a dry run changes nothing and takes no lease): the lease costs
    // one PutItem and one DeleteItem per run, counted in `aws_calls`.
    let dry = req.dry_run || ctx.config.dry_run;
    let lease = if dry {
        None
    } else {
        match Lease::take(
            &ctx.store,
            "full",
            ctx.config.audit_budget + Duration::from_secs(120),
        )
        .await?
        {
            Ok(lease) => Some(lease),
            Err(Taken::Elsewhere(until)) => {
                info!(
                    until,
                    "another full audit holds the lease; this run does nothing"
                );
                return Ok(AuditReport {
                    skipped: Some(format!(
                        "another full audit run holds the lease until {}",
                        DateTime::from_timestamp(until, 0)
                            .map_or(until.to_string(), |d| d.to_rfc3339())
                    )),
                    ..AuditReport::default()
                });
            }
        }
    };
    // Every ELBv2 call of the run (snapshot, targets, attributes, structural repairs,
    // orphans) shares one token bucket, so a run over any number of routes stays under the
    // configured rate; only target changes inside a route's apply lease skip it (a slow
    // bucket must not stretch the lease).
    let budget = RateBudget::per_second(ctx.config.audit_elbv2_calls_per_second);
    let paced = budget.map(|b| ctx.with_elb_budget(b));
    let report = audit_leased(paced.as_ref().unwrap_or(ctx), req).await;
    if let Some(lease) = lease {
        if let Err(e) = lease.release(&ctx.store).await {
            warn!(error = %e, "audit lease not released; it expires by itself");
        }
    }
    let mut report = report?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.aws_calls = ctx.clients.calls.since(&calls_before);
    report.aws_throttles = ctx.clients.calls.usage().since(usage_before).throttles;
    report.elbv2_calls_per_second = ctx.config.audit_elbv2_calls_per_second;
    publish(&report, &ctx.config.metrics_namespace);
    Ok(report)
}

/// The run itself, inside the lease; [`audit`] measures and publishes it.
async fn audit_leased(ctx: &Context, req: AuditRequest) -> Result<AuditReport, AuditError> {
    let started = Instant::now();
    let dry_run = req.dry_run || ctx.config.dry_run;
    let mut stop = started + ctx.config.audit_budget;
    if let Some(deadline) = req.deadline {
        stop = stop.min(deadline);
    }

    // Seeds first (Terraform's target_endpoints): the routes they create are then audited
    // like any other, and their resources are in the snapshot below.
    let (seeds, seed_error) = match seeds::provision_seeds(ctx, dry_run).await {
        Ok(results) => (results, None),
        Err(e) => (vec![], Some(e.to_string())),
    };
    let state = ctx.store.audit_records().await?;
    // Snapshot before the routes: a target group in the snapshot was created after its route
    // record, so the listing that follows sees that route (orphans cannot be misread).
    let snapshot = Snapshot::read(ctx).await?;
    let mut items = ctx.store.route_items().await?;
    let learned = accounts::learn_accounts(ctx, &mut items, dry_run).await;
    if !dry_run {
        // A global database's member clusters, read again: a region added since the route's
        // creation gets its event alias.
        for item in &items {
            if let RouteItem::Route(route) = item {
                crate::flows::service::refresh_event_aliases(ctx, route).await;
            }
        }
    }

    let mut report = AuditReport {
        dry_run,
        routes_seen: items.len(),
        resumed_from: state.cursor(dry_run).map(str::to_owned),
        ..AuditReport::default()
    };
    report.errors.extend(seed_error.map(|error| RouteFailure {
        route_id: "seeds".into(),
        error,
    }));
    report.errors.extend(seeds.iter().filter_map(|s| {
        Some(RouteFailure {
            route_id: s.route_id.clone(),
            error: format!("seed: {}", s.error.clone()?),
        })
    }));
    report.seeds = seeds;
    if !learned.is_empty() {
        report
            .repaired
            .insert("account_learned".into(), learned.len() as u64);
    }
    // What each database answers now, as the routes remember it (the minute watch keeps that
    // within a minute of DNS): an IP another route's database took leaves (planner rule 10).
    let claims = stored_claims(
        items.iter().filter_map(|it| match it {
            RouteItem::Route(r) => Some(&**r),
            RouteItem::Malformed { .. } => None,
        }),
        &ctx.config,
    );
    let claims = &claims;
    let start = resume_index(&items, state.cursor(dry_run));
    let order: Vec<&RouteItem> = items[start..].iter().chain(&items[..start]).collect();
    let concurrency = ctx.config.audit_concurrency.max(1);
    let done = AtomicUsize::new(0);
    // What diagnoses read, shared by the run's routes (a broken network costs its reads once).
    let facts = &Facts::default();
    let results: Vec<ItemAudit> = stream::iter(order.iter().enumerate())
        .take_while(|(i, _)| futures::future::ready(*i == 0 || Instant::now() < stop))
        .map(|(_, item)| async {
            let audited = audit_item(ctx, &snapshot, claims, facts, item, dry_run).await;
            if let Some(Progress(tell)) = &req.progress {
                tell(done.fetch_add(1, Ordering::Relaxed) + 1, order.len());
            }
            audited
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    report.routes_audited = results.len();
    report.complete = results.len() == order.len();
    if !report.complete {
        report.stopped_at = results
            .len()
            .checked_sub(1)
            .map(|i| order[i].id().to_owned());
    }
    for r in results {
        fold(&mut report, r);
    }

    let known = Known::of(&items, &ctx.config.deployment);
    match find_orphans(ctx, &snapshot, &known).await {
        Ok(found) => settle_orphans(ctx, &state, found, dry_run, &mut report).await,
        Err(e) => report.errors.push(RouteFailure {
            route_id: "orphans".into(),
            error: e.to_string(),
        }),
    }

    // The private endpoint rules follow the routes (and say whether they carry traffic).
    report.rules = crate::flows::rules::sync(ctx, dry_run).await;

    // A dry run keeps its own cursor (bookkeeping only: it changes nothing the router serves),
    // so repeated dry runs cover every route like real ones.
    let cursor = report.stopped_at.clone();
    if cursor.as_deref() != state.cursor(dry_run) {
        if let Err(e) = ctx
            .store
            .write_audit_cursor(dry_run, cursor.as_deref())
            .await
        {
            report.errors.push(RouteFailure {
                route_id: "cursor".into(),
                error: e.to_string(),
            });
        }
    }

    report.routes.sort_by(|a, b| a.route_id.cmp(&b.route_id));
    report.errors.sort_by(|a, b| a.route_id.cmp(&b.route_id));
    report
        .dns_failures
        .sort_by(|a, b| a.route_id.cmp(&b.route_id));
    report
        .routes_not_serving
        .sort_by(|a, b| a.route_id.cmp(&b.route_id));
    report
        .routes_registering
        .sort_by(|a, b| a.route_id.cmp(&b.route_id));
    Ok(report)
}

/// Index of the first item to audit: the first whose id sorts after the cursor (0 when there
/// is no cursor or the cursor was the last id: the run wraps around to the start).
fn resume_index(items: &[RouteItem], cursor: Option<&str>) -> usize {
    match cursor {
        None => 0,
        Some(c) => {
            let i = items.partition_point(|it| it.id() <= c);
            if i == items.len() {
                0
            } else {
                i
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// One route
// ---------------------------------------------------------------------------------------

/// What auditing one item found and did.
#[derive(Debug, Default)]
struct ItemAudit {
    finding: RouteFinding,
    dns_failure: Option<DnsFailure>,
    health: Option<(RouteStatus, RouteHealth)>,
    conflict: Option<String>,
    error: Option<String>,
    in_progress: bool,
    ip_reused: Vec<IpReused>,
    policy_violation: Option<PolicyViolation>,
}

fn fold(report: &mut AuditReport, r: ItemAudit) {
    let f = r.finding;
    let f_id = f.route_id.clone();
    for kind in &f.repairs {
        *report.repaired.entry(kind.clone()).or_default() += 1;
    }
    if !f.register.is_empty() {
        *report
            .repaired
            .entry("targets_registered".into())
            .or_default() += f.register.len() as u64;
    }
    if !f.deregister.is_empty() {
        *report
            .repaired
            .entry("targets_deregistered".into())
            .or_default() += f.deregister.len() as u64;
    }
    if let Some(error) = r.error {
        report.errors.push(RouteFailure {
            route_id: f.route_id.clone(),
            error,
        });
    }
    if !f.repairs.is_empty() || !f.register.is_empty() || !f.deregister.is_empty() {
        report.routes.push(f);
    }
    report.dns_failures.extend(r.dns_failure);
    report.ip_reused.extend(r.ip_reused);
    report.policy_violations.extend(r.policy_violation);
    if let Some(conflict) = r.conflict {
        report.conflicts.push(RouteConflict {
            route_id: f_id.clone(),
            conflict,
        });
    }
    if let Some((status, health)) = r.health {
        report_health(report, &f_id, status, health);
    }
    report.routes_in_progress += usize::from(r.in_progress);
}

fn stuck(route: &Route) -> bool {
    let age = Utc::now().signed_duration_since(route.updated_at);
    age.to_std().is_ok_and(|a| a >= STUCK_AFTER)
}

async fn audit_item(
    ctx: &Context,
    snapshot: &Snapshot,
    claims: &Claims,
    facts: &Facts,
    item: &RouteItem,
    dry_run: bool,
) -> ItemAudit {
    let mut out = ItemAudit {
        finding: RouteFinding {
            route_id: item.id().to_owned(),
            ..RouteFinding::default()
        },
        ..ItemAudit::default()
    };
    if let RouteItem::Route(route) = item {
        out.policy_violation = policy_violation(ctx, route);
    }
    let result = match item {
        RouteItem::Malformed { error, .. } => Err(error.clone()),
        RouteItem::Route(route) => match route.status {
            RouteStatus::Provisioning | RouteStatus::Deleting if !stuck(route) => {
                out.in_progress = true;
                Ok(())
            }
            RouteStatus::Provisioning => {
                out.finding.repairs.push("provisioning_finished".into());
                if dry_run {
                    Ok(())
                } else {
                    let lookup = lookup(ctx, route, &mut out).await;
                    service::finish(ctx, (**route).clone(), &[lookup])
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
            }
            RouteStatus::Deleting => {
                out.finding.repairs.push("deletion_finished".into());
                if dry_run {
                    Ok(())
                } else {
                    service::teardown(ctx, (**route).clone())
                        .await
                        .map_err(|e| e.to_string())
                }
            }
            _ => audit_route(ctx, snapshot, claims, facts, route, dry_run, &mut out).await,
        },
    };
    if let Err(e) = result {
        warn!(route_id = item.id(), error = %e, "audit of route failed");
        out.error = Some(e);
    }
    out
}

/// Why `route` is outside the exposure policy now, if it is (no AWS call).
fn policy_violation(ctx: &Context, route: &Route) -> Option<PolicyViolation> {
    let violations = service::policy_violations(ctx, route);
    (!violations.is_empty()).then(|| PolicyViolation {
        route_id: route.id().to_string(),
        owner: route.owner.clone(),
        violations,
    })
}

async fn lookup(ctx: &Context, route: &Route, out: &mut ItemAudit) -> Lookup {
    let lookup = ctx.dns.lookup(route.spec.host.as_str()).await;
    note_failure(route, &lookup, out);
    lookup
}

fn note_failure(route: &Route, lookup: &Lookup, out: &mut ItemAudit) {
    if let Lookup::Failed(failure) = lookup {
        out.dns_failure = Some(DnsFailure {
            route_id: route.id().to_string(),
            host: route.spec.host.to_string(),
            failure: *failure,
            status: route.status,
        });
    }
}

/// Structural drift, then DNS drift, of a route in `pending`, `active`, `source_gone` or
/// `source_deleted`.
async fn audit_route(
    ctx: &Context,
    snapshot: &Snapshot,
    claims: &Claims,
    facts: &Facts,
    route: &Route,
    dry_run: bool,
    out: &mut ItemAudit,
) -> Result<(), String> {
    let (mut ensured, repairs) = ensure_resources_with(ctx, route, snapshot, dry_run)
        .await
        .map_err(|e| e.to_string())?;
    out.finding.repairs.extend(repairs.iter().map(repair_kind));
    let arns_moved = ensured.target_group_arn.is_some()
        && (ensured.target_group_arn != route.target_group_arn
            || ensured.listener_arn != route.listener_arn);
    if let Some(conflict) = &ensured.conflict {
        out.conflict = Some(conflict.clone());
    }
    // The migration never stops the route's audit: its targets must still follow DNS.
    let migrated = match ensure_deployment_tag(ctx, &mut ensured, dry_run).await {
        Ok(migrated) => migrated,
        Err(e) => {
            warn!(route_id = %route.id(), error = %e, "deployment tag not added; the next audit tries again");
            out.conflict.get_or_insert(e.message);
            false
        }
    };
    if migrated {
        out.finding.repairs.push("deployment_tagged".into());
    }
    if (arns_moved || migrated || ensured.conflict != route.conflict) && !dry_run {
        // Recreated resources have new ARNs: store them even if no target changes.
        ensured.version += 1;
        ensured.updated_at = Utc::now();
        ctx.store.save(&ensured).await.map_err(|e| e.to_string())?;
        out.finding.repairs.push("route_record_updated".into());
    }
    // A deleted database's name is not looked up: its targets all go whatever it answers.
    let (lookups, retention, not_live, gone_confirmed, answers_sampled) =
        if route.status == RouteStatus::SourceDeleted {
            (vec![], None, Default::default(), false, None)
        } else {
            let seen = observe(ctx, route).await;
            note_failure(route, &seen.lookup, out);
            (
                vec![seen.lookup],
                Some(seen.retention),
                seen.not_live,
                seen.gone_confirmed,
                seen.answers_sampled,
            )
        };
    let with = Seen {
        retention,
        claims: Some(claims),
        not_live: Some(&not_live),
        gone_confirmed,
        event_at: None,
        answers_sampled,
    };
    let status = ensured.status;
    let outcome = match reconcile_with(ctx, ensured, &lookups, &with, dry_run).await {
        Ok(outcome) => outcome,
        // The NLB's target quota: the route keeps its old targets and is reported not
        // serving, with the line that says why (alarmed through RoutesNotServing).
        Err(e) if e.target_quota_full().is_some() => {
            let health = summarize(&[], &[], None).target_quota_full(e.target_quota_full());
            out.health = Some((status, health));
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    out.ip_reused = ip_reused_in(route.id().as_str(), &outcome.plan.notes);
    // Health as the route stands after the plan: read again only when targets changed.
    let observed = match &outcome.route.target_group_arn {
        Some(tg) if outcome.applied && !outcome.plan.is_noop() => ctx
            .elb
            .describe_targets(tg)
            .await
            .map_err(|e| e.to_string())?,
        _ => outcome.observed.clone(),
    };
    let refused = match lookups.last() {
        Some(Lookup::Answer(_)) => refused_in(&outcome.plan.notes),
        _ => outcome.route.refused.clone(),
    };
    let mut health = summarize(&observed, &refused, outcome.route.conflict.as_deref())
        .with_arrivals(&observed, &outcome.route.arrivals, chrono::Utc::now());
    if outcome.route.name_is_gone() {
        health = health.name_gone(&outcome.route);
    }
    health = health.target_quota_full(outcome.route.target_quota_full.as_deref());
    if fails_health_checks(&observed) {
        // Why, from the RDS and EC2 APIs: only for a route whose targets fail, so a healthy
        // fleet costs no call.
        health = health
            .with_diagnoses(diagnose_route(ctx, &outcome.route, &observed, true, facts).await);
    }
    out.health = Some((outcome.route.status, health));
    out.finding.register = outcome.plan.register;
    out.finding.deregister = outcome.plan.deregister;
    Ok(())
}

fn repair_kind(r: &crate::reconcile::provision::Repair) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{r:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn malformed(id: &str) -> RouteItem {
        RouteItem::Malformed {
            id: id.into(),
            error: String::new(),
        }
    }

    #[test]
    fn scheduled_event_is_a_real_run_and_dry_run_flag_is_honoured() {
        let scheduled = json!({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(!AuditRequest::from_event(&scheduled).unwrap().dry_run);
        assert!(
            AuditRequest::from_event(&json!({"dry_run": true}))
                .unwrap()
                .dry_run
        );
        assert!(
            AuditRequest::from_event(&json!({"detail": {"dry_run": true}}))
                .unwrap()
                .dry_run
        );
        assert!(matches!(
            AuditRequest::from_event(&json!({"dry_run": "yes"})),
            Err(AuditError::BadRequest(_))
        ));
    }

    #[test]
    fn run_resumes_after_the_cursor_and_wraps_around() {
        let items: Vec<RouteItem> = ["a", "b", "c"].into_iter().map(malformed).collect();
        assert_eq!(resume_index(&items, None), 0);
        assert_eq!(resume_index(&items, Some("a")), 1);
        assert_eq!(resume_index(&items, Some("bb")), 2);
        assert_eq!(
            resume_index(&items, Some("c")),
            0,
            "last id wraps to the start"
        );
        assert_eq!(resume_index(&items, Some("0")), 0);
    }
}
