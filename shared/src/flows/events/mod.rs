//! RDS events from EventBridge: which ones move an endpoint's IP, and how the router follows.
//!
//! The whole decision, in one place:
//! 1. A malformed event is logged with its reason, counted, and dropped (no retry can fix it).
//! 2. The router's own account (its NLBs' accounts) is always heard, and the accounts listed in
//!    `ROUTER_EVENT_ACCOUNTS`; others are refused, logged and counted.
//! 3. The event ID and source type decide the [`Action`] through
//!    [`EVENT_IDS`](crate::domain::rds_events::EVENT_IDS) (every ID the RDS and Aurora guides
//!    document, classified: move, re-resolve, created, deleted, ignore); an ID the table does
//!    not list is re-resolved once, never ignored.
//! 4. Routes are found by RDS identifier (`detail.SourceIdentifier`; for Blue/Green events the
//!    database names in `detail.Message` and `resources`, and for a deployment's own event —
//!    0248 names none — its databases from DescribeBlueGreenDeployments, cluster instances
//!    included), and a cluster event also by its
//!    cluster's event alias (a global database's member cluster → the global writer
//!    endpoint's routes, [`crate::adapters::aws::store::event_aliases`]; through an alias an
//!    event only moves or re-resolves, never creates or deletes). Unrouted identifiers are
//!    counted.
//! 5. Per route, an event not newer than `route.last_event_at` is a replay and is dropped, so
//!    duplicated, retried and out-of-order events converge to the same state. Events match on
//!    (account, region, identifier): a route whose account is known ignores other accounts'
//!    events; one of unknown account is re-resolved by them, and deleted only when its own
//!    name answers NXDOMAIN (confirmed by polling).
//! 6. Events come before DNS (the 0015 note: "DNS propagation may take a few minutes"): for
//!    a `move`, the handler polls DNS with backoff until the answer changes or the deadline
//!    passes, then
//!    takes K (`ROUTER_WINDOW`) answers and reconciles once, make-before-break, so a writer's old
//!    IP leaves within the same invocation and every IP of a round-robin name is seen.
//! 7. Deletion marks the route `source_deleted` first, then deregisters every target (its IPs
//!    may be handed to someone else); listener and port stay. Creation turns `source_deleted`
//!    back into `pending`, and the reconcile makes it `active` once it has targets.
//! 8. A failure to reach AWS is an error, so Lambda retries the event; `last_event_at` is
//!    stored only with the change it vouches for, so a retry is never mistaken for a replay.

use std::net::IpAddr;
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde::Serialize;
use serde_json::Value;
use tracing::{debug, error, info, warn};

use crate::adapters::aws::metrics;
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::claims::Claims;
use crate::domain::log_fields::{list, tag};
use crate::domain::plan::{Lookup, Note};
use crate::domain::rds_events::Action;
use crate::domain::route::{Route, RouteStatus};
use crate::domain::window::Retention;
use crate::reconcile::observe::{followed_endpoint, members_lookup, stored_claims};
use crate::reconcile::{reconcile_with, ReconcileError, Seen};

mod dns_wait;
mod envelope;
mod reach;

pub use envelope::{account_allowed, Malformed, RdsEvent};

use dns_wait::{baseline, confirm, describe, nxdomain_confirmed, wait_for_change};
use reach::{
    blue_green_databases, custom_endpoint_renamed, deletion_needs_nxdomain, log_not_deleted,
    renamed_away, routes_reached, through_alias, Reached,
};

/// Handling an event failed on the way to AWS; Lambda retries the invocation.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The route store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reconciling a route failed (ELBv2 or store).
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
}

/// What the handler decided about the event as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Routes were found and handled (see the per-route results).
    Handled,
    /// Unreadable: logged and dropped.
    Malformed,
    /// From an account not allowed: logged and dropped.
    Refused,
    /// An event that cannot move or end an address ([`Action::Ignore`]): logged.
    Ignored,
    /// No route uses the identifiers the event names.
    Unrouted,
}

/// What happened to one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteResult {
    /// Planned and applied (possibly with nothing to change).
    Reconciled,
    /// Planned only (`ROUTER_DRY_RUN`).
    DryRun,
    /// Not newer than the route's last applied event: dropped.
    Replay,
    /// Not acted on; see the reason.
    Skipped,
    /// Planned and stored, but the router's NLB refused the new targets for its target quota
    /// (`TooManyTargets`): the reason says what stays and the fix. Not an invocation failure:
    /// a retry would meet the same quota, and the DNS watch retries every minute.
    TargetQuotaFull,
}

