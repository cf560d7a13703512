//! The reconcile planner: pure, AWS-free. Given what DNS answered, what the window remembers and
//! what is registered, decide which targets to register and deregister — and why.
//!
//! The rules, in one place:
//! 1. A failed lookup (timeout, SERVFAIL, NXDOMAIN, empty answer) changes no target.
//! 2. New IPs are registered in the same plan that removes stale ones; `apply` registers first.
//! 3. An IP is stale only when the window lets it go ([`Sightings`], [`Retention`]): after K
//!    successful lookups without it, and for reader/custom endpoints also a retention time.
//! 4. "Source deleted" and "route deleted" override the window: every target goes.
//! 5. Otherwise the last target(s) of a route are never all removed.
//! 6. A `draining` target is not registered: it takes no new connections (NLB user guide,
//!    "Target health status"). Answered by DNS → registered again (that cancels the drain);
//!    not answered → nothing to do. Draining targets never count as the route's last target.
//! 7. Only private addresses become targets; others are refused and reported.
//! 8. Targets inside a router subnet register without AZ, others with AZ `all`.
//! 9. Planning again over the applied result gives an empty plan.

use std::collections::BTreeSet;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::net::{AddressPolicy, Placement, Refusal};
use crate::domain::window::{Retention, Sightings};

/// The AvailabilityZone value for targets outside the router VPC's subnets.
pub const ALL_ZONES: &str = "all";

/// Why a lookup failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupFailure {
    /// No answer in time.
    Timeout,
    /// The server answered SERVFAIL (or refused).
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no A record.
    Empty,
    /// Any other resolver error.
    Other,
}

impl std::fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LookupFailure::Timeout => "no answer in time",
            LookupFailure::ServFail => "the DNS server failed (SERVFAIL)",
            LookupFailure::NxDomain => "the name does not exist (NXDOMAIN)",
            LookupFailure::Empty => "the name has no A record",
            LookupFailure::Other => "resolver error",
        })
    }
}

/// The outcome of one DNS lookup of a route's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// The addresses answered (never empty: an empty answer is a failure).
    Answer(BTreeSet<IpAddr>),
    /// The lookup failed.
    Failed(LookupFailure),
}

impl Lookup {
    /// Builds a lookup outcome from addresses, mapping an empty answer to a failure.
    pub fn from_ips(ips: impl IntoIterator<Item = IpAddr>) -> Self {
        let ips: BTreeSet<IpAddr> = ips.into_iter().collect();
        if ips.is_empty() {
            Lookup::Failed(LookupFailure::Empty)
        } else {
            Lookup::Answer(ips)
        }
    }
}

/// A registered (or to-be-registered) NLB target.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Target {
    /// Target IP.
    pub ip: IpAddr,
    /// Target port (the database port).
    #[schemars(range(min = 1))]
    pub port: u16,
    /// AvailabilityZone exactly as registered / to register (`all` or none).
    pub availability_zone: Option<String>,
}

impl Target {
    fn key(&self) -> (IpAddr, u16) {
        (self.ip, self.port)
    }
}

/// What the route wants from the planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Follow DNS.
    Follow,
    /// The database was deleted: remove every target now (its IPs may be reassigned).
    SourceDeleted,
    /// The route is being removed.
    RouteDeleted,
}

/// Why a target is added or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// DNS answers it within the window and it is not registered.
    Resolved,
    /// Absent from the last K successful lookups.
    Stale,
    /// Registered on another port than the route's database port.
    WrongPort,
    /// Registered, but the address policy refuses it (e.g. a stranger added a public IP).
    NotAllowed,
    /// The database is gone.
    SourceDeleted,
    /// The route is gone.
    RouteDeleted,
}

/// One target change with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// The target, exactly as to send to ELBv2.
    #[serde(flatten)]
    pub target: Target,
    /// Why.
    pub reason: Reason,
}

/// Something the plan did not act on but the operator should know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// The newest lookup failed: targets left as they are.
    LookupFailed {
        /// Failure kind.
        failure: LookupFailure,
    },
    /// DNS answered an address that may not be a target.
    Refused {
        /// The address.
        ip: IpAddr,
        /// Why.
        why: Refusal,
    },
    /// Removing stale targets would have left the route with none: kept.
    KeptLastTargets {
        /// How many were kept.
        count: usize,
    },
    /// Not in the newest answer, but still within the window: kept.
    KeptInWindow {
        /// The address.
        ip: IpAddr,
        /// Successful lookups since it was last answered.
        misses: u32,
    },
}

