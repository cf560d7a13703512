use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::domain::claims::{answers_now, Claims};
use crate::domain::window::Retention;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn policy() -> AddressPolicy {
    AddressPolicy {
        subnets: vec!["10.0.1.0/24".parse().unwrap()],
        vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
        ..Default::default()
    }
}

fn answer(ips: &[&str]) -> Lookup {
    Lookup::from_ips(ips.iter().map(|s| ip(s)))
}

fn target(s: &str, port: u16) -> Target {
    Target {
        ip: ip(s),
        port,
        availability_zone: None,
    }
}

fn run(intent: Intent, lookups: &[Lookup], sightings: &Sightings, current: &[Target]) -> Plan {
    run_with(&policy(), intent, lookups, sightings, current)
}

/// [`run`] under another address policy.
fn run_with(
    policy: &AddressPolicy,
    intent: Intent,
    lookups: &[Lookup],
    sightings: &Sightings,
    current: &[Target],
) -> Plan {
    plan(&PlanInput {
        intent,
        lookups,
        sightings,
        current,
        port: 5432,
        policy,
        retention: Retention::Lookups(3),
        now: 0,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    })
}

/// Applies a plan to a target list the way ELBv2 would.
fn applied(current: &[Target], p: &Plan) -> Vec<Target> {
    let gone: BTreeSet<(IpAddr, u16)> = p.deregister.iter().map(|c| c.target.key()).collect();
    let mut out: Vec<Target> = current
        .iter()
        .filter(|t| !gone.contains(&t.key()))
        .cloned()
        .collect();
    out.extend(p.register.iter().map(|c| c.target.clone()));
    out
}

#[test]
fn first_answer_registers_its_ips_with_all_zones_outside_subnets() {
    let p = run(
        Intent::Follow,
        &[answer(&["10.1.2.3", "10.0.1.7"])],
        &Sightings::default(),
        &[],
    );
    let regs: Vec<(IpAddr, Option<&str>)> = p
        .register
        .iter()
        .map(|c| (c.target.ip, c.target.availability_zone.as_deref()))
        .collect();
    assert_eq!(
        regs,
        vec![(ip("10.0.1.7"), None), (ip("10.1.2.3"), Some("all"))]
    );
    assert!(p.deregister.is_empty());
}

#[test]
fn failed_lookup_never_removes_targets() {
    for failure in [
        LookupFailure::Timeout,
        LookupFailure::ServFail,
        LookupFailure::NxDomain,
        LookupFailure::Empty,
    ] {
        let mut s = Sightings::default();
        s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
        let p = run(
            Intent::Follow,
            &[Lookup::Failed(failure)],
            &s,
            &[target("10.1.2.3", 5432)],
        );
        assert!(p.is_noop());
        assert_eq!(p.notes, vec![Note::LookupFailed { failure }]);
        assert_eq!(p.sightings, s, "a failure is not a successful lookup");
    }
}

#[test]
fn flipped_record_registers_new_ip_and_keeps_old_until_window_passes() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    let current = vec![target("10.1.2.3", 5432)];
    let p = run(Intent::Follow, &[answer(&["10.1.9.9"])], &s, &current);
    assert_eq!(p.register.len(), 1);
    assert_eq!(p.register[0].target.ip, ip("10.1.9.9"));
    assert!(p.deregister.is_empty(), "old IP still in the window");
    assert!(p
        .notes
        .iter()
        .any(|n| matches!(n, Note::KeptInWindow { .. })));

    let current = applied(&current, &p);
    let p2 = run(
        Intent::Follow,
        &[answer(&["10.1.9.9"]), answer(&["10.1.9.9"])],
        &p.sightings,
        &current,
    );
    assert!(p2.register.is_empty());
    assert_eq!(p2.deregister.len(), 1);
    assert_eq!(p2.deregister[0].target.ip, ip("10.1.2.3"));
    assert_eq!(p2.deregister[0].reason, Reason::Stale);
}

#[test]
fn source_deleted_removes_every_target_at_once() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    let current = vec![target("10.1.2.3", 5432), target("10.1.2.4", 5432)];
    let p = run(
        Intent::SourceDeleted,
        &[answer(&["10.1.2.3"])],
        &s,
        &current,
    );
    assert_eq!(p.deregister.len(), 2);
    assert!(p
        .deregister
        .iter()
        .all(|c| c.reason == Reason::SourceDeleted));
    assert!(p.register.is_empty());
    assert!(p.sightings.is_empty());
}