/// How the DNS poll went for one route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DnsReport {
    /// Whether the answer changed before the deadline.
    pub changed: bool,
    /// Lookups made while waiting for the change.
    pub polls: u32,
    /// Time spent waiting for the change.
    pub waited_ms: u64,
    /// Answers handed to the planner, oldest first (a failure as its kind).
    pub answers: Vec<String>,
}

/// The outcome for one route.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteReport {
    /// Route id.
    pub route_id: String,
    /// What happened.
    pub result: RouteResult,
    /// Why, for replays and skips.
    pub reason: Option<String>,
    /// Status before the event.
    pub status_before: RouteStatus,
    /// Status after the event.
    pub status_after: RouteStatus,
    /// DNS polling, when the action polls.
    pub dns: Option<DnsReport>,
    /// IPs registered.
    pub registered: Vec<IpAddr>,
    /// IPs deregistered.
    pub deregistered: Vec<IpAddr>,
    /// Planner notes (kept in window, refused addresses, failed lookups…).
    pub notes: Vec<Note>,
}

/// The handler's JSON answer: classification, per-route outcome and elapsed time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The decision about the event.
    pub decision: Decision,
    /// Why, when the event was not handled.
    pub reason: Option<String>,
    /// The action from the event table, when the event could be read.
    pub action: Option<Action>,
    /// The event, when it could be read.
    pub event: Option<RdsEvent>,
    /// RDS identifiers looked up.
    pub identifiers: Vec<String>,
    /// One entry per route found.
    pub routes: Vec<RouteReport>,
    /// Wall time of the invocation.
    pub elapsed_ms: u64,
}

/// Handles one EventBridge RDS event with the configured DNS poll deadline.
pub async fn handle(ctx: &Context, raw: &Value) -> Result<Summary, EventError> {
    handle_until(ctx, raw, None).await
}

/// Handles one event; DNS polling also stops at `hard_deadline` (the Lambda's own deadline,
/// minus a margin) when that comes before the configured one.
pub async fn handle_until(
    ctx: &Context,
    raw: &Value,
    hard_deadline: Option<Instant>,
) -> Result<Summary, EventError> {
    let started = Instant::now();
    let usage_before = ctx.clients.calls.usage();
    let mut deadline = started + ctx.config.dns_poll_deadline;
    if let Some(hard) = hard_deadline {
        deadline = deadline.min(hard);
    }
    let result = handle_inner(ctx, raw, deadline).await;
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let ns = ctx.config.metrics_namespace.as_str();
    let usage = ctx.clients.calls.usage().since(usage_before);
    let aws = [
        metrics::count("AwsCalls", usage.calls),
        metrics::count("AwsThrottles", usage.throttles),
    ];
    match result {
        Ok(mut summary) => {
            summary.elapsed_ms = elapsed_ms;
            let counter = match summary.decision {
                Decision::Handled => "RdsEventHandled",
                Decision::Malformed => "RdsEventMalformed",
                Decision::Refused => "RdsEventRefused",
                Decision::Ignored => "RdsEventIgnored",
                Decision::Unrouted => "RdsEventUnrouted",
            };
            let changed = summary
                .routes
                .iter()
                .filter(|r| !r.registered.is_empty() || !r.deregistered.is_empty())
                .count();
            let mut values = vec![metrics::count(counter, 1)];
            if summary.decision == Decision::Handled {
                let quota_full = summary
                    .routes
                    .iter()
                    .filter(|r| r.result == RouteResult::TargetQuotaFull)
                    .count();
                values.push(metrics::count("RoutesChangedByEvent", changed as u64));
                values.push(metrics::count("RoutesTargetQuotaFull", quota_full as u64));
                values.push(metrics::millis("RdsEventHandlingMs", elapsed_ms));
            }
            values.extend(aws);
            metrics::emit(ns, &values, &[("Function", "rds-events")]);
            info!(
                decision = %tag(&summary.decision),
                action = summary.action.as_ref().map(tag),
                routes = summary.routes.len(),
                routes_changed = changed,
                elapsed_ms,
                "rds event done"
            );
            Ok(summary)
        }
        Err(e) => {
            let mut values = vec![metrics::count("RdsEventFailed", 1)];
            values.extend(aws);
            metrics::emit(ns, &values, &[("Function", "rds-events")]);
            warn!(error = %e, elapsed_ms, "rds event failed; Lambda will retry");
            Err(e)
        }
    }
}

fn summary(decision: Decision, reason: Option<String>, event: Option<&RdsEvent>) -> Summary {
    Summary {
        decision,
        reason,
        action: event.map(RdsEvent::action),
        event: event.cloned(),
        identifiers: vec![],
        routes: vec![],
        elapsed_ms: 0,
    }
}

