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
//!      attributes, listener on the **same** port) and one fresh DNS lookup → [`reconcile`]
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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tracing::{info, warn};

use crate::adapters::aws::elb::{
    ElbError, Targets, MANAGED_BY, TAG_MANAGED_BY, TAG_ROUTE, TAG_ROUTER,
};
use crate::adapters::aws::metrics::{self, count, millis, Metric};
use crate::adapters::aws::rate_budget::RateBudget;
use crate::adapters::aws::store::audit_records::{AuditRecords, OrphanRecord, RouteItem};
use crate::adapters::aws::store::lease::{Lease, Taken};
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::health::{
    refused_in, summarize, Health, RefusedAddress, RouteHealth, TargetProblem,
};
use crate::domain::plan::{Change, Lookup, LookupFailure};
use crate::domain::route::{target_group_name, Route, RouteStatus};
use crate::observe::observe;
use crate::provision::{ensure_resources_with, Snapshot};
use crate::reconcile::reconcile_with;
use crate::seeds::{self, SeedResult};
use crate::service;

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
    /// The minute DNS watch ([`crate::watch`]): resolve every route, reconcile only those
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

/// A DNS lookup that failed during the audit (targets left as they were).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsFailure {
    /// Route id.
    pub route_id: String,
    /// The host looked up.
    pub host: String,
    /// Failure kind.
    pub failure: LookupFailure,
    /// Route status: failures of `pending` routes (database not created yet) are expected and
    /// not counted in the `DnsFailures` metric.
    pub status: RouteStatus,
}

/// A registered target that cannot take connections: reported, never removed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetNotServing {
    /// Route id.
    pub route_id: String,
    /// The target, its ELB state and reason, and what it means.
    #[serde(flatten)]
    pub target: TargetProblem,
}

/// A route that does not serve fully (only routes expected to: `active` ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteNotServing {
    /// Route id.
    pub route_id: String,
    /// `degraded` or `not_serving`.
    pub health: Health,
    /// Why, in one line.
    pub reason: Option<String>,
}

/// A structural conflict on one route, in one line with the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteConflict {
    /// Route id.
    pub route_id: String,
    /// What is in the way, and what to do.
    pub conflict: String,
}

/// An address a route's DNS answered that the router refused to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressRefused {
    /// Route id.
    pub route_id: String,
    /// The address and why.
    #[serde(flatten)]
    pub address: RefusedAddress,
}

/// What the audit did (or, in a dry run, would do) to one route.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RouteFinding {
    /// Route id.
    pub route_id: String,
    /// Repair kinds (see [`AuditReport::repaired`]).
    pub repairs: Vec<String>,
    /// Targets registered.
    pub register: Vec<Change>,
    /// Targets deregistered.
    pub deregister: Vec<Change>,
}

/// A route the audit could not finish; the next run retries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteFailure {
    /// Route id (or the item key, for an item that is not a route).
    pub route_id: String,
    /// What failed.
    pub error: String,
}

/// A resource carrying our ownership tags whose route does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphan {
    /// `target_group` or `listener`.
    pub kind: String,
    /// Its ARN.
    pub arn: String,
    /// Router id from its tag.
    pub router: String,
    /// Route id from its tag.
    pub route_id: String,
    /// When an audit first saw it (`None` in a dry run that saw it first).
    pub first_seen: Option<DateTime<Utc>>,
    /// Whether this run deleted it.
    pub deleted: bool,
}

/// Orphans found and deleted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrphanReport {
    /// Every orphan seen this run.
    pub found: Vec<Orphan>,
    /// How many were deleted (older than the grace period).
    pub deleted: usize,
}

