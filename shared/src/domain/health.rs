//! Whether a route really serves: its targets' ELB states and the addresses DNS answered that
//! the router refused, summed up as one health value a person (and an alarm) can act on.
//!
//! ELB target states (ELBv2 API reference, TargetHealth; NLB user guide, "Target health
//! status"): `initial` (`Elb.RegistrationInProgress`: registration or first health checks in
//! progress; the target takes no connections yet — the route is `degraded`, "registering
//! since", and alarms only past [`REGISTERING_BOUND_SECS`]), `healthy`, `unhealthy`, `unused` (`Target.NotInUse`: the target
//! group is not used by a load balancer, or the target is in an Availability Zone not enabled
//! on the load balancer), `unavailable`, `draining` and `unhealthy.draining` (deregistration in
//! progress: no new connections).

use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::arrivals::Arrival;
use crate::domain::diagnosis::Diagnosis;
use crate::domain::net::Refusal;
use crate::domain::plan::Note;
use crate::domain::plan::Target;

/// A registered target with its health as ELB reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TargetHealth {
    /// The target exactly as registered.
    #[serde(flatten)]
    pub target: Target,
    /// `initial`, `healthy`, `unhealthy`, `draining`, `unused`, `unavailable`.
    pub state: String,
    /// ELB's reason code, if any.
    pub reason: Option<String>,
}

impl TargetHealth {
    /// True while deregistration is in progress (`draining`, `unhealthy.draining`): the target
    /// takes no new connections and is not registered for planning (ELBv2 API reference,
    /// TargetHealth; the Load Balancer Controller registers such a target again when wanted).
    pub fn is_draining(&self) -> bool {
        self.state.ends_with("draining")
    }
}

/// A route's health, next to its lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Every target can take connections (or is passing its first health checks).
    Serving,
    /// Some targets take connections, some cannot, or DNS also answers refused addresses.
    Degraded,
    /// No target can take connections.
    NotServing,
}

/// An address DNS answered that is never registered (public, or outside the allowed ranges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefusedAddress {
    /// The address.
    pub ip: IpAddr,
    /// Why it may not be a target.
    pub why: Refusal,
}

/// A registered target that cannot take connections, with ELB's words and ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TargetProblem {
    /// Target address.
    pub ip: IpAddr,
    /// Target port.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// ELB state: `unhealthy`, `unused`, `unavailable`, `draining`, `unhealthy.draining`.
    pub state: String,
    /// ELB reason code (e.g. `Target.NotInUse`).
    pub reason: Option<String>,
    /// One line in the operator's terms, with the fix when known.
    pub explanation: String,
}

/// A route's health with the reasons behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RouteHealth {
    /// The summary.
    pub health: Health,
    /// One line saying why, when not serving fully.
    pub reason: Option<String>,
    /// Targets that cannot take connections.
    pub targets_not_serving: Vec<TargetProblem>,
    /// Addresses DNS answered that the router refused.
    pub refused: Vec<RefusedAddress>,
    /// Targets still `initial` (ELB's first health checks in progress): they take no
    /// connections yet.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub registering: usize,
    /// When the oldest of them was registered, from the route's `arrivals`; absent when none
    /// is registering or the router did not register it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registering_since: Option<DateTime<Utc>>,
    /// True when a target has been registering longer than five minutes: ELB usually
    /// finishes in one to three, so this is worth an alarm.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub registering_overdue: bool,
    /// Why targets fail their health checks, or would refuse connections while passing them,
    /// as the RDS and EC2 APIs show it, each with its fix (security groups, network ACLs, a
    /// changed database port, MySQL and MariaDB `max_connect_errors`). Read
    /// for `GET /routes/{id}`, the create and the audit; empty when nothing was found or read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// How long a target may stay `initial` before the route's registration is overdue (seconds):
/// ELB takes one to three minutes after a registration in AWS (its first health checks need
/// `healthy_threshold` passes, `interval_seconds` apart, from every load balancer node), so
/// five minutes is no normal registration any more.
pub const REGISTERING_BOUND_SECS: i64 = 300;

/// The reason a health gives for refused addresses.
fn refused_reason(refused: &[RefusedAddress]) -> String {
    let ips: Vec<String> = refused.iter().map(|r| r.ip.to_string()).collect();
    format!(
        "DNS answers {} which may not be a target (public or outside the allowed ranges): is the database publicly accessible?",
        ips.join(", ")
    )
}

impl RouteHealth {
    /// The health as a caller that is not an admin sees it: the refused addresses leave
    /// (a route is no probe of what a name answers), and a reason that named them says how
    /// many there are instead.
    pub fn without_refused_addresses(mut self) -> Self {
        if self.refused.is_empty() {
            return self;
        }
        if self.reason.as_deref() == Some(refused_reason(&self.refused).as_str()) {
            self.reason = Some(format!(
                "the name also answers {} address(es) that may not be targets (public, outside the database CIDRs, or the router's own; an admin sees them)",
                self.refused.len()
            ));
        }
        self.refused.clear();
        self
    }

