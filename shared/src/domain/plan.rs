//! The reconcile planner: pure, AWS-free. Given what DNS answered, what the window remembers and
//! what is registered, decide which targets to register and deregister — and why.
//!
//! The rules, in one place:
//! 1. A failed lookup (timeout, SERVFAIL, NXDOMAIN, empty answer) changes no target — except
//!    a name that stays gone: NXDOMAIN is an answer once the route's name has answered it
//!    in reconciles at least `gone_after_secs` apart ([`PlanInput::gone_after_secs`]); then
//!    every target goes (its IPs are free for RDS to hand to another database) and the plan
//!    says [`Plan::name_gone`] — at once when the RDS API confirms the database does not exist
//!    ([`PlanInput::gone_confirmed`]). SERVFAIL, timeouts and refusals never do.
//! 2. New IPs are registered in the same plan that removes stale ones; `apply` registers first.
//! 3. An IP is stale only when the window lets it go ([`Sightings`], [`Retention`]): after K
//!    successful lookups without it, and for reader/custom endpoints also a retention time.
//! 4. "Source deleted" and "route deleted" override the window: every target goes.
//! 5. Otherwise the last target(s) of a route are never all removed (unless rule 10 took one).
//! 6. A `draining` target is not registered: it takes no new connections (NLB user guide,
//!    "Target health status"). Answered by DNS → registered again (that cancels the drain);
//!    not answered → nothing to do. Draining targets never count as the route's last target.
//! 7. Only private addresses inside the database CIDRs become targets; others are refused and
//!    reported.
//! 8. Targets inside a router subnet register without AZ, others with AZ `all`.
//! 9. Planning again over the applied result gives an empty plan.
//! 10. An IP another route's database answers now ([`Claims`]) leaves this route at once —
//!     whatever the window, the retention, fail-static or rule 5 would keep — unless this
//!     route's own name answers it now too (an alias and its RDS name both keep it; a timeout
//!     or SERVFAIL vouches for the newest answer remembered, NXDOMAIN for nothing); an IP the
//!     route held when its name answered NXDOMAIN, its name went gone or its source was deleted
//!     ([`Plan::ceded`]) is not registered again while another route's database answers it,
//!     even when this route's name answers it (a stale answer), for
//!     [`CEDED_FOR_SECS`]. Reason `ip_reused`.
//! 11. An IP the route holds only by its retention that no RDS network interface holds
//!     ([`PlanInput::not_live`], the liveness check) leaves at once, whatever rules 3 and 5
//!     would keep. Reason `not_live`.
//! 12. An address the deployment never publishes — outside the database CIDRs or the router's
//!     own ([`crate::domain::net::Refusal::is_forbidden`]) — is never registered and leaves at
//!     once, whatever rules 1, 3 and 5 would keep. Reason `not_allowed`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::claims::{answers_now, taken, Claims, CEDED_FOR_SECS};
use crate::domain::net::{AddressPolicy, Placement, Refusal};
use crate::domain::window::{Retention, Sightings};

/// Default of `ROUTER_GONE_AFTER_SECONDS`: how long a route's name must keep answering
/// NXDOMAIN before its targets go (rule 1).
///
/// Why 180 s. A deleted database's IP goes back to its subnet's free pool, and EC2 documents no
/// quarantine: the next network interface created in that subnet (another RDS instance, a
/// Lambda or EKS ENI) may take it at once, so no grace is safe from reuse — only short. The
/// bound is the time an IP the router may no longer vouch for stays reachable: with the minute
/// DNS watch, the first NXDOMAIN is seen at most 60 s after the name went away and the targets
/// go at the first watch 180 s later — 4 watches, under 4 minutes. (Reuse by another routed
/// database is cut sooner, in the run that sees it: the cross-route rule.) The cost of a
/// shorter bound is an outage of a live name that answers NXDOMAIN for a moment: RDS renames
/// one only on purpose (rename, restore into the name, Blue/Green switchover, which "typically
/// takes under a minute" — RDS user guide, blue-green-deployments-switching), and the route
/// comes back by itself at the first watch after the name resolves again. 180 s rides over a
/// switchover's rename and a resolver's negative answer cached for a minute, and needs at least
/// three NXDOMAIN lookups in a row.
pub const DEFAULT_GONE_AFTER_SECS: i64 = 180;

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
    /// The answer holds more addresses than a route may have targets
    /// (`ROUTER_TARGETS_PER_ROUTE`): treated as a failed lookup, it changes no target.
    TooManyAddresses,
}