/// One run's summary: the Lambda's result and the source of the log line and metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// Nothing was changed; counts are what a real run would do.
    pub dry_run: bool,
    /// Routes in the table.
    pub routes_seen: usize,
    /// Routes audited this run.
    pub routes_audited: usize,
    /// Routes in `provisioning`/`deleting` younger than [`STUCK_AFTER`], left alone.
    pub routes_in_progress: usize,
    /// Every route was audited (the budget did not stop the run).
    pub complete: bool,
    /// The cursor the run started after (the previous run stopped there).
    pub resumed_from: Option<String>,
    /// The last route audited when the budget stopped the run (the next run resumes after it).
    pub stopped_at: Option<String>,
    /// Repairs by kind: `target_group_created`, `listener_created`, `listener_retargeted`,
    /// `health_check_restored`, `attributes_restored`, `route_record_updated`,
    /// `targets_registered`, `targets_deregistered` (targets, not routes),
    /// `provisioning_finished`, `deletion_finished`.
    pub repaired: BTreeMap<String, u64>,
    /// Failed DNS lookups.
    pub dns_failures: Vec<DnsFailure>,
    /// Active routes that do not serve fully, with the reason.
    pub routes_not_serving: Vec<RouteNotServing>,
    /// Targets that cannot take connections (`unhealthy`, `unused`, `unavailable`; draining
    /// ones when nothing else serves the route). `initial` is normal and not listed.
    pub targets_not_serving: Vec<TargetNotServing>,
    /// Addresses DNS answered that may not be targets (public, outside the allowed ranges).
    pub refused_addresses: Vec<AddressRefused>,
    /// Structural conflicts the router cannot repair (a listener it does not own on a route's
    /// port); the route's targets were still reconciled.
    pub conflicts: Vec<RouteConflict>,
    /// Orphans found and deleted.
    pub orphans: OrphanReport,
    /// Terraform seeds turned into routes (or, in a dry run, waiting).
    pub seeds: Vec<SeedResult>,
    /// Routes that changed (or would change), with what.
    pub routes: Vec<RouteFinding>,
    /// Routes and resources the run could not handle.
    pub errors: Vec<RouteFailure>,
    /// Set when the run did nothing because another full audit holds the lease (until when).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The routers' Databricks private endpoint rules, synced and judged; absent when the
    /// Databricks API is not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<crate::rules::RulesReport>,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// AWS calls made by the run, by operation.
    pub aws_calls: BTreeMap<String, u64>,
    /// Attempts AWS throttled during the run (the SDK retried them or gave up).
    pub aws_throttles: u64,
    /// The run's ELBv2 rate budget in calls a second (0 = unpaced,
    /// `ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND`).
    pub elbv2_calls_per_second: u32,
}

impl AuditReport {
    /// Total repairs of every kind.
    pub fn repairs(&self) -> u64 {
        self.repaired.values().sum()
    }

    /// DNS failures of routes expected to resolve (not `pending`).
    pub fn counted_dns_failures(&self) -> usize {
        self.dns_failures
            .iter()
            .filter(|f| f.status != RouteStatus::Pending)
            .count()
    }

    /// Active routes whose health is `not_serving`.
    pub fn routes_not_serving_count(&self) -> usize {
        self.routes_not_serving
            .iter()
            .filter(|r| r.health == Health::NotServing)
            .count()
    }

    /// The run's counters as EMF metric values (the alarm contract: `DnsFailures`, `Repairs`,
    /// `Errors`, `RoutesNotServing`, `AddressesRefused`).
    /// The report as (field, text) rows for a person — every field but the per-route list,
    /// in the JSON's order: text without quotes, maps as `key: value, …`, lists as `a, b`,
    /// nothing as `-`. What `plr audit` and the demo print.
    pub fn rows(&self) -> Vec<(String, String)> {
        serde_json::to_value(self).map_or_else(|_| vec![], |v| report_rows(&v))
    }