#[test]
fn public_answer_is_refused_and_last_targets_are_kept() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(1));
    let current = vec![target("10.1.2.3", 5432)];
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[answer(&["54.1.2.3"])],
        sightings: &s,
        current: &current,
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(1),
        now: 0,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    });
    assert!(p.register.is_empty());
    assert!(p.deregister.is_empty());
    assert!(p.notes.contains(&Note::Refused {
        ip: ip("54.1.2.3"),
        why: Refusal::NotPrivate
    }));
    assert!(p.notes.contains(&Note::KeptLastTargets { count: 1 }));
}

/// Rule 12: an address outside the database CIDRs, or the router's own, is never registered
/// and leaves at once, even as the route's last target and while the lookup fails.
#[test]
fn an_address_the_deployment_never_publishes_leaves_even_as_the_last_target() {
    let strict = AddressPolicy {
        database_cidrs: vec!["10.1.0.0/16".parse().unwrap()],
        router_addresses: ["10.1.9.9".parse().unwrap()].into(),
        ..policy()
    };
    let mut s = Sightings::default();
    s.record(&[ip("10.20.30.40")].into(), 0, Retention::Lookups(3));
    for (lookup, registered) in [
        (answer(&["10.20.30.40"]), "10.20.30.40"),
        (Lookup::Failed(LookupFailure::Timeout), "10.20.30.40"),
        (answer(&["10.1.9.9"]), "10.1.9.9"),
    ] {
        let current = vec![target(registered, 5432)];
        let p = run_with(
            &strict,
            Intent::Follow,
            std::slice::from_ref(&lookup),
            &s,
            &current,
        );
        assert!(p.register.is_empty(), "{lookup:?}: {p:?}");
        let gone: Vec<(String, Reason)> = p
            .deregister
            .iter()
            .map(|c| (c.target.ip.to_string(), c.reason))
            .collect();
        assert_eq!(
            gone,
            vec![(registered.to_owned(), Reason::NotAllowed)],
            "{lookup:?}"
        );
        assert!(!p
            .notes
            .iter()
            .any(|n| matches!(n, Note::KeptLastTargets { .. })));
    }
}

#[test]
fn target_on_the_wrong_port_is_replaced() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    let current = vec![target("10.1.2.3", 9999)];
    let p = run(Intent::Follow, &[answer(&["10.1.2.3"])], &s, &current);
    assert_eq!(p.register[0].target.port, 5432);
    assert_eq!(p.deregister[0].reason, Reason::WrongPort);
    assert_eq!(
        p.deregister[0].target.port, 9999,
        "deregister exactly what is registered"
    );
}

#[test]
fn stranger_target_is_removed_when_dns_agrees_on_others() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    let current = vec![
        target("10.1.2.3", 5432),
        target("10.66.6.6", 5432),
        target("54.0.0.1", 5432),
    ];
    let p = run(Intent::Follow, &[answer(&["10.1.2.3"])], &s, &current);
    let reasons: Vec<Reason> = p.deregister.iter().map(|c| c.reason).collect();
    assert_eq!(reasons, vec![Reason::Stale, Reason::NotAllowed]);
}

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u8..4).prop_map(|o| IpAddr::V4(Ipv4Addr::new(10, 1, 0, o))),
        (0u8..3).prop_map(|o| IpAddr::V4(Ipv4Addr::new(10, 0, 1, o))),
        (0u8..2).prop_map(|o| IpAddr::V4(Ipv4Addr::new(100, 64, 0, o))),
        (0u8..2).prop_map(|o| IpAddr::V4(Ipv4Addr::new(54, 0, 0, o))),
    ]
}

fn arb_lookup() -> impl Strategy<Value = Lookup> {
    prop_oneof![
        3 => proptest::collection::btree_set(arb_ip(), 1..4).prop_map(Lookup::Answer),
        1 => prop_oneof![
            Just(LookupFailure::Timeout),
            Just(LookupFailure::ServFail),
            Just(LookupFailure::NxDomain),
            Just(LookupFailure::Empty)
        ].prop_map(Lookup::Failed),
    ]
}

