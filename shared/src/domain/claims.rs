//! Which route's database answers an IP now: the cross-route half of target identity.
//!
//! An IP is a database's only while an authority says so — a fresh answer of the route's own
//! name, or the RDS API's members. Windows, retention and fail-static keep an IP a lookup
//! missed; they never keep it against another route whose database answers it now (RDS handed
//! a deleted database's address to another one). [`Claims`] holds, per IP, the routes whose
//! databases answer it now; the planner ([`crate::domain::plan`], rule 10) removes a claimed
//! IP from every other route whose own name does not answer it too, in the same run.
//!
//! "Answers now" ([`answers_now`]): the newest answer, for names that answer every address at
//! once (instance, writer, proxy, the RDS API's complete member list); for Aurora reader and
//! custom endpoints followed by DNS (one reader per query), every IP of the window: a live
//! reader may go unanswered for a long time (see [`crate::domain::window`]), so the window is
//! the route's claim. (A reader that left and whose IP went to another routed database then
//! stays on both until the retention ends: bounding that needs the liveness check of issue
//! #27, not done yet.) A lookup that failed (timeout, SERVFAIL) vouches for the newest answer
//! remembered; NXDOMAIN vouches for nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::domain::window::{Retention, Sightings};

/// How long a route keeps an IP it ceded (seconds): while another route's database answers it,
/// this route's own name answering it again is taken for a stale answer — a resolver's cache,
/// or a deleted database's name — and the IP is not registered. RDS records live 5 s and the
/// RDS guide allows "a few minutes" for DNS to follow a failover (RDS-EVENT-0015), so an answer
/// older than 10 minutes is no cache: after that, a name that still answers the IP is taken
/// at its word (an alias whose record was briefly gone gets its IP back).
pub const CEDED_FOR_SECS: i64 = 600;

/// Per IP, the ids of the routes whose databases answer it now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims(BTreeMap<IpAddr, BTreeSet<String>>);

impl Claims {
    /// Records that `route`'s database answers `ips` now.
    pub fn add(&mut self, route: &str, ips: impl IntoIterator<Item = IpAddr>) {
        for ip in ips {
            self.0.entry(ip).or_default().insert(route.to_owned());
        }
    }

    /// The routes other than `route` whose databases answer `ip` now, in id order.
    pub fn others(&self, ip: IpAddr, route: &str) -> Vec<String> {
        self.0
            .get(&ip)
            .map(|routes| routes.iter().filter(|r| *r != route).cloned().collect())
            .unwrap_or_default()
    }

    /// True when no route claims anything (nothing to compare with).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The IPs among `candidates` (what a route holds: its window and its targets) that the route
/// must give up now, each with the other routes whose databases answer it: claimed by another
/// route, and either not answered by this route's own name now (`own_now`) or given up by it
/// before (`ceded`: an answer of its name that brings an address back after another database
/// took it is stale — a deleted database's name, a resolver's old answer). Two routes whose
/// names both answer an IP now (an alias and its RDS name) both keep it.
pub fn taken(
    claims: &Claims,
    route: &str,
    candidates: impl IntoIterator<Item = IpAddr>,
    own_now: &BTreeSet<IpAddr>,
    ceded: &BTreeSet<IpAddr>,
) -> BTreeMap<IpAddr, Vec<String>> {
    candidates
        .into_iter()
        .filter(|ip| ceded.contains(ip) || !own_now.contains(ip))
        .filter_map(|ip| {
            let others = claims.others(ip, route);
            (!others.is_empty()).then_some((ip, others))
        })
        .collect()
}

/// The IPs a route's database answers now (see the module documentation): `newest` is the
/// newest successful answer (empty when the lookup failed), `sightings` the window after it.
pub fn answers_now(
    sightings: &Sightings,
    newest: &BTreeSet<IpAddr>,
    retention: Retention,
) -> BTreeSet<IpAddr> {
    let mut now = newest.clone();
    if matches!(retention, Retention::Time { .. }) && !newest.is_empty() {
        now.extend(sightings.ips());
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(o: u8) -> IpAddr {
        IpAddr::from([10, 0, 1, o])
    }

    #[test]
    fn a_route_is_never_its_own_rival() {
        let mut c = Claims::default();
        c.add("orders", [ip(90)]);
        c.add("reports", [ip(90), ip(91)]);
        assert_eq!(c.others(ip(90), "orders"), ["reports"]);
        assert_eq!(c.others(ip(91), "reports"), Vec::<String>::new());
        assert!(c.others(ip(92), "orders").is_empty());
    }

    #[test]
    fn an_ip_another_database_answers_is_taken_unless_this_name_answers_it_too() {
        let mut c = Claims::default();
        c.add("reports", [ip(90), ip(93)]);
        let none = BTreeSet::new();
        let held = [ip(90), ip(91), ip(93)];
        let own: BTreeSet<IpAddr> = [ip(93)].into();
        let t = taken(&c, "orders", held, &own, &none);
        assert_eq!(
            t.keys().copied().collect::<Vec<_>>(),
            [ip(90)],
            "alias .93 kept"
        );
        assert_eq!(t[&ip(90)], ["reports"]);
        let ceded: BTreeSet<IpAddr> = [ip(93)].into();
        let t = taken(&c, "orders", held, &own, &ceded);
        assert_eq!(t.len(), 2, "a ceded IP answered again is stale");
    }

    #[test]
    fn a_reader_endpoint_vouches_for_its_whole_window() {
        let time = Retention::Time {
            lookups: 3,
            absent_secs: 7_200,
            ttl_secs: 5,
        };
        let mut s = Sightings::default();
        for (at, o) in [(0, 1), (60, 2), (120, 3), (180, 3), (240, 3)] {
            s.record(&[ip(o)].into(), at, time);
        }
        assert_eq!(
            answers_now(&s, &[ip(3)].into(), time),
            [ip(1), ip(2), ip(3)].into()
        );
        assert!(answers_now(&s, &BTreeSet::new(), time).is_empty());
        assert_eq!(
            answers_now(&s, &[ip(3)].into(), Retention::Lookups(3)),
            [ip(3)].into()
        );
    }
}