    /// `RoutesServing` counts audited routes that are neither not serving nor degraded.
    pub fn metrics(&self) -> Vec<Metric<'static>> {
        let not_serving = self.routes_not_serving_count() as u64;
        let degraded = (self.routes_not_serving.len() as u64).saturating_sub(not_serving);
        let mut metrics = vec![
            count("RoutesSeen", self.routes_seen as u64),
            count("RoutesAudited", self.routes_audited as u64),
            count(
                "RoutesServing",
                (self.routes_audited as u64).saturating_sub(not_serving + degraded),
            ),
            count("RoutesNotServing", not_serving),
            count("RoutesDegraded", degraded),
            count("Repairs", self.repairs()),
            count("DnsFailures", self.counted_dns_failures() as u64),
            count("TargetsNotServing", self.targets_not_serving.len() as u64),
            count("AddressesRefused", self.refused_addresses.len() as u64),
            count("ListenerConflicts", self.conflicts.len() as u64),
            count("OrphansFound", self.orphans.found.len() as u64),
            count("OrphansDeleted", self.orphans.deleted as u64),
            count("Errors", self.errors.len() as u64),
            count("AuditIncomplete", u64::from(!self.complete)),
            millis("AuditDurationMs", self.duration_ms),
            count("AwsCalls", self.aws_calls.values().sum()),
            count("AwsThrottles", self.aws_throttles),
        ];
        if let Some(rules) = &self.rules {
            metrics.extend([
                count("RulesNotEstablished", rules.not_established() as u64),
                count("RulesExpiring", rules.expiring() as u64),
                count("RuleUpdates", rules.updated() as u64),
                count("RuleProblems", rules.problems() as u64),
            ]);
        }
        metrics
    }
}

/// [`AuditReport::rows`] of a report as JSON (what the `dns-audit` handler returns).
pub fn report_rows(report: &Value) -> Vec<(String, String)> {
    report
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "routes")
        .map(|(k, v)| (k.clone(), as_text(v)))
        .collect()
}