fn arb_targets() -> impl Strategy<Value = Vec<Target>> {
    proptest::collection::vec(
        (
            arb_ip(),
            prop_oneof![Just(5432u16), Just(3306u16)],
            proptest::option::of(Just(ALL_ZONES.to_owned())),
        )
            .prop_map(|(ip, port, availability_zone)| Target {
                ip,
                port,
                availability_zone,
            }),
        0..5,
    )
    .prop_map(|mut v| {
        v.sort();
        v.dedup_by_key(|t| t.key());
        v
    })
}

fn arb_history() -> impl Strategy<Value = (Vec<Lookup>, Vec<Lookup>)> {
    (
        proptest::collection::vec(arb_lookup(), 0..8),
        proptest::collection::vec(arb_lookup(), 0..3),
    )
}

fn sightings_from(history: &[Lookup], k: u32) -> Sightings {
    let mut s = Sightings::default();
    for l in history {
        if let Lookup::Answer(ips) = l {
            let ok = ips
                .iter()
                .copied()
                .filter(|i| policy().classify(*i).is_ok())
                .collect();
            s.record(&ok, 0, Retention::Lookups(k));
        }
    }
    s
}

proptest! {
    #[test]
    fn prop_failed_newest_lookup_changes_no_target(
        (history, mut new) in arb_history(), current in arb_targets(), failure in arb_lookup(), k in 1u32..5,
    ) {
        prop_assume!(matches!(failure, Lookup::Failed(_)));
        new.push(failure);
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        prop_assert!(p.is_noop());
        let is_failure_note = |n: &Note| matches!(n, Note::LookupFailed { .. });
        prop_assert!(p.notes.iter().any(is_failure_note));
    }

    #[test]
    fn prop_follow_never_leaves_a_route_without_targets(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        if !current.is_empty() {
            prop_assert!(!applied(&current, &p).is_empty());
        }
    }

    #[test]
    fn prop_stale_ips_were_absent_from_the_last_k_successful_lookups(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        let successes: Vec<&BTreeSet<IpAddr>> = history.iter().chain(new.iter())
            .filter_map(|l| match l { Lookup::Answer(ips) => Some(ips), _ => None }).collect();
        let recent: BTreeSet<IpAddr> = successes.iter().rev().take(k as usize).flat_map(|s| s.iter().copied()).collect();
        for c in &p.deregister {
            if c.reason == Reason::Stale {
                prop_assert!(!recent.contains(&c.target.ip), "{} removed while in window", c.target.ip);
            }
        }
    }

    #[test]
    fn prop_new_ips_are_registered_in_the_same_plan_that_removes_stale_ones(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        if !matches!(new.last(), Some(Lookup::Failed(_))) {
            // Every allowed IP of the window ends up registered on the database port.
            let after: BTreeSet<(IpAddr, u16)> = applied(&current, &p).iter().map(Target::key).collect();
            for ip in p.sightings.ips() {
                prop_assert!(after.contains(&(ip, 5432)));
            }
        }
    }

    #[test]
    fn prop_deletion_intents_remove_exactly_the_registered_targets(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5, route_deleted in any::<bool>(),
    ) {
        let s = sightings_from(&history, k);
        let intent = if route_deleted { Intent::RouteDeleted } else { Intent::SourceDeleted };
        let p = plan(&PlanInput { intent, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        prop_assert!(p.register.is_empty());
        let removed: Vec<Target> = p.deregister.iter().map(|c| c.target.clone()).collect();
        prop_assert_eq!(removed, current);
    }

    #[test]
    fn prop_only_allowed_addresses_are_registered_with_the_right_zone(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        for c in &p.register {
            let placement = policy().classify(c.target.ip);
            prop_assert!(placement.is_ok());
            let want = (placement == Ok(Placement::AllZones)).then(|| ALL_ZONES.to_owned());
            prop_assert_eq!(&c.target.availability_zone, &want);
            prop_assert_eq!(c.target.port, 5432);
        }
    }

    #[test]
    fn prop_deregistrations_echo_registered_targets_exactly(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        let s = sightings_from(&history, k);
        let p = plan(&PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() });
        for c in &p.deregister {
            prop_assert!(current.contains(&c.target));
        }
    }

    #[test]
    fn prop_planning_over_the_applied_result_is_a_noop(
        (history, new) in arb_history(), current in arb_targets(), k in 1u32..5,
    ) {
        prop_assume!(!matches!(new.last(), Some(Lookup::Failed(_))));
        let s = sightings_from(&history, k);
        let input = PlanInput { intent: Intent::Follow, lookups: &new, sightings: &s, current: &current, port: 5432, policy: &policy(), retention: Retention::Lookups(k), now: 0, name_gone_since: None, gone_after_secs: 180, gone_confirmed: false, route_id: "r", claims: None, ceded: &BTreeMap::new(), not_live: &BTreeSet::new() };
        let p = plan(&input);
        let after = applied(&current, &p);
        let again = plan(&PlanInput { lookups: &[], sightings: &p.sightings, current: &after, ..input });
        prop_assert!(again.is_noop(), "{:?}", again);
    }
}

#[test]
fn failback_registers_the_draining_ip_again_and_lets_the_other_drain() {
    // 10.1.2.3 → 10.1.7.7 (first 0049), then back to 10.1.2.3 while it still drains.
    let mut s = Sightings::default();
    s.record(&[ip("10.1.7.7")].into(), 0, Retention::Lookups(3));
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[
            answer(&["10.1.2.3"]),
            answer(&["10.1.2.3"]),
            answer(&["10.1.2.3"]),
        ],
        sightings: &s,
        current: &[target("10.1.7.7", 5432)],
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(3),
        now: 2,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    });
    let regs: Vec<IpAddr> = p.register.iter().map(|c| c.target.ip).collect();
    let deregs: Vec<IpAddr> = p.deregister.iter().map(|c| c.target.ip).collect();
    assert_eq!(regs, vec![ip("10.1.2.3")], "draining is not registered");
    assert_eq!(deregs, vec![ip("10.1.7.7")]);
}