/// Everything the planner looks at.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// What the route wants.
    pub intent: Intent,
    /// Lookups made since the last plan, oldest first (usually one).
    pub lookups: &'a [Lookup],
    /// The window as stored before these lookups.
    pub sightings: &'a Sightings,
    /// Targets registered now, as DescribeTargetHealth reports them, **without** the draining
    /// ones (rule 6: a draining target is not registered for planning — the caller leaves it
    /// out, so DNS answering it registers it again).
    pub current: &'a [Target],
    /// The route's database port.
    pub port: u16,
    /// The router's address rules.
    pub policy: &'a AddressPolicy,
    /// How long an IP the name stopped answering stays a target.
    pub retention: Retention,
    /// When the lookups were made (epoch seconds).
    pub now: i64,
}

/// The planner's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Targets to register (applied first).
    pub register: Vec<Change>,
    /// Targets to deregister, exactly as registered.
    pub deregister: Vec<Change>,
    /// Observations that did not lead to a change.
    pub notes: Vec<Note>,
    /// The window after these lookups, to store.
    pub sightings: Sightings,
}

impl Plan {
    /// True when no target changes.
    pub fn is_noop(&self) -> bool {
        self.register.is_empty() && self.deregister.is_empty()
    }
}

/// Computes the plan for one route. Pure: same input, same plan.
pub fn plan(input: &PlanInput<'_>) -> Plan {
    let mut out = Plan {
        sightings: input.sightings.clone(),
        ..Plan::default()
    };
    let remove_all = |reason| {
        input
            .current
            .iter()
            .map(|t| Change {
                target: t.clone(),
                reason,
            })
            .collect()
    };
    match input.intent {
        Intent::SourceDeleted => {
            out.sightings.clear();
            out.deregister = remove_all(Reason::SourceDeleted);
            return out;
        }
        Intent::RouteDeleted => {
            out.sightings.clear();
            out.deregister = remove_all(Reason::RouteDeleted);
            return out;
        }
        Intent::Follow => {}
    }

    let mut refused = BTreeSet::new();
    for lookup in input.lookups {
        if let Lookup::Answer(ips) = lookup {
            let allowed: BTreeSet<IpAddr> = ips
                .iter()
                .copied()
                .filter(|ip| match input.policy.classify(*ip) {
                    Ok(_) => true,
                    Err(why) => {
                        refused.insert((*ip, why));
                        false
                    }
                })
                .collect();
            out.sightings.record(&allowed, input.now, input.retention);
        }
    }
    out.notes.extend(
        refused
            .into_iter()
            .map(|(ip, why)| Note::Refused { ip, why }),
    );
    if let Some(Lookup::Failed(failure)) = input.lookups.last() {
        out.notes.push(Note::LookupFailed { failure: *failure });
        return out;
    }

    let desired: Vec<Target> = out
        .sightings
        .iter()
        .filter_map(|(ip, _)| {
            let placement = input.policy.classify(ip).ok()?;
            Some(Target {
                ip,
                port: input.port,
                availability_zone: (placement == Placement::AllZones).then(|| ALL_ZONES.to_owned()),
            })
        })
        .collect();
    let newest: BTreeSet<IpAddr> = match input.lookups.last() {
        Some(Lookup::Answer(ips)) => ips.clone(),
        _ => BTreeSet::new(),
    };
    for (ip, misses) in out.sightings.iter() {
        if misses > 0 && !newest.contains(&ip) && input.current.iter().any(|t| t.ip == ip) {
            out.notes.push(Note::KeptInWindow { ip, misses });
        }
    }

    let current_keys: BTreeSet<(IpAddr, u16)> = input.current.iter().map(Target::key).collect();
    let desired_keys: BTreeSet<(IpAddr, u16)> = desired.iter().map(Target::key).collect();
    out.register = desired
        .into_iter()
        .filter(|t| !current_keys.contains(&t.key()))
        .map(|target| Change {
            target,
            reason: Reason::Resolved,
        })
        .collect();
    let mut seen = BTreeSet::new();
    out.deregister = input
        .current
        .iter()
        .filter(|t| !desired_keys.contains(&t.key()) && seen.insert(t.key()))
        .map(|t| Change {
            target: t.clone(),
            reason: if input.policy.classify(t.ip).is_err() {
                Reason::NotAllowed
            } else if desired_keys.iter().any(|(ip, _)| *ip == t.ip) {
                Reason::WrongPort
            } else {
                Reason::Stale
            },
        })
        .collect();

    let kept_after = current_keys.len() - out.deregister.len() + out.register.len();
    if kept_after == 0 && !out.deregister.is_empty() {
        out.notes.push(Note::KeptLastTargets {
            count: out.deregister.len(),
        });
        out.deregister.clear();
    }
    out
}

#[cfg(test)]
mod tests;
