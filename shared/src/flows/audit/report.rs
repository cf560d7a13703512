//! What an audit run found and did, as the report the function returns, the one summary log
//! line, `plr audit`'s rows and the EMF metrics the alarms read.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tracing::info;

use crate::adapters::aws::metrics::{self, count, millis, Metric};
use crate::domain::health::{Health, RefusedAddress, RouteHealth, TargetProblem};
use crate::domain::plan::{Change, LookupFailure, Note};
use crate::domain::route::RouteStatus;
use crate::flows::seeds::SeedResult;

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

/// Repair kinds that are one-time migrations after an upgrade, not drift: reported under
/// `repaired`, left out of the `Repairs` alarm metric (an upgrade must not page).
/// `idle_timeout_applied`: a listener still at AWS's default idle timeout (350 s) gets the
/// route's, as every listener made before routes had one does once after the upgrade.
pub const MIGRATIONS: &[&str] = &[
    "deployment_tagged",
    "account_learned",
    "idle_timeout_applied",
];

/// An IP removed from a route (or kept off it) because another route's database answers it
/// now (planner rule 10): a deleted or moved database's address handed to another database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpReused {
    /// The route the IP left.
    pub route_id: String,
    /// The address.
    pub ip: IpAddr,
    /// The routes whose databases answer it now.
    pub claimed_by: Vec<String>,
}

/// A route outside the deployment's exposure policy now ([`crate::domain::exposure`]): a port
/// that is no database port, or a database its owner (no admin) was not granted. Reported,
/// never acted on: a policy change does not remove routes; an operator removes or re-grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyViolation {
    /// The route.
    pub route_id: String,
    /// Its owner.
    pub owner: String,
    /// What is outside the policy, one line each.
    pub violations: Vec<String>,
}

/// The [`IpReused`] findings among a plan's notes for `route_id`.
pub fn ip_reused_in(route_id: &str, notes: &[Note]) -> Vec<IpReused> {
    notes
        .iter()
        .filter_map(|n| match n {
            Note::IpReused { ip, routes } => Some(IpReused {
                route_id: route_id.to_owned(),
                ip: *ip,
                claimed_by: routes.clone(),
            }),
            _ => None,
        })
        .collect()
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
    /// Why its targets fail their health checks, as the RDS and EC2 APIs show it, each with
    /// its fix (security groups, network ACLs, a changed port); absent when none was found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<crate::domain::diagnosis::Diagnosis>,
}