#[test]
fn draining_targets_never_count_as_the_last_target() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.7.7")].into(), 0, Retention::Lookups(1));
    // DNS answers only a public address: nothing may be registered, so the serving target stays
    // even though another one is draining.
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[answer(&["54.0.0.1"])],
        sightings: &s,
        current: &[target("10.1.7.7", 5432)],
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(1),
        now: 0,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    });
    assert!(p.deregister.is_empty(), "{p:?}");
}

/// A target group as ELBv2 keeps it: serving targets, and draining ones until their delay ends.
#[derive(Default, Debug)]
struct SimulatedGroup {
    serving: Vec<Target>,
    draining: Vec<Target>,
}

impl SimulatedGroup {
    fn apply(&mut self, p: &Plan) {
        for c in &p.register {
            self.draining.retain(|t| t.key() != c.target.key());
            if !self.serving.iter().any(|t| t.key() == c.target.key()) {
                self.serving.push(c.target.clone());
            }
        }
        for c in &p.deregister {
            self.serving.retain(|t| t.key() != c.target.key());
            self.draining.push(c.target.clone());
        }
    }
}

proptest! {
    /// After any sequence of answers, applies and drain expiries, whenever DNS has answered, every
    /// address of the newest successful answer is registered and not draining.
    #[test]
    fn prop_answered_ips_are_served_whatever_drains(
        steps in proptest::collection::vec((
            proptest::collection::vec(prop_oneof![
                3 => proptest::collection::btree_set(
                    (0u8..4).prop_map(|o| IpAddr::V4(Ipv4Addr::new(10, 1, 0, o))), 1..3,
                ).prop_map(Lookup::Answer),
                1 => Just(Lookup::Failed(LookupFailure::Timeout)),
            ], 1..4),
            any::<bool>(),
        ), 1..12),
        k in 1u32..4,
    ) {
        let mut group = SimulatedGroup::default();
        let mut sightings = Sightings::default();
        let mut newest: Option<BTreeSet<IpAddr>> = None;
        for (lookups, drain_ends) in &steps {
            if *drain_ends {
                group.draining.clear();
            }
            let p = plan(&PlanInput {
                intent: Intent::Follow,
                lookups,
                sightings: &sightings,
                current: &group.serving,
                port: 5432,
                policy: &policy(),
                retention: Retention::Lookups(k),
                now: 0,
                name_gone_since: None,
                gone_after_secs: 180,
                gone_confirmed: false,
                route_id: "r",
                claims: None,
                ceded: &BTreeMap::new(),
                not_live: &BTreeSet::new(),
            });
            group.apply(&p);
            sightings = p.sightings;
            if let Some(Lookup::Answer(ips)) = lookups.last() {
                newest = Some(ips.clone());
            }
            if let Some(ips) = &newest {
                for ip in ips {
                    prop_assert!(group.serving.iter().any(|t| t.ip == *ip), "{} not served: {:?}", ip, group);
                }
            }
        }
    }
}