    /// Adds what a diagnosis found ([`crate::flows::diagnose`]).
    pub fn with_diagnoses(mut self, diagnoses: Vec<Diagnosis>) -> Self {
        self.diagnoses = diagnoses;
        self
    }

    /// The health of a route whose new targets the NLB refused for its target quota
    /// (`Route::target_quota_full`): not serving, whatever the old targets say (they are the
    /// database's previous addresses), with the line that says why and what to do.
    pub fn target_quota_full(mut self, line: Option<&str>) -> Self {
        if let Some(line) = line {
            self.health = Health::NotServing;
            self.reason = Some(line.to_owned());
        }
        self
    }

    /// The health of a `source_gone` route: not serving, saying since when its name has been
    /// gone (`name_gone_since`, the first NXDOMAIN of the streak), why when RDS said so (a
    /// cluster renamed: `renamed_to`), and what brings it back.
    pub fn name_gone(mut self, route: &crate::domain::route::Route) -> Self {
        let host = route.spec.host.as_str();
        let since = route.name_gone_since.map_or_else(String::new, |t| {
            format!(" since {}", t.to_rfc3339_opts(SecondsFormat::Secs, true))
        });
        self.health = Health::NotServing;
        self.reason = Some(match &route.renamed_to {
            Some(to) => format!(
                "{host} has answered NXDOMAIN{since}: its cluster was renamed to {to} (RDS-EVENT-0172), whose endpoints carry the new name, so its targets were removed; create a route on {to}'s endpoint, or rename the cluster back (this route keeps its port and follows the name again when it resolves)"
            ),
            None => format!(
                "{host} has answered NXDOMAIN{since}: the database was deleted or renamed, so its targets were removed (its IPs may belong to another database now); the port is kept and the route follows the name again when it resolves"
            ),
        });
        self
    }
}

/// True for the state that takes connections.
fn can_serve(state: &str) -> bool {
    state == "healthy"
}

/// True while ELB runs a new target's first health checks (`initial`): not serving yet, not
/// broken either.
pub(crate) fn is_registering(state: &str) -> bool {
    state == "initial"
}

/// Explains a target state in one line, with the fix when known.
fn explain(state: &str, reason: Option<&str>) -> String {
    match (state, reason) {
        (_, Some("Target.NotInUse")) => "the load balancer sends it nothing: its Availability Zone is not enabled on the NLB (add a subnet in that zone to the NLB) or the target group has no listener".into(),
        (s, _) if s.ends_with("draining") => "deregistration in progress: no new connections".into(),
        ("unhealthy", Some("Target.FailedHealthChecks")) | ("unhealthy", None) => "fails the TCP health check: check the database is up and its security group allows the NLB's private IPs".into(),
        ("unhealthy", Some(r)) => format!("unhealthy ({r}): check the database and its security group"),
        ("unavailable", _) => "health checks are disabled or the target group is not used".into(),
        (s, r) => format!("{s}{}", r.map(|r| format!(" ({r})")).unwrap_or_default()),
    }
}

/// The refused addresses among a plan's notes.
pub fn refused_in(notes: &[Note]) -> Vec<RefusedAddress> {
    notes
        .iter()
        .filter_map(|n| match n {
            Note::Refused { ip, why } => Some(RefusedAddress { ip: *ip, why: *why }),
            _ => None,
        })
        .collect()
}

/// Sums up a route's targets (as DescribeTargetHealth reports them), the addresses its newest
/// answer held that were refused, and a structural conflict (a listener the router does not
/// own on the route's port: consumers reach something else, whatever the targets' health).
pub fn summarize(
    observed: &[TargetHealth],
    refused: &[RefusedAddress],
    conflict: Option<&str>,
) -> RouteHealth {
    let mut health = summarize_targets(observed, refused);
    if let Some(conflict) = conflict {
        health.health = Health::NotServing;
        health.reason = Some(format!("consumers do not reach these targets: {conflict}"));
    }
    health
}