async fn handle_inner(
    ctx: &Context,
    raw: &Value,
    deadline: Instant,
) -> Result<Summary, EventError> {
    let event = match RdsEvent::parse(raw) {
        Ok(e) => e,
        Err(Malformed(reason)) => {
            warn!(reason = %reason, "malformed RDS event dropped");
            return Ok(summary(Decision::Malformed, Some(reason), None));
        }
    };
    let action = event.action();
    if !account_allowed(&ctx.config, &event.account) {
        let reason = format!("account {} is not allowed to send events", event.account);
        warn!(account = %event.account, event_id = %event.event_id, source = %event.source_identifier, reason = %reason, "RDS event refused");
        return Ok(summary(Decision::Refused, Some(reason), Some(&event)));
    }
    if action == Action::Ignore {
        info!(event_id = %event.event_id, detail_type = %event.detail_type, source = %event.source_identifier, message = %event.message, "RDS event ignored: it cannot move an address");
        return Ok(summary(
            Decision::Ignored,
            Some(format!(
                "{} cannot move or end a database address",
                event.event_id
            )),
            Some(&event),
        ));
    }
    let mut identifiers = event.identifiers();
    identifiers.extend(blue_green_databases(ctx, &event).await);
    let Reached { routes, aliased } = routes_reached(ctx, &event, &identifiers).await?;
    if routes.is_empty() {
        let reason = if identifiers.is_empty() {
            format!(
                "{} names no database (the per-resource events carry the names)",
                event.event_id
            )
        } else {
            "no route uses these identifiers".to_owned()
        };
        debug!(event_id = %event.event_id, identifiers = %list(&identifiers), reason = %reason, "RDS event unrouted");
        let mut s = summary(Decision::Unrouted, Some(reason), Some(&event));
        s.identifiers = identifiers.into_iter().collect();
        return Ok(s);
    }
    info!(event_id = %event.event_id, action = %tag(&action), identifiers = %list(&identifiers), routes = routes.len(), "RDS event matched routes");
    // What every database answers now, as the routes remember it: a stale answer of this
    // event's name never brings back an IP another database took (planner rule 10).
    let items = ctx.store.route_items().await?;
    let claims = stored_claims(
        items.iter().filter_map(|it| match it {
            RouteItem::Route(r) => Some(&**r),
            RouteItem::Malformed { .. } => None,
        }),
        &ctx.config,
    );
    let results = join_all(routes.into_values().map(|route| {
        let aliased = aliased.contains(route.id().as_str());
        handle_route(ctx, &event, action, aliased, route, &claims, deadline)
    }))
    .await;
    let mut reports = Vec::with_capacity(results.len());
    for r in results {
        reports.push(r?);
    }
    let mut s = summary(Decision::Handled, None, Some(&event));
    s.identifiers = identifiers.into_iter().collect();
    s.routes = reports;
    Ok(s)
}

fn skipped(route: &Route, result: RouteResult, reason: String) -> RouteReport {
    info!(route_id = %route.id(), result = %tag(&result), reason = %reason, "route not changed by event");
    RouteReport {
        route_id: route.id().to_string(),
        result,
        reason: Some(reason),
        status_before: route.status,
        status_after: route.status,
        dns: None,
        registered: vec![],
        deregistered: vec![],
        notes: vec![],
    }
}