/// One plan of a route holding 10.1.2.3 (K = 3), at `now`, with the stored NXDOMAIN streak.
fn at_streak(lookup: Lookup, now: i64, name_gone_since: Option<i64>) -> Plan {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[lookup],
        sightings: &s,
        current: &[target("10.1.2.3", 5432)],
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(3),
        now,
        name_gone_since,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    })
}

#[test]
fn nxdomain_changes_nothing_until_it_has_lasted_the_bound_then_every_target_goes() {
    let nx = || Lookup::Failed(LookupFailure::NxDomain);
    // The first NXDOMAIN starts the streak; even with a bound of 0 it never ends it.
    let first = at_streak(nx(), 1_000, None);
    assert!(first.is_noop() && !first.name_gone);
    assert_eq!(first.name_gone_since, Some(1_000));
    let within = at_streak(nx(), 1_179, Some(1_000));
    assert!(within.is_noop() && !within.name_gone);
    assert_eq!(within.name_gone_since, Some(1_000));
    let gone = at_streak(nx(), 1_180, Some(1_000));
    assert!(gone.name_gone);
    assert!(gone.sightings.is_empty());
    assert_eq!(gone.deregister.len(), 1, "even the last target goes");
    assert_eq!(gone.deregister[0].reason, Reason::SourceGone);
    assert!(gone.notes.contains(&Note::NameGone { since: 1_000 }));
}

#[test]
fn servfail_and_timeouts_never_end_a_name_and_an_answer_clears_the_streak() {
    for failure in [
        LookupFailure::ServFail,
        LookupFailure::Timeout,
        LookupFailure::Other,
    ] {
        let p = at_streak(Lookup::Failed(failure), 100_000, Some(0));
        assert!(p.is_noop() && !p.name_gone, "{failure:?}");
        assert_eq!(p.name_gone_since, Some(0), "neither ended nor reset");
    }
    let p = at_streak(answer(&["10.1.2.3"]), 100_000, Some(0));
    assert_eq!(p.name_gone_since, None);
}

/// One route as the invariant test keeps it between plans.
#[derive(Default, Debug)]
struct Simulated {
    targets: Vec<Target>,
    sightings: Sightings,
    ceded: BTreeMap<IpAddr, i64>,
    gone_since: Option<i64>,
    /// Successful answers so far, oldest first.
    answers: Vec<BTreeSet<IpAddr>>,
    /// When the current NXDOMAIN streak began and how many NXDOMAINs it holds.
    streak: Option<(i64, u32)>,
}

fn lookup_strategy() -> impl Strategy<Value = Lookup> {
    prop_oneof![
        4 => proptest::collection::btree_set(
            (0u8..4).prop_map(|o| IpAddr::V4(Ipv4Addr::new(10, 1, 0, o))), 1..3,
        ).prop_map(Lookup::Answer),
        2 => Just(Lookup::Failed(LookupFailure::NxDomain)),
        1 => Just(Lookup::Failed(LookupFailure::Timeout)),
    ]
}