/// An active route with targets still `initial` (ELB's first health checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteRegistering {
    /// Route id.
    pub route_id: String,
    /// Targets registering.
    pub targets: usize,
    /// When the oldest was registered (from the route's arrivals), when the router did.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Longer than [`crate::domain::health::REGISTERING_BOUND_SECS`]: alarmed
    /// (`RoutesRegisteringTooLong`), and listed in `routes_not_serving` too.
    pub overdue: bool,
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
    /// Routes in `provisioning`/`deleting` younger than [`STUCK_AFTER`](super::STUCK_AFTER), left alone.
    pub routes_in_progress: usize,
    /// Every route was audited (the budget did not stop the run).
    pub complete: bool,
    /// The cursor the run started after (the previous run stopped there).
    pub resumed_from: Option<String>,
    /// The last route audited when the budget stopped the run (the next run resumes after it).
    pub stopped_at: Option<String>,
    /// Repairs by kind: `target_group_created`, `listener_created`, `listener_retargeted`,
    /// `health_check_restored`, `attributes_restored`, `idle_timeout_restored`,
    /// `idle_timeout_applied` (a migration: the listener had AWS's default),
    /// `route_record_updated`,
    /// `targets_registered`, `targets_deregistered` (targets, not routes),
    /// `provisioning_finished`, `deletion_finished`.
    pub repaired: BTreeMap<String, u64>,
    /// Failed DNS lookups.
    pub dns_failures: Vec<DnsFailure>,
    /// IPs removed from a route because another route's database answers them now.
    pub ip_reused: Vec<IpReused>,
    /// Active routes that do not serve fully, with the reason (not those whose only trouble
    /// is a target registering for less than five minutes: see `routes_registering`).
    pub routes_not_serving: Vec<RouteNotServing>,
    /// Active routes with targets still registering (`initial`), overdue or not.
    pub routes_registering: Vec<RouteRegistering>,
    /// Targets that cannot take connections (`unhealthy`, `unused`, `unavailable`; draining
    /// ones when nothing else serves the route). `initial` is normal and not listed.
    pub targets_not_serving: Vec<TargetNotServing>,
    /// Addresses DNS answered that may not be targets (public, outside the allowed ranges).
    pub refused_addresses: Vec<AddressRefused>,
    /// Structural conflicts the router cannot repair (a listener it does not own on a route's
    /// port); the route's targets were still reconciled.
    pub conflicts: Vec<RouteConflict>,
    /// Routes outside the exposure policy now (see [`PolicyViolation`]); left as they are.
    pub policy_violations: Vec<PolicyViolation>,
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
    pub rules: Option<crate::flows::rules::RulesReport>,
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
        self.repaired
            .iter()
            .filter(|(kind, _)| !MIGRATIONS.contains(&kind.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// DNS failures of routes expected to resolve (not `pending`).
    pub fn counted_dns_failures(&self) -> usize {
        self.dns_failures
            .iter()
            .filter(|f| !matches!(f.status, RouteStatus::Pending | RouteStatus::SourceGone))
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
            count(
                "RoutesRegisteringTooLong",
                self.routes_registering.iter().filter(|r| r.overdue).count() as u64,
            ),
            count("AddressesRefused", self.refused_addresses.len() as u64),
            count("IpReused", self.ip_reused.len() as u64),
            count("ListenerConflicts", self.conflicts.len() as u64),
            count("PolicyViolations", self.policy_violations.len() as u64),
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
        .map(|(k, v)| match k.as_str() {
            "routes_registering" => (k.clone(), registering_text(v)),
            _ => (k.clone(), as_text(v)),
        })
        .collect()
}

/// `routes_registering` for a person: only the overdue ones, `route (N registering)`; a
/// registration of seconds is normal and changes from one moment to the next, so the row
/// shows what needs a look (the JSON keeps every route with its times).
fn registering_text(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["overdue"] == Value::Bool(true))
        .map(|r| {
            format!(
                "{} ({} registering, overdue)",
                r["route_id"].as_str().unwrap_or("?"),
                r["targets"]
            )
        })
        .collect();
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
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

/// Logs the summary line and prints the EMF records: the counters under dimension
/// `Function=dns-audit`, and `Repairs` per kind under `Function, RepairKind`. The counters
/// go to the log line, the maps (repairs by kind, calls by operation) as JSON objects in the
/// EMF record.
pub(super) fn publish(report: &AuditReport, namespace: &str) {
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

/// Adds one route's health to the report: refused addresses always; targets that cannot
/// serve (draining ones only when nothing else serves); the route itself when it is `active`
/// and not fully serving, or `source_gone` (its name vanished with no event: an alarm; a
/// `pending` or `source_deleted` route is expected to have no targets).
pub(super) fn report_health(
    report: &mut AuditReport,
    route_id: &str,
    status: RouteStatus,
    h: RouteHealth,
) {
    let settling = h.is_settling();
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
    if status == RouteStatus::Active && h.registering > 0 {
        report.routes_registering.push(RouteRegistering {
            route_id: route_id.to_owned(),
            targets: h.registering,
            since: h.registering_since,
            overdue: h.registering_overdue,
        });
    }
    let alarming = match status {
        RouteStatus::Active => h.health != Health::Serving && !settling,
        RouteStatus::SourceGone => true,
        _ => false,
    };
    if alarming {
        report.routes_not_serving.push(RouteNotServing {
            route_id: route_id.to_owned(),
            health: h.health,
            reason: h.reason,
            diagnoses: h.diagnoses,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::aws::metrics;
    use crate::domain::health::summarize;
    use crate::domain::plan::Target;

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