impl std::fmt::Display for LookupFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LookupFailure::Timeout => "no answer in time",
            LookupFailure::ServFail => "the DNS server failed (SERVFAIL)",
            LookupFailure::NxDomain => "the name does not exist (NXDOMAIN)",
            LookupFailure::Empty => "the name has no A record",
            LookupFailure::Other => "resolver error",
            LookupFailure::TooManyAddresses => {
                "the answer holds more addresses than a route may have targets (ROUTER_TARGETS_PER_ROUTE)"
            }
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

/// `ip:port`, as routes' arrivals and reports name a target.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.ip, self.port)
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
    /// The route's name has answered NXDOMAIN for longer than the bound: the database was
    /// deleted or renamed, and its IPs may be given to another database.
    SourceGone,
    /// Another route's database answers this IP now and this route's own name does not: the
    /// address was handed to another database.
    IpReused,
    /// Kept only by the retention, and no RDS network interface holds the IP any more.
    NotLive,
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
    /// Another route's database answers this IP now: removed from (or not registered on) this
    /// route.
    IpReused {
        /// The address.
        ip: IpAddr,
        /// The routes whose databases answer it now.
        routes: Vec<String>,
    },
    /// No RDS network interface holds this retained IP: removed.
    NotLive {
        /// The address.
        ip: IpAddr,
    },
    /// The name has answered NXDOMAIN since `since` (epoch seconds) for longer than the bound:
    /// every target removed, the route waits for its name to resolve again.
    NameGone {
        /// First NXDOMAIN of the streak, epoch seconds.
        since: i64,
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
    /// First NXDOMAIN of the route's current streak (epoch seconds), as stored; `None` while
    /// the name answers.
    pub name_gone_since: Option<i64>,
    /// How long the name must keep answering NXDOMAIN before its targets go (seconds; the
    /// lookup that starts a streak never ends it, so at least two lookups are needed).
    pub gone_after_secs: i64,
    /// The RDS API confirms the NXDOMAIN: the database does not exist. The name is gone at
    /// once, without the bound (rule 1).
    pub gone_confirmed: bool,
    /// This route's id (its own claims are not rivals).
    pub route_id: &'a str,
    /// What every route's database answers now (rule 10); `None` when the caller does not
    /// know (a route being created): nothing is taken, and [`PlanInput::ceded`] is kept.
    pub claims: Option<&'a Claims>,
    /// IPs the route gave up before (rule 10), with when (epoch seconds), as stored.
    pub ceded: &'a BTreeMap<IpAddr, i64>,
    /// IPs the route holds by its retention that no RDS network interface holds (rule 11;
    /// [`crate::reconcile::observe::liveness`]); empty when not checked.
    pub not_live: &'a BTreeSet<IpAddr>,
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
    /// First NXDOMAIN of the current streak after these lookups (epoch seconds), to store;
    /// `None` once the name answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_gone_since: Option<i64>,
    /// The name stayed gone past the bound: every target is removed and the route is
    /// `source_gone` until its name resolves again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub name_gone: bool,
    /// IPs the route has given up (rule 10) and that another route's database still answers,
    /// with when (epoch seconds), to store: never registered again while it does, for at most
    /// [`crate::domain::claims::CEDED_FOR_SECS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ceded: BTreeMap<IpAddr, i64>,
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
        name_gone_since: input.name_gone_since,
        ceded: input
            .ceded
            .iter()
            .filter(|(_, at)| input.now - **at < CEDED_FOR_SECS)
            .map(|(ip, at)| (*ip, *at))
            .collect(),
        ..Plan::default()
    };
    let ceded: BTreeSet<IpAddr> = out.ceded.keys().copied().collect();
    let held: BTreeSet<IpAddr> = input.current.iter().map(|t| t.ip).collect();
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
            for ip in &held {
                out.ceded.entry(*ip).or_insert(input.now);
            }
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
    // Rule 10: what another route's database answers now is not this route's. A failed
    // lookup (timeout, SERVFAIL) still vouches for the newest answer remembered; NXDOMAIN for
    // nothing, and only then (or when the source went) does the route cede what it gives up.
    let newest: BTreeSet<IpAddr> = match input.lookups.last() {
        Some(Lookup::Answer(ips)) => ips.clone(),
        _ => BTreeSet::new(),
    };
    let nxdomain = matches!(
        input.lookups.last(),
        Some(Lookup::Failed(LookupFailure::NxDomain))
    );
    let vouched = match input.lookups.last() {
        Some(Lookup::Failed(f)) if *f != LookupFailure::NxDomain => input.sightings.newest(),
        _ => newest.clone(),
    };
    let mut lost = BTreeMap::new();
    if let Some(claims) = input.claims {
        let own_now = answers_now(&out.sightings, &vouched, input.retention);
        let candidates: BTreeSet<IpAddr> = out
            .sightings
            .ips()
            .into_iter()
            .chain(held.iter().copied())
            .chain(ceded.iter().copied())
            .collect();
        lost = taken(claims, input.route_id, candidates, &own_now, &ceded);
        out.ceded.retain(|ip, _| lost.contains_key(ip));
        for (ip, routes) in &lost {
            let here = held.contains(ip) || out.sightings.ips().contains(ip);
            out.sightings.forget(*ip);
            if here {
                if nxdomain {
                    out.ceded.entry(*ip).or_insert(input.now);
                }
                out.notes.push(Note::IpReused {
                    ip: *ip,
                    routes: routes.clone(),
                });
            }
        }
    }
    // Rule 11: a retained IP no RDS network interface holds is no database's.
    let dead: BTreeSet<IpAddr> = input
        .not_live
        .iter()
        .filter(|ip| !newest.contains(ip) && !lost.contains_key(ip))
        .filter(|ip| held.contains(ip) || out.sightings.ips().contains(ip))
        .copied()
        .collect();
    for ip in &dead {
        out.sightings.forget(*ip);
        out.notes.push(Note::NotLive { ip: *ip });
    }
    // Why an IP leaves whatever the window, fail-static or rule 5 would keep (rules 10, 11,
    // 12: an address the deployment never publishes — outside the database CIDRs, or the
    // router's own).
    let forced = |ip: &IpAddr| {
        if lost.contains_key(ip) {
            Some(Reason::IpReused)
        } else if dead.contains(ip) {
            Some(Reason::NotLive)
        } else if input.policy.classify(*ip).is_err_and(|r| r.is_forbidden()) {
            Some(Reason::NotAllowed)
        } else {
            None
        }
    };
    let reused: Vec<Change> = input
        .current
        .iter()
        .filter_map(|t| {
            forced(&t.ip).map(|reason| Change {
                target: t.clone(),
                reason,
            })
        })
        .collect();

    match input.lookups.last() {
        Some(Lookup::Failed(LookupFailure::NxDomain)) => {
            let since = input.name_gone_since.unwrap_or(input.now);
            out.name_gone_since = Some(since);
            let bound_passed =
                input.name_gone_since.is_some() && input.now - since >= input.gone_after_secs;
            if bound_passed || input.gone_confirmed {
                out.name_gone = true;
                out.sightings.clear();
                for ip in &held {
                    out.ceded.entry(*ip).or_insert(input.now);
                }
                out.deregister = input
                    .current
                    .iter()
                    .map(|t| Change {
                        target: t.clone(),
                        reason: if lost.contains_key(&t.ip) {
                            Reason::IpReused
                        } else {
                            Reason::SourceGone
                        },
                    })
                    .collect();
                out.notes.push(Note::NameGone { since });
                return out;
            }
            out.notes.push(Note::LookupFailed {
                failure: LookupFailure::NxDomain,
            });
            out.deregister = reused;
            return out;
        }
        Some(Lookup::Failed(failure)) => {
            out.notes.push(Note::LookupFailed { failure: *failure });
            out.deregister = reused;
            return out;
        }
        Some(Lookup::Answer(_)) => out.name_gone_since = None,
        None => {}
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
            reason: forced(&t.ip).unwrap_or_else(|| {
                if input.policy.classify(t.ip).is_err() {
                    Reason::NotAllowed
                } else if desired_keys.iter().any(|(ip, _)| *ip == t.ip) {
                    Reason::WrongPort
                } else {
                    Reason::Stale
                }
            }),
        })
        .collect();

    let kept_after = current_keys.len() - out.deregister.len() + out.register.len();
    let forbidden = out
        .deregister
        .iter()
        .any(|c| forced(&c.target.ip).is_some());
    let gave_up = !lost.is_empty() || !dead.is_empty() || forbidden;
    if kept_after == 0 && !out.deregister.is_empty() && !gave_up {
        // Rule 5; never for a route that gave an IP up (rules 10, 11 and 12).
        out.notes.push(Note::KeptLastTargets {
            count: out.deregister.len(),
        });
        out.deregister.clear();
    }
    out
}

#[cfg(test)]
mod tests;