fn summarize_targets(observed: &[TargetHealth], refused: &[RefusedAddress]) -> RouteHealth {
    let serving = observed.iter().filter(|t| can_serve(&t.state)).count();
    let registering = observed.iter().filter(|t| is_registering(&t.state)).count();
    let targets_not_serving: Vec<TargetProblem> = observed
        .iter()
        .filter(|t| !can_serve(&t.state) && !is_registering(&t.state))
        .map(|t| TargetProblem {
            ip: t.target.ip,
            port: t.target.port,
            state: t.state.clone(),
            reason: t.reason.clone(),
            explanation: explain(&t.state, t.reason.as_deref()),
        })
        .collect();
    let leaving = targets_not_serving
        .iter()
        .filter(|p| p.state.ends_with("draining"))
        .count();
    let broken = targets_not_serving.len() - leaving;
    let refused_line = (!refused.is_empty()).then(|| refused_reason(refused));
    let first_broken = || {
        targets_not_serving
            .iter()
            .find(|p| !p.state.ends_with("draining"))
    };
    // A registering target is about to serve: the route is degraded, not down, while it does.
    let (health, reason) = if serving + registering == 0 {
        let reason = if let Some(line) = refused_line.clone() {
            line
        } else if observed.is_empty() {
            "no targets: the database name has not resolved to an allowed address yet".into()
        } else if broken == 0 {
            "only draining targets: nothing takes new connections".into()
        } else {
            match first_broken() {
                Some(p) => format!("{}:{} {}: {}", p.ip, p.port, p.state, p.explanation),
                None => "no target takes connections".into(),
            }
        };
        (Health::NotServing, Some(reason))
    } else if broken > 0 {
        let p = first_broken().expect("broken > 0");
        let head = if serving == 0 {
            format!(
                "no target takes connections yet: {registering} registering, {broken} cannot serve"
            )
        } else {
            format!(
                "{broken} of {} targets cannot serve",
                serving + broken + registering
            )
        };
        (
            Health::Degraded,
            Some(format!(
                "{head}; {}:{} {}: {}",
                p.ip, p.port, p.state, p.explanation
            )),
        )
    } else if let Some(line) = refused_line {
        (Health::Degraded, Some(line))
    } else if registering > 0 {
        (
            Health::Degraded,
            Some(registering_reason(registering, serving, None)),
        )
    } else {
        (Health::Serving, None)
    };
    RouteHealth {
        health,
        reason,
        targets_not_serving,
        refused: refused.to_vec(),
        registering,
        registering_since: None,
        registering_overdue: false,
        diagnoses: vec![],
    }
}

/// The reason of a route whose only trouble is targets still registering.
fn registering_reason(registering: usize, serving: usize, since: Option<DateTime<Utc>>) -> String {
    let since = since.map_or_else(String::new, |t| {
        format!(" since {}", t.to_rfc3339_opts(SecondsFormat::Secs, true))
    });
    let rest = if serving == 0 {
        "no target takes connections until one passes".to_owned()
    } else {
        format!("{serving} healthy target(s) take the connections meanwhile")
    };
    format!(
        "{registering} target(s) registering{since} (initial, Elb.RegistrationInProgress: ELB's first health checks, usually one to three minutes); {rest}"
    )
}

impl RouteHealth {
    /// Adds when the registering targets were registered, from the route's `arrivals`, and
    /// whether that is longer ago than [`REGISTERING_BOUND_SECS`] at `now`.
    pub fn with_arrivals(
        mut self,
        observed: &[TargetHealth],
        arrivals: &[Arrival],
        now: DateTime<Utc>,
    ) -> Self {
        if self.registering == 0 {
            return self;
        }
        let since = observed
            .iter()
            .filter(|t| is_registering(&t.state))
            .filter_map(|t| {
                let key = t.target.to_string();
                arrivals
                    .iter()
                    .find(|a| a.target == key && a.is_open())
                    .map(|a| a.registered_at)
            })
            .min();
        self.registering_since = since;
        self.registering_overdue =
            since.is_some_and(|t| (now - t).num_seconds() > REGISTERING_BOUND_SECS);
        let serving = observed.iter().filter(|t| can_serve(&t.state)).count();
        let plain = registering_reason(self.registering, serving, None);
        if self.reason.as_deref() == Some(plain.as_str()) {
            self.reason = Some(registering_reason(self.registering, serving, since));
        }
        self
    }