/// A JSON value as text for [`AuditReport::rows`].
fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>().join(", "),
        Value::Object(m) if m.is_empty() => "-".to_owned(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}: {}", as_text(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
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
    let items = ctx.store.route_items().await?;

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
    let start = resume_index(&items, state.cursor(dry_run));
    let order: Vec<&RouteItem> = items[start..].iter().chain(&items[..start]).collect();
    let concurrency = ctx.config.audit_concurrency.max(1);
    let done = AtomicUsize::new(0);
    let results: Vec<ItemAudit> = stream::iter(order.iter().enumerate())
        .take_while(|(i, _)| futures::future::ready(*i == 0 || Instant::now() < stop))
        .map(|(_, item)| async {
            let audited = audit_item(ctx, &snapshot, item, dry_run).await;
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

    let known = Known::of(&items);
    match find_orphans(ctx, &snapshot, &known).await {
        Ok(found) => settle_orphans(ctx, &state, found, dry_run, &mut report).await,
        Err(e) => report.errors.push(RouteFailure {
            route_id: "orphans".into(),
            error: e.to_string(),
        }),
    }

    // The private endpoint rules follow the routes (and say whether they carry traffic).
    report.rules = crate::rules::sync(ctx, dry_run).await;

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
    Ok(report)
}

/// Logs the summary line and prints the EMF records: the counters under dimension
/// `Function=dns-audit`, and `Repairs` per kind under `Function, RepairKind`. The counters
/// go to the log line, the maps (repairs by kind, calls by operation) as JSON objects in the
/// EMF record.
fn publish(report: &AuditReport, namespace: &str) {
    info!(
        dry_run = report.dry_run,
        routes_seen = report.routes_seen,
        routes_audited = report.routes_audited,
        complete = report.complete,
        resumed_from = report.resumed_from.as_deref(),
        stopped_at = report.stopped_at.as_deref(),
        repairs = report.repairs(),
        dns_failures = report.dns_failures.len(),
        routes_not_serving = report.routes_not_serving_count(),
        targets_not_serving = report.targets_not_serving.len(),
        addresses_refused = report.refused_addresses.len(),
        orphans_found = report.orphans.found.len(),
        orphans_deleted = report.orphans.deleted,
        errors = report.errors.len(),
        duration_ms = report.duration_ms,
        aws_calls = report.aws_calls.values().sum::<u64>(),
        aws_throttles = report.aws_throttles,
        "audit done"
    );
    let function = [("Function", "dns-audit")];
    let properties = Map::from_iter([
        ("repaired".to_owned(), json!(report.repaired)),
        ("aws_calls".to_owned(), json!(report.aws_calls)),
    ]);
    metrics::emit_with(namespace, &report.metrics(), &function, properties);
    for (kind, n) in &report.repaired {
        metrics::emit(
            namespace,
            &[count("Repairs", *n)],
            &[("Function", "dns-audit"), ("RepairKind", kind)],
        );
    }
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

/// Adds one route's health to the report: refused addresses always; targets that cannot
/// serve (draining ones only when nothing else serves); the route itself when it is `active`
/// and not fully serving (a `pending` or `source_deleted` route is expected to have no
/// targets).
fn report_health(report: &mut AuditReport, route_id: &str, status: RouteStatus, h: RouteHealth) {
    report
        .refused_addresses
        .extend(h.refused.into_iter().map(|address| AddressRefused {
            route_id: route_id.to_owned(),
            address,
        }));
    let only_draining = h.health == Health::NotServing;
    report.targets_not_serving.extend(
        h.targets_not_serving
            .into_iter()
            .filter(|t| only_draining || !t.state.ends_with("draining"))
            .map(|target| TargetNotServing {
                route_id: route_id.to_owned(),
                target,
            }),
    );
    if status == RouteStatus::Active && h.health != Health::Serving {
        report.routes_not_serving.push(RouteNotServing {
            route_id: route_id.to_owned(),
            health: h.health,
            reason: h.reason,
        });
    }
}

fn stuck(route: &Route) -> bool {
    let age = Utc::now().signed_duration_since(route.updated_at);
    age.to_std().is_ok_and(|a| a >= STUCK_AFTER)
}

async fn audit_item(
    ctx: &Context,
    snapshot: &Snapshot,
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
            _ => audit_route(ctx, snapshot, route, dry_run, &mut out).await,
        },
    };
    if let Err(e) = result {
        warn!(route_id = item.id(), error = %e, "audit of route failed");
        out.error = Some(e);
    }
    out
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

/// Structural drift, then DNS drift, of a route in `pending`, `active` or `source_deleted`.
async fn audit_route(
    ctx: &Context,
    snapshot: &Snapshot,
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
    if (arns_moved || ensured.conflict != route.conflict) && !dry_run {
        // Recreated resources have new ARNs: store them even if no target changes.
        ensured.version += 1;
        ensured.updated_at = Utc::now();
        ctx.store.save(&ensured).await.map_err(|e| e.to_string())?;
        out.finding.repairs.push("route_record_updated".into());
    }
    // A deleted database's name is not looked up: its targets all go whatever it answers.
    let (lookups, retention) = if route.status == RouteStatus::SourceDeleted {
        (vec![], None)
    } else {
        let seen = observe(ctx, route).await;
        note_failure(route, &seen.lookup, out);
        (vec![seen.lookup], Some(seen.retention))
    };
    let outcome = reconcile_with(ctx, ensured, &lookups, retention, dry_run)
        .await
        .map_err(|e| e.to_string())?;
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
    out.health = Some((
        outcome.route.status,
        summarize(&observed, &refused, outcome.route.conflict.as_deref()),
    ));
    out.finding.register = outcome.plan.register;
    out.finding.deregister = outcome.plan.deregister;
    Ok(())
}

fn repair_kind(r: &crate::provision::Repair) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{r:?}"))
}

// ---------------------------------------------------------------------------------------
// Orphans
// ---------------------------------------------------------------------------------------

