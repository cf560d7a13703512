//! Following DNS after an event: events come before DNS (the 0015 note: "DNS propagation may
//! take a few minutes"), so for a `move` the handler polls the name with backoff until its
//! answer changes from the route's baseline or a deadline passes, then takes K answers; for a
//! deletion it confirms NXDOMAIN twice. Failed lookups never count as a change.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::adapters::dns::Resolve;
use crate::domain::host::{parse_rds_endpoint, RdsEndpointKind};
use crate::domain::plan::{Lookup, LookupFailure};
use crate::domain::route::Route;

/// First DNS poll interval; doubles up to [`POLL_MAX`].
pub const POLL_START: Duration = Duration::from_millis(100);
/// Longest DNS poll interval.
pub const POLL_MAX: Duration = Duration::from_secs(1);
/// Pause between the K confirmatory lookups once the answer changed. Short, because the window
/// (not the pause) is what protects targets: an old IP answered again is simply kept.
pub const CONFIRM_SPACING: Duration = Duration::from_millis(50);

/// True when `host` answers NXDOMAIN twice in a row before `deadline` (polled like
/// [`wait_for_change`]): the database's own name is gone.
pub(super) async fn nxdomain_confirmed(dns: &dyn Resolve, host: &str, deadline: Instant) -> bool {
    let mut pause = POLL_START;
    let mut in_a_row = 0;
    loop {
        if dns.lookup(host).await == Lookup::Failed(LookupFailure::NxDomain) {
            in_a_row += 1;
            if in_a_row >= 2 {
                return true;
            }
        } else {
            in_a_row = 0;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// The answer a change is measured against. Whole-answer names (instance, cluster or global
/// writer, proxy: every address in each answer) changed when the answer differs from the newest one
/// seen; round-robin names (reader, custom, or unknown) only when an IP outside the whole
/// window appears.
pub(super) fn baseline(route: &Route) -> Baseline {
    let single = parse_rds_endpoint(route.spec.host.as_str()).is_some_and(|e| {
        e.kind.is_proxy()
            || matches!(
                e.kind,
                RdsEndpointKind::Instance
                    | RdsEndpointKind::ClusterWriter
                    | RdsEndpointKind::GlobalWriter
            )
    });
    if single {
        Baseline::Newest(route.sightings.newest())
    } else {
        Baseline::Window(route.sightings.ips())
    }
}

/// What "the DNS answer changed" is measured against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Baseline {
    /// The newest answer (single-answer names).
    Newest(BTreeSet<IpAddr>),
    /// Every IP in the window (round-robin names).
    Window(BTreeSet<IpAddr>),
}

impl Baseline {
    pub(super) fn changed_by(&self, answer: &BTreeSet<IpAddr>) -> bool {
        match self {
            Baseline::Newest(newest) => answer != newest,
            Baseline::Window(seen) => seen.is_empty() || !answer.is_subset(seen),
        }
    }
}

pub(super) struct Wait {
    pub(super) changed: bool,
    pub(super) polls: u32,
    pub(super) waited_ms: u64,
    pub(super) last: Lookup,
}

/// Polls `host` (100 ms, doubling to 1 s) until a successful answer differs from `baseline`
/// or `deadline` passes. Failed lookups never count as a change.
pub(super) async fn wait_for_change(
    dns: &dyn Resolve,
    host: &str,
    baseline: &Baseline,
    deadline: Instant,
) -> Wait {
    let started = Instant::now();
    let mut pause = POLL_START;
    let mut polls = 0;
    loop {
        let lookup = dns.lookup(host).await;
        polls += 1;
        let changed = matches!(&lookup, Lookup::Answer(ips) if baseline.changed_by(ips));
        let now = Instant::now();
        if changed || now >= deadline {
            return Wait {
                changed,
                polls,
                waited_ms: started.elapsed().as_millis() as u64,
                last: lookup,
            };
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// Collects `k` successful answers (starting with `first` when it is one), [`CONFIRM_SPACING`]
/// apart, giving up after `2k + 1` lookups. When none succeeds, returns the last failure so the
/// planner records it and changes nothing.
pub(super) async fn confirm(
    dns: &dyn Resolve,
    host: &str,
    first: Option<Lookup>,
    k: u32,
) -> Vec<Lookup> {
    let k = k.max(1) as usize;
    let mut answers = Vec::with_capacity(k);
    let mut last_failure = None;
    let mut attempts = 0;
    let mut next = first;
    loop {
        let lookup = match next.take() {
            Some(l) => l,
            None => {
                attempts += 1;
                dns.lookup(host).await
            }
        };
        match lookup {
            Lookup::Answer(_) => answers.push(lookup),
            failure => last_failure = Some(failure),
        }
        if answers.len() >= k || attempts > 2 * k {
            break;
        }
        tokio::time::sleep(CONFIRM_SPACING).await;
    }
    if answers.is_empty() {
        answers.extend(last_failure);
    }
    answers
}

pub(super) fn describe(lookup: &Lookup) -> String {
    match lookup {
        Lookup::Answer(ips) => ips
            .iter()
            .map(IpAddr::to_string)
            .collect::<Vec<_>>()
            .join(","),
        Lookup::Failed(f) => format!(
            "failed:{}",
            serde_json::to_value(f)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
    }
}