async fn handle_route(
    ctx: &Context,
    event: &RdsEvent,
    action: Action,
    aliased: bool,
    route: Route,
    claims: &Claims,
    deadline: Instant,
) -> Result<RouteReport, EventError> {
    if let Some(last) = route.last_event_at {
        if event.time <= last {
            return Ok(skipped(
                &route,
                RouteResult::Replay,
                format!(
                    "event time {} is not after the last applied event {last}",
                    event.time
                ),
            ));
        }
    }
    if let Some(region) = route.region() {
        if !region.eq_ignore_ascii_case(&event.region) {
            return Ok(skipped(
                &route,
                RouteResult::Skipped,
                format!(
                    "the route's database is in {region}, the event is from {}",
                    event.region
                ),
            ));
        }
    }
    // Events match on (account, region, identifier): names are unique only per account and
    // region. A route of unknown account may be re-resolved by a same-name event (harmless),
    // but only its own name disappearing (NXDOMAIN, confirmed) ends it.
    let mut action = action;
    match route.spec.account.as_deref() {
        Some(account) if account != event.account => {
            return Ok(skipped(
                &route,
                RouteResult::Skipped,
                format!(
                    "the event is about a database of account {}; the route follows account {account}'s",
                    event.account
                ),
            ));
        }
        _ => {}
    }
    // A cluster renamed away from the route's name (RDS-EVENT-0172): its endpoints carry the
    // new name now, so the old one is re-resolved once, not polled for a change that cannot
    // come, and the route remembers the new name for its health line. Other routes of the
    // old identifier (a custom endpoint keeps its name) are re-resolved once too.
    let renamed_to = renamed_away(event, &route);
    if event.cluster_renamed().is_some() {
        action = Action::Reresolve;
    }
    action = through_alias(action, aliased);
    if action == Action::Deleted {
        if let Some(why) = deletion_needs_nxdomain(ctx, &route, aliased).await {
            if !nxdomain_confirmed(ctx.dns.as_ref(), route.spec.host.as_str(), deadline).await {
                log_not_deleted(&route, event, why);
                action = Action::Reresolve;
            }
        }
    }
    match (route.status, action) {
        (RouteStatus::Provisioning | RouteStatus::Deleting, _) => {
            return Ok(skipped(
                &route,
                RouteResult::Skipped,
                format!(
                    "route is {:?}; the API retry or the audit finishes it",
                    route.status
                ),
            ));
        }
        (RouteStatus::SourceDeleted, a) if a != Action::Created && a != Action::Deleted => {
            return Ok(skipped(
                &route,
                RouteResult::Skipped,
                "the database was deleted; waiting for its creation event".into(),
            ));
        }
        _ => {}
    }
    let dry_run = ctx.config.dry_run;
    let status_before = route.status;
    let id = route.id().clone();
    let route_id = id.to_string();
    let mut working = route;
    // The lifecycle change is stored before any target moves, so a concurrent scheduled
    // reconcile plans with the new intent (and a retry after a failure sees it).
    let target_status = match (action, working.status) {
        (Action::Deleted, s) if s != RouteStatus::SourceDeleted => Some(RouteStatus::SourceDeleted),
        (Action::Created, RouteStatus::SourceDeleted) => Some(RouteStatus::Pending),
        _ => None,
    };
    if let Some(status) = target_status {
        if dry_run {
            working.status = status;
        } else {
            working = store_with(ctx, working, |r| r.status = status).await?;
            info!(route_id = %working.id(), from = %tag(&status_before), to = %tag(&status), "route status changed by RDS event");
        }
    }
    if let Some(to) = &renamed_to {
        warn!(route_id = %working.id(), renamed_to = %to, "the route's cluster was renamed: its name will stop resolving");
        if dry_run {
            working.renamed_to = Some(to.clone());
        } else {
            working = store_with(ctx, working, |r| r.renamed_to = Some(to.clone())).await?;
        }
    }
    if let Some(to) = custom_endpoint_renamed(event, &working) {
        info!(route_id = %working.id(), cluster = %to, "the custom endpoint's cluster was renamed: the route follows its events under the new name");
        if dry_run {
            working.spec.rds_identifier = Some(to);
        } else {
            working =
                store_with(ctx, working, |r| r.spec.rds_identifier = Some(to.clone())).await?;
        }
    }
    // Reader and custom endpoints whose members the RDS API gives: the members are the answer
    // (the API shows a failover's new topology at once; no DNS polling needed).
    // (A private alias is read through the RDS endpoint its CNAME chain leads to now.)
    let members = match action {
        Action::Deleted => None,
        _ => match followed_endpoint(ctx, working.spec.host.as_str()).await {
            Some(endpoint) => members_lookup(ctx, &endpoint, working.spec.account.as_deref())
                .await
                .ok(),
            None => None,
        },
    };
    let mut retention = None;
    let (lookups, dns) = match (action, members) {
        (Action::Deleted, _) => (vec![], None),
        (_, Some((ips, ids))) => {
            retention = Some(Retention::Lookups(1));
            info!(route_id = %working.id(), members = %list(&ids), "members read from the RDS API");
            let lookups = vec![Lookup::Answer(ips)];
            let report = DnsReport {
                changed: baseline(&working).changed_by(match &lookups[0] {
                    Lookup::Answer(ips) => ips,
                    Lookup::Failed(_) => unreachable!("built from an answer"),
                }),
                answers: lookups.iter().map(describe).collect(),
                ..DnsReport::default()
            };
            (lookups, Some(report))
        }
        (Action::Reresolve, None) => {
            let lookups = confirm(
                ctx.dns.as_ref(),
                working.spec.host.as_str(),
                None,
                ctx.config.window,
            )
            .await;
            let report = DnsReport {
                answers: lookups.iter().map(describe).collect(),
                ..DnsReport::default()
            };
            (lookups, Some(report))
        }
        (_, None) => {
            let host = working.spec.host.as_str();
            let wait = wait_for_change(ctx.dns.as_ref(), host, &baseline(&working), deadline).await;
            if !wait.changed {
                info!(route_id = %working.id(), host, polls = wait.polls, waited_ms = wait.waited_ms, "DNS answer did not change before the deadline; reconciling anyway");
            }
            let lookups = confirm(ctx.dns.as_ref(), host, Some(wait.last), ctx.config.window).await;
            let report = DnsReport {
                changed: wait.changed,
                polls: wait.polls,
                waited_ms: wait.waited_ms,
                answers: lookups.iter().map(describe).collect(),
            };
            (lookups, Some(report))
        }
    };
    // The mark rides along with the reconcile's own write when there is one.
    let passed_version = working.version;
    let stored_mark = working.last_event_at;
    let event_mark = Some(stored_mark.map_or(event.time, |t| t.max(event.time)));
    working.last_event_at = event_mark;
    let with = Seen {
        retention,
        claims: Some(claims),
        not_live: None,
        gone_confirmed: false,
        event_at: Some(event.time),
        answers_sampled: None,
    };
    let outcome = match reconcile_with(ctx, working, &lookups, &with, dry_run).await {
        Err(e) if e.target_quota_full().is_some() => {
            let line = e.target_quota_full().unwrap_or_default().to_owned();
            error!(route_id = %route_id, event_id = %event.event_id, reason = %line, "route's new targets refused for the NLB's target quota");
            // The plan was stored (with the mark, unless a conflict made reconcile re-read the
            // route): the route as stored now, its mark made sure, so a retry is a replay.
            let mut status_after = status_before;
            if let Some(stored) = ctx.store.get(&id).await? {
                status_after = store_mark(ctx, stored, event.time).await?.status;
            }
            return Ok(RouteReport {
                route_id,
                result: RouteResult::TargetQuotaFull,
                reason: Some(line),
                status_before,
                status_after,
                dns,
                registered: vec![],
                deregistered: vec![],
                notes: vec![],
            });
        }
        other => other?,
    };
    let mut stored = outcome.route;
    if !dry_run {
        if stored.version == passed_version {
            // Reconcile found nothing to store, so the mark is not stored either.
            stored.last_event_at = stored_mark;
        }
        if stored.last_event_at < event_mark {
            stored = store_mark(ctx, stored, event.time).await?;
        }
    }
    let report = RouteReport {
        route_id: outcome.route_id,
        result: if dry_run {
            RouteResult::DryRun
        } else {
            RouteResult::Reconciled
        },
        reason: renamed_to.map(|to| {
            format!("the cluster was renamed to {to}: the route's name stops resolving; create a route on {to}'s endpoint, or rename the cluster back")
        }),
        status_before,
        status_after: stored.status,
        dns,
        registered: outcome.plan.register.iter().map(|c| c.target.ip).collect(),
        deregistered: outcome
            .plan
            .deregister
            .iter()
            .map(|c| c.target.ip)
            .collect(),
        notes: outcome.plan.notes,
    };
    info!(
        route_id = %report.route_id,
        event_id = %event.event_id,
        action = %tag(&action),
        status = %tag(&report.status_after),
        registered = report.registered.len(),
        deregistered = report.deregistered.len(),
        dns_changed = report.dns.as_ref().map(|d| d.changed),
        "route reconciled after RDS event"
    );
    Ok(report)
}

/// Stores `last_event_at = max(stored, time)` on the route as stored ([`store_with`]).
async fn store_mark(ctx: &Context, route: Route, time: DateTime<Utc>) -> Result<Route, EventError> {
    if route.last_event_at.is_some_and(|t| t >= time) {
        return Ok(route);
    }
    store_with(ctx, route, |r| {
        r.last_event_at = Some(r.last_event_at.map_or(time, |t| t.max(time)))
    })
    .await
}

/// Applies `change` to the route as stored and saves it, re-reading and retrying on a lost
/// race (three attempts); nothing is written when the change changes nothing.
async fn store_with(
    ctx: &Context,
    mut route: Route,
    change: impl Fn(&mut Route),
) -> Result<Route, EventError> {
    for attempt in 0..3 {
        let mut next = route.clone();
        change(&mut next);
        if next == route {
            return Ok(route);
        }
        next.version += 1;
        next.updated_at = Utc::now();
        match ctx.store.save(&next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::Conflict(_)) if attempt < 2 => {
                route = ctx
                    .store
                    .get(route.id())
                    .await?
                    .ok_or_else(|| StoreError::NotFound(route.id().to_string()))?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Conflict(route.id().to_string()).into())
}

#[cfg(test)]
mod tests;