proptest! {
    /// The router's promise, over two routes and any sequence of answers a minute apart
    /// (NXDOMAIN runs, timeouts, an IP moving from one database to the other): an IP another
    /// route's database answers now stays on a route only if its own name answers it now too
    /// (an alias); a route holds only IPs its name answered within its last K answers; a name
    /// NXDOMAIN for the bound (over two lookups at least) holds none.
    #[test]
    fn prop_a_port_never_leads_to_another_database(
        steps in proptest::collection::vec((lookup_strategy(), lookup_strategy()), 1..25),
        k in 1u32..4,
    ) {
        const BOUND: i64 = 180;
        let ids = ["a", "b"];
        let mut routes = [Simulated::default(), Simulated::default()];
        for (step, (la, lb)) in steps.iter().enumerate() {
            let now = step as i64 * 60;
            let lookups = [la.clone(), lb.clone()];
            let mut claims = Claims::default();
            let remembered: Vec<BTreeSet<IpAddr>> = routes.iter().map(|r| r.sightings.newest()).collect();
            for (i, r) in routes.iter().enumerate() {
                let newest = match &lookups[i] {
                    Lookup::Answer(ips) => ips.clone(),
                    Lookup::Failed(LookupFailure::NxDomain) => BTreeSet::new(),
                    Lookup::Failed(_) => remembered[i].clone(),
                };
                let mut now_ips = answers_now(&r.sightings, &newest, Retention::Lookups(k));
                now_ips.retain(|ip| !r.ceded.contains_key(ip));
                claims.add(ids[i], now_ips);
            }
            for (i, r) in routes.iter_mut().enumerate() {
                let p = plan(&PlanInput {
                    intent: Intent::Follow,
                    lookups: &lookups[i..=i],
                    sightings: &r.sightings,
                    current: &r.targets,
                    port: 5432,
                    policy: &policy(),
                    retention: Retention::Lookups(k),
                    now,
                    name_gone_since: r.gone_since,
                    gone_after_secs: BOUND,
                    gone_confirmed: false,
                    route_id: ids[i],
                    claims: Some(&claims),
                    ceded: &r.ceded,
                    not_live: &BTreeSet::new(),
                });
                r.targets = applied(&r.targets, &p);
                r.sightings = p.sightings;
                r.ceded = p.ceded;
                r.gone_since = p.name_gone_since;
                match &lookups[i] {
                    Lookup::Answer(ips) => { r.answers.push(ips.clone()); r.streak = None; }
                    Lookup::Failed(LookupFailure::NxDomain) => {
                        let (since, n) = r.streak.unwrap_or((now, 0));
                        r.streak = Some((since, n + 1));
                    }
                    Lookup::Failed(_) => {}
                }
            }
            for (i, r) in routes.iter().enumerate() {
                let own = match &lookups[i] {
                    Lookup::Answer(a) => a.clone(),
                    Lookup::Failed(LookupFailure::NxDomain) => BTreeSet::new(),
                    Lookup::Failed(_) => remembered[i].clone(),
                };
                for t in &r.targets {
                    let rivals = claims.others(t.ip, ids[i]);
                    prop_assert!(
                        rivals.is_empty() || (own.contains(&t.ip) && !r.ceded.contains_key(&t.ip)),
                        "step {}: {} stays on {} while {:?} answer it: {:?}", step, t.ip, ids[i], rivals, routes
                    );
                }
            }
            for (i, r) in routes.iter().enumerate() {
                let recent: BTreeSet<IpAddr> = r.answers.iter().rev().take(k as usize).flatten().copied().collect();
                for t in &r.targets {
                    prop_assert!(recent.contains(&t.ip), "step {}: {} on {} not answered lately: {:?}", step, t.ip, ids[i], r);
                }
                if let (Some((since, n)), Lookup::Failed(LookupFailure::NxDomain)) = (r.streak, &lookups[i]) {
                    if n >= 2 && now - since >= BOUND {
                        prop_assert!(r.targets.is_empty(), "step {}: {} gone since {} still holds {:?}", step, ids[i], since, r.targets);
                    }
                }
            }
        }
    }
}

/// Found by a review: an alias whose lookup times out once must keep the IP its RDS name
/// answers (a timeout vouches for the newest answer remembered), and cede nothing.
#[test]
fn an_alias_that_times_out_keeps_the_ip_its_rds_name_answers() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.0.5")].into(), 0, Retention::Lookups(3));
    let mut claims = Claims::default();
    claims.add("rds-name", [ip("10.1.0.5")]);
    let current = [target("10.1.0.5", 5432)];
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[Lookup::Failed(LookupFailure::Timeout)],
        sightings: &s,
        current: &current,
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(3),
        now: 60,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "alias",
        claims: Some(&claims),
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    });
    assert!(p.is_noop(), "{p:?}");
    assert!(p.ceded.is_empty());
}