    /// True when the route's only trouble is targets registering for less than
    /// [`REGISTERING_BOUND_SECS`]: normal after every registration, no alarm.
    pub fn is_settling(&self) -> bool {
        self.health == Health::Degraded
            && self.registering > 0
            && !self.registering_overdue
            && self
                .targets_not_serving
                .iter()
                .all(|t| t.state.ends_with("draining"))
            && self.refused.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::arrivals::{note_registering, record_arrivals};
    use crate::domain::plan::Target;

    /// A target as DescribeTargetHealth reports it (port 5432), for tests here and in
    /// `arrivals`.
    pub(crate) fn t(ip: &str, state: &str, reason: Option<&str>) -> TargetHealth {
        TargetHealth {
            target: Target {
                ip: ip.parse().unwrap(),
                port: 5432,
                availability_zone: None,
            },
            state: state.into(),
            reason: reason.map(str::to_owned),
        }
    }

    #[test]
    fn initial_right_after_registration_is_degraded_registering_since_and_settling() {
        let observed = [
            t("10.0.1.7", "initial", Some("Elb.RegistrationInProgress")),
            t(
                "10.0.1.8",
                "draining",
                Some("Target.DeregistrationInProgress"),
            ),
        ];
        let registered: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let mut arrivals = vec![];
        record_arrivals(
            &mut arrivals,
            &[observed[0].target.clone()],
            None,
            registered,
        );
        let h = summarize(&observed, &[], None);
        assert_eq!(h.health, Health::Degraded);
        assert!(h.targets_not_serving.iter().all(|p| p.state == "draining"));
        let soon = h.clone().with_arrivals(
            &observed,
            &arrivals,
            registered + chrono::TimeDelta::seconds(60),
        );
        assert_eq!(soon.registering_since, Some(registered));
        let reason = soon.reason.clone().unwrap();
        assert!(
            reason.contains("registering since 2026-12-01T10:00:00Z"),
            "{reason}"
        );
        assert!(soon.is_settling());
        let late = h.with_arrivals(
            &observed,
            &arrivals,
            registered + chrono::TimeDelta::seconds(301),
        );
        assert!(late.registering_overdue && !late.is_settling());
    }

    #[test]
    fn a_registering_and_a_broken_target_say_nothing_serves_yet() {
        let h = summarize(
            &[
                t("10.0.1.7", "initial", Some("Elb.RegistrationInProgress")),
                t("10.0.1.8", "unhealthy", Some("Target.FailedHealthChecks")),
            ],
            &[],
            None,
        );
        assert_eq!(h.health, Health::Degraded);
        let reason = h.reason.unwrap();
        assert!(
            reason.starts_with("no target takes connections yet: 1 registering, 1 cannot serve"),
            "{reason}"
        );
    }

    #[test]
    fn open_arrivals_are_never_dropped_and_unknown_registrations_are_noted() {
        let now: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let targets: Vec<Target> = (1..=16)
            .map(|i| t(&format!("10.0.2.{i}"), "initial", None).target)
            .collect();
        let mut arrivals = vec![];
        record_arrivals(&mut arrivals, &targets, None, now);
        assert_eq!(arrivals.len(), 16, "every open arrival stays");
        let observed = [t("10.0.3.1", "initial", None)];
        let mut none = vec![];
        note_registering(&mut none, &observed, now);
        assert_eq!(none.len(), 1);
        let h = summarize(&observed, &[], None).with_arrivals(
            &observed,
            &none,
            now + chrono::TimeDelta::seconds(301),
        );
        assert!(h.registering_overdue);
    }

    #[test]
    fn a_target_in_a_zone_the_nlb_does_not_serve_is_not_serving_and_says_why() {
        let h = summarize(
            &[t("10.0.3.5", "unused", Some("Target.NotInUse"))],
            &[],
            None,
        );
        assert_eq!(h.health, Health::NotServing);
        assert!(h
            .reason
            .unwrap()
            .contains("Availability Zone is not enabled"));
    }

    #[test]
    fn only_draining_targets_are_not_serving() {
        let h = summarize(
            &[t(
                "10.1.2.3",
                "draining",
                Some("Target.DeregistrationInProgress"),
            )],
            &[],
            None,
        );
        assert_eq!(h.health, Health::NotServing);
        assert!(h.reason.unwrap().contains("only draining"));
    }

    #[test]
    fn one_bad_target_among_healthy_ones_is_degraded() {
        let h = summarize(
            &[
                t("10.0.1.7", "healthy", None),
                t("10.0.1.8", "unhealthy", Some("Target.FailedHealthChecks")),
                t("10.0.1.9", "draining", None),
            ],
            &[],
            None,
        );
        assert_eq!(h.health, Health::Degraded);
        assert_eq!(h.targets_not_serving.len(), 2);
    }

    #[test]
    fn a_refused_answer_is_reported_even_while_an_old_target_serves() {
        let refused = [RefusedAddress {
            ip: "8.8.8.8".parse().unwrap(),
            why: Refusal::NotPrivate,
        }];
        let h = summarize(&[t("10.1.2.3", "healthy", None)], &refused, None);
        assert_eq!(h.health, Health::Degraded);
        assert!(h.reason.unwrap().contains("8.8.8.8"));
        let h = summarize(&[], &refused, None);
        assert_eq!(h.health, Health::NotServing);
    }

    #[test]
    fn a_listener_conflict_is_not_serving_whatever_the_targets_say() {
        let h = summarize(
            &[t("10.1.2.3", "healthy", None)],
            &[],
            Some("port 10000 on router r1 is used by a listener the router does not own"),
        );
        assert_eq!(h.health, Health::NotServing);
        assert!(h.reason.unwrap().contains("does not own"));
    }
}