/// Which route ids exist, for telling orphans: `(router, route)` of routes, plus ids of
/// malformed items, whose resources are never called orphans.
#[derive(Debug, Default)]
struct Known {
    routes: BTreeSet<(String, String)>,
    any_router: BTreeSet<String>,
    target_groups: BTreeSet<String>,
    ports: BTreeSet<(String, u16)>,
}

impl Known {
    fn of(items: &[RouteItem]) -> Self {
        let mut k = Known::default();
        for item in items {
            match item {
                RouteItem::Route(r) => {
                    k.routes.insert((r.router.clone(), r.id().to_string()));
                    k.target_groups.insert(r.target_group_name());
                    k.ports.insert((r.router.clone(), r.listener_port));
                }
                other => {
                    k.any_router.insert(other.id().to_owned());
                }
            }
        }
        k
    }

    fn has(&self, router: &str, route: &str) -> bool {
        self.any_router.contains(route) || self.routes.contains(&(router.into(), route.into()))
    }
}

/// Decides from a resource's tags whether it is an orphan: our managed-by tag, a router of
/// this fleet, a route tag — and no such route. Returns `(router, route)` for an orphan.
pub fn orphan_of(
    tags: &BTreeMap<String, String>,
    fleet: &BTreeSet<String>,
    route_exists: impl Fn(&str, &str) -> bool,
) -> Option<(String, String)> {
    if tags.get(TAG_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY) {
        return None;
    }
    let router = tags.get(TAG_ROUTER).filter(|r| fleet.contains(*r))?;
    let route = tags.get(TAG_ROUTE)?;
    (!route_exists(router, route)).then(|| (router.clone(), route.clone()))
}

/// The name prefix every router target group has (from [`target_group_name`]).
fn tg_prefix() -> String {
    let sample = target_group_name("r", "x");
    let head = sample.split('-').next().unwrap_or_default();
    format!("{head}-")
}

/// Orphan candidates are resources no route explains (a router-named target group no route
/// would give, serving a fleet NLB or none; a listener port no route of that router holds);
/// only those are asked for their tags
/// (DescribeTags, 20 ARNs per call), so a run without orphans makes no DescribeTags call.
async fn find_orphans(
    ctx: &Context,
    snapshot: &Snapshot,
    known: &Known,
) -> Result<Vec<Orphan>, ElbError> {
    let prefix = tg_prefix();
    let nlbs: BTreeSet<&str> = ctx
        .fleet
        .values()
        .map(|r| r.config.nlb_arn.as_str())
        .collect();
    // A group serving another load balancer is not one of ours (ours only ever serve the
    // fleet's NLBs): another deployment's groups cost no DescribeTags.
    let ours_or_loose =
        |lbs: &[String]| lbs.is_empty() || lbs.iter().any(|l| nlbs.contains(l.as_str()));
    let mut candidates: Vec<(String, String)> = snapshot
        .target_groups
        .values()
        .filter(|tg| {
            tg.name.starts_with(&prefix)
                && !known.target_groups.contains(&tg.name)
                && ours_or_loose(&tg.load_balancer_arns)
        })
        .map(|tg| ("target_group".to_owned(), tg.arn.clone()))
        .collect();
    for (router, listeners) in &snapshot.listeners {
        candidates.extend(
            listeners
                .iter()
                .filter(|l| !known.ports.contains(&(router.clone(), l.port)))
                .map(|l| ("listener".to_owned(), l.arn.clone())),
        );
    }
    if candidates.is_empty() {
        return Ok(vec![]);
    }
    let arns: Vec<String> = candidates.iter().map(|(_, a)| a.clone()).collect();
    let tags = ctx.elb.tags_of(&arns).await?;
    let fleet: BTreeSet<String> = ctx.fleet.keys().cloned().collect();
    Ok(candidates
        .into_iter()
        .filter_map(|(kind, arn)| {
            let (router, route_id) = orphan_of(tags.get(&arn)?, &fleet, |r, id| known.has(r, id))?;
            Some(Orphan {
                kind,
                arn,
                router,
                route_id,
                first_seen: None,
                deleted: false,
            })
        })
        .collect())
}

