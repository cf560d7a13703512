//! A route's readiness history: each target the router registered, after which RDS event,
//! and when it first took connections (`healthy`), so "event → registered" and "event →
//! serving" are measured per failover ([`crate::domain::health`] reads it to say since when a
//! target has been registering).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::health::{is_registering, TargetHealth};
use crate::domain::plan::Target;

/// How many arrivals a route remembers (newest first).
pub const ARRIVALS_KEPT: usize = 10;

/// One target the router registered on a route, and when it first took connections: the
/// route's readiness history. "Event → registered" is what the router controls; "event →
/// serving" (registered plus ELB's first health checks) is what a consumer feels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Arrival {
    /// The target, `ip:port`.
    pub target: String,
    /// Time of the RDS event whose handling registered it (absent: a DNS watch, an audit, a
    /// sync or the creation registered it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_at: Option<DateTime<Utc>>,
    /// When the router registered it.
    pub registered_at: DateTime<Utc>,
    /// When a reconcile of the route first saw it `healthy`: at most a DNS watch interval
    /// (a minute) after ELB marked it so. Absent while it has not served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving_at: Option<DateTime<Utc>>,
    /// Milliseconds from the event to the registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_to_registered_ms: Option<i64>,
    /// Milliseconds from the event (else the registration) to the first `healthy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_serving_ms: Option<i64>,
}

impl Arrival {
    /// True while the target has not been seen serving.
    pub fn is_open(&self) -> bool {
        self.serving_at.is_none()
    }
}

/// Takes back the arrivals [`record_arrivals`] wrote at `at` for `targets` whose registration
/// ELB then refused (e.g. `TooManyTargets`): a target never registered has no registration
/// time, and a later registration starts its own.
pub fn forget_arrivals(arrivals: &mut Vec<Arrival>, targets: &[Target], at: DateTime<Utc>) {
    let refused: Vec<String> = targets.iter().map(Target::to_string).collect();
    arrivals.retain(|a| !(a.is_open() && a.registered_at == at && refused.contains(&a.target)));
}

/// Records the targets a plan registers `now` (after an RDS event of `event_at`, if one):
/// newest first, at most [`ARRIVALS_KEPT`]. A target already waiting to serve keeps its
/// first registration time.
pub fn record_arrivals(
    arrivals: &mut Vec<Arrival>,
    registered: &[Target],
    event_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    for t in registered {
        let target = t.to_string();
        if arrivals.iter().any(|a| a.target == target && a.is_open()) {
            continue;
        }
        arrivals.insert(
            0,
            Arrival {
                target,
                event_at,
                registered_at: now,
                serving_at: None,
                event_to_registered_ms: event_at.map(|e| (now - e).num_milliseconds()),
                to_serving_ms: None,
            },
        );
    }
    // Open arrivals all stay (each is a registered target, so at most a route's targets):
    // a dropped one could never become overdue. Served ones fill the rest, newest first.
    let open = arrivals.iter().filter(|a| a.is_open()).count();
    let mut served_room = ARRIVALS_KEPT.saturating_sub(open);
    arrivals.retain(|a| {
        a.is_open() || {
            let keep = served_room > 0;
            served_room = served_room.saturating_sub(1);
            keep
        }
    });
}

/// Adds an arrival for each target `observed` in `initial` that has no open one (registered
/// by someone else, or before the router kept arrivals), registered "now" as first seen: so a
/// target stuck registering becomes overdue too.
pub fn note_registering(
    arrivals: &mut Vec<Arrival>,
    observed: &[TargetHealth],
    now: DateTime<Utc>,
) {
    let unknown: Vec<Target> = observed
        .iter()
        .filter(|t| is_registering(&t.state))
        .filter(|t| {
            let key = t.target.to_string();
            !arrivals.iter().any(|a| a.target == key && a.is_open())
        })
        .map(|t| t.target.clone())
        .collect();
    if !unknown.is_empty() {
        record_arrivals(arrivals, &unknown, None, now);
    }
}

/// Stamps `now` on the open arrivals whose target `observed` shows `healthy`; returns the
/// arrivals that just became serving (for the event → serving metric). An open arrival
/// whose target is no longer registered (or draining) is dropped: it never served.
pub fn stamp_serving(
    arrivals: &mut Vec<Arrival>,
    observed: &[TargetHealth],
    now: DateTime<Utc>,
) -> Vec<Arrival> {
    let state = |target: &str| {
        observed
            .iter()
            .find(|t| t.target.to_string() == target)
            .map(|t| t.state.as_str())
    };
    let mut served = Vec::new();
    arrivals.retain_mut(|a| {
        if !a.is_open() {
            return true;
        }
        match state(&a.target) {
            Some("healthy") => {
                a.serving_at = Some(now);
                a.to_serving_ms =
                    Some((now - a.event_at.unwrap_or(a.registered_at)).num_milliseconds());
                served.push(a.clone());
                true
            }
            Some(s) if !s.ends_with("draining") => true,
            _ => false,
        }
    });
    served
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::health::tests::t;

    #[test]
    fn arrivals_record_event_to_registered_and_to_serving_once() {
        let event: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let registered = event + chrono::TimeDelta::milliseconds(1500);
        let target = t("10.0.1.7", "initial", None);
        let mut arrivals = vec![];
        record_arrivals(
            &mut arrivals,
            std::slice::from_ref(&target.target),
            Some(event),
            registered,
        );
        // A second registration while it waits keeps the first time.
        record_arrivals(
            &mut arrivals,
            std::slice::from_ref(&target.target),
            None,
            registered + chrono::TimeDelta::seconds(5),
        );
        assert_eq!(arrivals.len(), 1);
        assert_eq!(arrivals[0].event_to_registered_ms, Some(1500));
        let later = event + chrono::TimeDelta::seconds(95);
        assert!(stamp_serving(&mut arrivals, std::slice::from_ref(&target), later).is_empty());
        let served = stamp_serving(&mut arrivals, &[t("10.0.1.7", "healthy", None)], later);
        assert_eq!(served.len(), 1);
        assert_eq!(arrivals[0].to_serving_ms, Some(95_000));
        assert!(stamp_serving(&mut arrivals, &[t("10.0.1.7", "healthy", None)], later).is_empty());
        // A target deregistered before it served leaves the open list.
        let mut gone = vec![];
        record_arrivals(
            &mut gone,
            std::slice::from_ref(&target.target),
            None,
            registered,
        );
        stamp_serving(&mut gone, &[], later);
        assert!(gone.is_empty());
    }

    #[test]
    fn a_refused_registration_takes_back_only_its_own_arrival() {
        let at: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let old = t("10.0.1.7", "initial", None).target;
        let new = t("10.0.1.8", "initial", None).target;
        let mut arrivals = vec![];
        record_arrivals(&mut arrivals, std::slice::from_ref(&old), None, at);
        let later = at + chrono::TimeDelta::seconds(60);
        record_arrivals(&mut arrivals, &[old.clone(), new.clone()], None, later);
        forget_arrivals(&mut arrivals, &[old, new], later);
        assert_eq!(arrivals.len(), 1);
        assert_eq!(
            arrivals[0].registered_at, at,
            "the earlier registration stays"
        );
    }
}