/// Rule 11: a reader kept only by the retention whose IP no RDS interface holds leaves at once,
/// even as the last target it would otherwise keep; one the name answers never does.
#[test]
fn a_retained_ip_no_rds_interface_holds_leaves_at_once() {
    let time = Retention::Time {
        lookups: 3,
        absent_secs: 7_200,
        ttl_secs: 5,
    };
    let mut s = Sightings::default();
    for (at, o) in [
        (0, "10.1.0.21"),
        (60, "10.1.0.22"),
        (120, "10.1.0.22"),
        (180, "10.1.0.22"),
    ] {
        s.record(&[ip(o)].into(), at, time);
    }
    let current = [target("10.1.0.21", 5432), target("10.1.0.22", 5432)];
    let dead: BTreeSet<IpAddr> = [ip("10.1.0.21"), ip("10.1.0.22")].into();
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[answer(&["10.1.0.22"])],
        sightings: &s,
        current: &current,
        port: 5432,
        policy: &policy(),
        retention: time,
        now: 240,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: false,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &dead,
    });
    let gone: Vec<(IpAddr, Reason)> = p
        .deregister
        .iter()
        .map(|c| (c.target.ip, c.reason))
        .collect();
    assert_eq!(
        gone,
        [(ip("10.1.0.21"), Reason::NotLive)],
        "the answered .22 stays"
    );
    assert_eq!(p.sightings.ips(), [ip("10.1.0.22")].into());
}

/// Found by a review: an alias whose record is gone for one lookup (a Terraform replace) loses
/// the IP its twin route's RDS name answers, and its answer of that IP is taken for a stale one
/// — but only for `CEDED_FOR_SECS`: then the alias gets its IP back.
#[test]
fn a_ceded_ip_comes_back_to_a_name_that_still_answers_it_after_the_ceding_period() {
    let mut claims = Claims::default();
    claims.add("rds-name", [ip("10.1.0.5")]);
    let step = |lookup: Lookup,
                now: i64,
                s: &Sightings,
                current: &[Target],
                ceded: &BTreeMap<IpAddr, i64>| {
        plan(&PlanInput {
            intent: Intent::Follow,
            lookups: &[lookup],
            sightings: s,
            current,
            port: 5432,
            policy: &policy(),
            retention: Retention::Lookups(3),
            now,
            name_gone_since: None,
            gone_after_secs: 180,
            gone_confirmed: false,
            route_id: "alias",
            claims: Some(&claims),
            ceded,
            not_live: &BTreeSet::new(),
        })
    };
    let mut s = Sightings::default();
    s.record(&[ip("10.1.0.5")].into(), 0, Retention::Lookups(3));
    let held = vec![target("10.1.0.5", 5432)];
    let nx = step(
        Lookup::Failed(LookupFailure::NxDomain),
        0,
        &s,
        &held,
        &BTreeMap::new(),
    );
    assert_eq!(nx.deregister.len(), 1, "NXDOMAIN vouches for nothing");
    assert_eq!(nx.ceded.get(&ip("10.1.0.5")), Some(&0));
    let soon = step(answer(&["10.1.0.5"]), 60, &nx.sightings, &[], &nx.ceded);
    assert!(soon.register.is_empty(), "a stale answer while ceded");
    let later = step(
        answer(&["10.1.0.5"]),
        crate::domain::claims::CEDED_FOR_SECS,
        &soon.sightings,
        &[],
        &soon.ceded,
    );
    assert_eq!(later.register.len(), 1, "{later:?}");
    assert!(later.ceded.is_empty());
}

#[test]
fn an_nxdomain_the_rds_api_confirms_ends_the_name_at_once() {
    let mut s = Sightings::default();
    s.record(&[ip("10.1.2.3")].into(), 0, Retention::Lookups(3));
    let p = plan(&PlanInput {
        intent: Intent::Follow,
        lookups: &[Lookup::Failed(LookupFailure::NxDomain)],
        sightings: &s,
        current: &[target("10.1.2.3", 5432)],
        port: 5432,
        policy: &policy(),
        retention: Retention::Lookups(3),
        now: 1_000,
        name_gone_since: None,
        gone_after_secs: 180,
        gone_confirmed: true,
        route_id: "r",
        claims: None,
        ceded: &BTreeMap::new(),
        not_live: &BTreeSet::new(),
    });
    assert!(p.name_gone, "{p:?}");
    assert_eq!(p.deregister.len(), 1);
}