/// Records first-seen times, deletes orphans past the grace period (listeners before target
/// groups; only in a real run) and forgets records of resources no longer orphaned. A run the
/// budget stopped early deletes too: orphans are found against the whole route listing (read
/// after the ELBv2 snapshot), not against the routes audited, and a paced run over more routes
/// than its budget covers is never complete.
async fn settle_orphans(
    ctx: &Context,
    state: &AuditRecords,
    mut found: Vec<Orphan>,
    dry_run: bool,
    report: &mut AuditReport,
) {
    let now = Utc::now().timestamp();
    let grace = ctx.config.orphan_grace.as_secs() as i64;
    found.sort_by_key(|o| (o.kind != "listener", o.arn.clone()));
    for o in &mut found {
        let first = state.orphans.get(&o.arn).copied();
        if first.is_none() && !dry_run {
            if let Err(e) = ctx
                .store
                .put_orphan(OrphanRecord {
                    arn: &o.arn,
                    kind: &o.kind,
                    router: &o.router,
                    route_id: &o.route_id,
                    first_seen: now,
                })
                .await
            {
                report.errors.push(RouteFailure {
                    route_id: o.route_id.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        let first = first.or((!dry_run).then_some(now));
        o.first_seen = first.and_then(|t| DateTime::from_timestamp(t, 0));
        let due = first.is_some_and(|t| now - t >= grace);
        info!(kind = %o.kind, arn = %o.arn, router = %o.router, route_id = %o.route_id, first_seen = o.first_seen.map(|t| t.to_rfc3339()), due, dry_run, "orphan");
        if !due || dry_run {
            continue;
        }
        let deleted = if o.kind == "listener" {
            ctx.elb.delete_listener(&o.arn).await
        } else {
            ctx.elb.delete_target_group(&o.arn).await
        };
        match deleted {
            Ok(()) => {
                o.deleted = true;
                report.orphans.deleted += 1;
                info!(kind = %o.kind, arn = %o.arn, route_id = %o.route_id, "orphan deleted");
            }
            Err(e) => report.errors.push(RouteFailure {
                route_id: o.route_id.clone(),
                error: e.to_string(),
            }),
        }
    }
    if !dry_run {
        let keep: BTreeSet<&str> = found
            .iter()
            .filter(|o| !o.deleted)
            .map(|o| o.arn.as_str())
            .collect();
        for arn in state.orphans.keys().filter(|a| !keep.contains(a.as_str())) {
            if let Err(e) = ctx.store.forget_orphan(arn).await {
                report.errors.push(RouteFailure {
                    route_id: "orphans".into(),
                    error: e.to_string(),
                });
            }
        }
        for o in found
            .iter()
            .filter(|o| o.deleted && !state.orphans.contains_key(&o.arn))
        {
            let _ = ctx.store.forget_orphan(&o.arn).await;
        }
    }
    report.orphans.found = found;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::Target;
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

    #[test]
    fn health_lists_broken_targets_refusals_and_active_routes_not_serving() {
        use crate::domain::health::TargetHealth;
        let t = |ip: &str, state: &str, reason: &str| TargetHealth {
            target: Target {
                ip: ip.parse().unwrap(),
                port: 5432,
                availability_zone: None,
            },
            state: state.into(),
            reason: Some(reason.into()),
        };
        let mut report = AuditReport::default();
        let observed = [
            t("10.0.0.1", "healthy", "x"),
            t("10.0.0.2", "unhealthy", "Target.FailedHealthChecks"),
            t("10.0.0.3", "initial", "Elb.RegistrationInProgress"),
            t("10.0.0.4", "draining", "Target.DeregistrationInProgress"),
        ];
        report_health(
            &mut report,
            "orders",
            RouteStatus::Active,
            summarize(&observed, &[], None),
        );
        let ips: Vec<String> = report
            .targets_not_serving
            .iter()
            .map(|u| u.target.ip.to_string())
            .collect();
        assert_eq!(
            ips,
            ["10.0.0.2"],
            "initial is normal; draining while others serve"
        );
        assert_eq!(report.routes_not_serving[0].health, Health::Degraded);
        assert_eq!(report.routes_not_serving_count(), 0);

        let only = [t("10.0.3.5", "unused", "Target.NotInUse")];
        report_health(
            &mut report,
            "billing",
            RouteStatus::Active,
            summarize(&only, &[], None),
        );
        assert_eq!(report.routes_not_serving_count(), 1);
        report_health(
            &mut report,
            "later",
            RouteStatus::Pending,
            summarize(&[], &[], None),
        );
        assert_eq!(
            report.routes_not_serving.len(),
            2,
            "pending routes are expected empty"
        );
    }

    #[test]
    fn only_resources_with_our_tags_and_a_fleet_router_and_no_route_are_orphans() {
        let fleet: BTreeSet<String> = ["r1".to_owned()].into();
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ours = tags(&[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_ROUTER, "r1"),
            (TAG_ROUTE, "gone"),
        ]);
        assert_eq!(
            orphan_of(&ours, &fleet, |_, _| false),
            Some(("r1".into(), "gone".into()))
        );
        assert_eq!(orphan_of(&ours, &fleet, |_, _| true), None, "route exists");
        let no_owner = tags(&[(TAG_ROUTER, "r1"), (TAG_ROUTE, "gone")]);
        assert_eq!(orphan_of(&no_owner, &fleet, |_, _| false), None);
        let other_fleet = tags(&[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_ROUTER, "r9"),
            (TAG_ROUTE, "gone"),
        ]);
        assert_eq!(orphan_of(&other_fleet, &fleet, |_, _| false), None);
        assert_eq!(orphan_of(&BTreeMap::new(), &fleet, |_, _| false), None);
    }

    #[test]
    fn target_group_prefix_matches_generated_names() {
        assert_eq!(tg_prefix(), "plr-");
        assert!(target_group_name("router", "orders").starts_with(&tg_prefix()));
    }

    #[test]
    fn report_rows_read_as_text_not_json() {
        let report = serde_json::json!({
            "complete": false,
            "stopped_at": null,
            "errors": [],
            "repaired": {"listener_created": 2},
            "dns_failures": [{"route_id": "a"}, {"route_id": "b"}],
            "routes": [{"route_id": "a"}],
        });
        let rows: BTreeMap<String, String> = report_rows(&report).into_iter().collect();
        assert_eq!(rows["complete"], "false");
        assert_eq!(rows["stopped_at"], "-");
        assert_eq!(rows["errors"], "-");
        assert_eq!(rows["repaired"], "listener_created: 2");
        assert_eq!(rows["dns_failures"], "route_id: a, route_id: b");
        assert!(!rows.contains_key("routes"));
    }

    #[test]
    fn metrics_carry_the_alarm_contract_names() {
        let report = AuditReport {
            complete: true,
            repaired: BTreeMap::from([("listener_created".into(), 2)]),
            ..AuditReport::default()
        };
        let m: BTreeMap<&str, f64> = report
            .metrics()
            .into_iter()
            .map(|(n, v, _)| (n, v))
            .collect();
        assert_eq!(m["Repairs"], 2.0);
        assert_eq!(m["DnsFailures"], 0.0);
        assert_eq!(m["Errors"], 0.0);
        assert_eq!(m["AuditIncomplete"], 0.0);
        let units: BTreeMap<&str, metrics::Unit> = report
            .metrics()
            .into_iter()
            .map(|(n, _, u)| (n, u))
            .collect();
        assert_eq!(units["AuditDurationMs"], metrics::Unit::Milliseconds);
        assert_eq!(units["Repairs"], metrics::Unit::Count);
    }
}
