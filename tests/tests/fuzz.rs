//! Fuzz-style property tests (proptest, bounded cases, so CI time stays in seconds) for input
//! the router does not control, plus a replay of the committed corpus in `tests/fuzz-corpus/`
//! (seeds and every crash found, kept as regression inputs).
//!
//! Already covered next to the code, so not repeated here: host names never panic and only
//! valid syntax is accepted (`host.rs`); every string maps to a valid, deterministic target
//! group name and distinct route ids to distinct names (`route.rs`); API request bodies and
//! paths (`routes_api.rs`, random requests). Added here:
//! - EventBridge event JSON into `events::RdsEvent::parse`, `action` and `identifiers`:
//!   arbitrary JSON, and the sample events with fields replaced by arbitrary values or removed,
//!   Blue/Green messages with arbitrary Unicode — never a panic; parsed identifiers are
//!   lowercase and non-empty, Blue/Green ones valid RDS identifiers;
//! - a random event through the whole handler (moto, DNS): never a panic, never an error, no
//!   target changes for an event that names no route;
//! - RDS host names generated for every endpoint kind, any case, with or without the trailing
//!   dot, `.com` or `.com.cn`: parsed back to the same identifier, kind and region, and that
//!   identifier is the key an RDS event about the database is matched on; look-alike names
//!   under another domain are not RDS endpoints;
//! - target group names of different routers never collide for one route, and never start
//!   with `internal-`.
//!
//! `FUZZ_CASES=N` raises the number of cases per property (default 256; 24 end to end).

use std::collections::BTreeSet;
use std::path::PathBuf;

use privatelink_router::domain::host::{parse_rds_endpoint, HostName, RdsEndpointKind};
use privatelink_router::domain::route::target_group_name;
use privatelink_router::flows::events::RdsEvent;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use router_tests::fixtures::Bed;
use serde_json::{json, Map, Value};

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        // The corpus in tests/fuzz-corpus/ is the regression store, not proptest's files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn corpus(dir: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-corpus")
        .join(dir)
}

fn samples() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut out: Vec<Value> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_str()?.to_owned();
            (name.starts_with("rds-") && name.ends_with(".json"))
                .then(|| serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok())?
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    out
}

/// RDS identifier rules (CreateDBInstance/CreateDBCluster): 1-63 letters, digits, hyphens,
/// starting with a letter, no trailing hyphen, no two hyphens in a row.
fn valid_rds_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The properties every event must satisfy, whatever its shape.
fn check_event(raw: &Value) -> Result<(), TestCaseError> {
    let Ok(event) = RdsEvent::parse(raw) else {
        return Ok(());
    };
    prop_assert!(!event.source_identifier.is_empty());
    prop_assert_eq!(
        event.source_identifier.clone(),
        event.source_identifier.to_ascii_lowercase()
    );
    let _ = event.action();
    let ids = event.identifiers();
    if event.is_blue_green() {
        for id in &ids {
            prop_assert!(valid_rds_identifier(id), "{id:?} from {event:?}");
        }
    } else {
        // The source, and for a cluster rename (RDS-EVENT-0172) the two names in its message.
        let mut want = BTreeSet::from([event.source_identifier.clone()]);
        if let Some((from, to)) = event.cluster_renamed() {
            prop_assert!(valid_rds_identifier(&from) && valid_rds_identifier(&to));
            want.extend([from, to]);
        }
        prop_assert_eq!(ids, want);
    }
    Ok(())
}

fn arb_key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "version", "id", "detail-type", "source", "account", "time", "region", "resources",
            "detail", "EventID", "SourceIdentifier", "SourceType", "SourceArn", "Date",
            "Message", "EventCategories",
        ])
        .prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
    .boxed()
}

fn arb_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        proptest::sample::select(vec![
            "aws.rds",
            "RDS-EVENT-0049",
            "RDS-EVENT-0251",
            "RDS-EVENT-",
            "RDS Blue Green Deployment Event",
            "RDS DB Instance Event",
            "123456789012",
            "2026-11-25T10:00:41.518Z",
            "arn:aws:rds:us-east-1:123456789012:db:orders-db",
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 48, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(arb_key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

/// Messages shaped like Blue/Green ones with arbitrary (often non-ASCII) words.
fn arb_message() -> BoxedStrategy<String> {
    let word = prop_oneof![
        "[a-z][a-z0-9-]{0,20}",
        ".{0,16}",
        "\\PC{0,12}",
        Just("arn:aws:rds:us-east-1:1:db:blue".to_owned()),
    ];
    (
        proptest::sample::select(vec![
            "Switchover from ",
            "switchover from DB cluster ",
            "Switchover from primary/read replica ",
            "Renamed ",
            "",
        ]),
        proptest::collection::vec(
            prop_oneof![
                word,
                Just(" to ".to_owned()),
                Just(" and ".to_owned()),
                Just(" ".to_owned()),
            ],
            0..10,
        ),
    )
        .prop_map(|(head, words)| format!("{head}{}", words.concat()))
        .boxed()
}

/// A sample event with one mutation: a field replaced by an arbitrary value, removed, or the
/// message replaced.
fn arb_mutated_event() -> BoxedStrategy<Value> {
    let samples = samples();
    assert!(!samples.is_empty(), "no samples in events/");
    (
        proptest::sample::select(samples),
        0..3usize,
        arb_key(),
        arb_json(),
        arb_message(),
        any::<bool>(),
    )
        .prop_map(|(mut ev, how, key, value, message, in_detail)| {
            let target = if in_detail && ev.get("detail").is_some_and(Value::is_object) {
                ev.get_mut("detail").unwrap()
            } else {
                &mut ev
            };
            if let Value::Object(map) = target {
                match how {
                    0 => {
                        map.insert(key, value);
                    }
                    1 => {
                        map.remove(&key);
                    }
                    _ => {
                        map.insert("Message".into(), Value::String(message));
                    }
                }
            }
            ev
        })
        .boxed()
}

#[test]
fn arbitrary_json_never_panics_the_event_parser() {
    let mut runner = TestRunner::new(config(256));
    runner.run(&arb_json(), |v| check_event(&v)).unwrap();
}

#[test]
fn mutated_sample_events_parse_or_are_malformed_and_never_panic() {
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&arb_mutated_event(), |v| check_event(&v))
        .unwrap();
}

#[test]
fn blue_green_messages_with_any_unicode_yield_only_valid_identifiers() {
    let base = samples()
        .into_iter()
        .find(|s| s["detail"]["EventID"] == "RDS-EVENT-0251")
        .expect("the 0251 sample");
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&arb_message(), |m| {
            let mut ev = base.clone();
            ev["detail"]["Message"] = Value::String(m);
            check_event(&ev)
        })
        .unwrap();
}

#[test]
fn committed_event_corpus_replays_without_panic() {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus("events")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let raw: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let outcome = std::panic::catch_unwind(|| check_event(&raw));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{path:?}: {e}"),
            Err(_) => panic!("{path:?} panics the event parser"),
        }
        n += 1;
    }
    assert!(n >= 5, "corpus too small: {n}");
}

#[test]
fn random_events_through_the_handler_never_fail_or_touch_unnamed_routes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let bed =
            Bed::start_with("fuzz-events", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "1")]).await;
        bed.set_ip("bystander.db.test", [10, 50, 0, 1]);
        let route = bed.add_route("bystander", "bystander.db.test", 5432).await;
        let mut runner = TestRunner::new(config(24));
        let strategy = arb_mutated_event();
        let mut values = Vec::new();
        for _ in 0..runner.config().cases {
            values.push(strategy.new_tree(&mut runner).unwrap().current());
        }
        for raw in values {
            let summary = privatelink_router::flows::events::handle(&bed.ctx, &raw)
                .await
                .unwrap_or_else(|e| panic!("handler failed on {raw}: {e}"));
            assert!(summary.routes.is_empty(), "{summary:?}");
        }
        assert_eq!(bed.targets(&route).await, vec!["10.50.0.1:5432"]);
    });
}

// ---------------------------------------------------------------------------------------
// RDS host names and target group names
// ---------------------------------------------------------------------------------------

fn arb_identifier() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9]|-[a-z0-9]){0,30}"
}

fn arb_kind() -> impl Strategy<Value = (RdsEndpointKind, &'static str)> {
    proptest::sample::select(vec![
        (RdsEndpointKind::Instance, ""),
        (RdsEndpointKind::ClusterWriter, "cluster-"),
        (RdsEndpointKind::ClusterReader, "cluster-ro-"),
        (RdsEndpointKind::ClusterCustom, "cluster-custom-"),
        (RdsEndpointKind::Proxy, "proxy-"),
    ])
}

fn random_case(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn rds_endpoint_names_parse_back_to_the_identifier_events_are_matched_on(
        id in arb_identifier(),
        (kind, prefix) in arb_kind(),
        hash in "[a-z0-9]{12}",
        region in "(us|eu|ap|cn)-(east|west|north|south)-[1-3]",
        china in any::<bool>(),
        dot in any::<bool>(),
        mask in any::<u64>(),
    ) {
        let tail = if china { "amazonaws.com.cn" } else { "amazonaws.com" };
        let host = format!("{id}.{prefix}{hash}.{region}.rds.{tail}{}", if dot { "." } else { "" });
        let host = random_case(&host, mask);
        let parsed = parse_rds_endpoint(&host);
        prop_assert!(parsed.is_some(), "{host}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed.identifier, &id);
        prop_assert_eq!(parsed.kind, kind);
        prop_assert_eq!(&parsed.region, &region);
        // The route's RDS key equals what an event about this database is matched on.
        let event = json!({
            "id": "e", "detail-type": "RDS DB Instance Event", "source": "aws.rds",
            "account": "123456789012", "time": "2026-11-25T10:00:41Z", "region": region,
            "resources": [], "detail": {"EventID": "RDS-EVENT-0049",
            "SourceIdentifier": random_case(&id, !mask)}
        });
        let event = RdsEvent::parse(&event).unwrap();
        prop_assert_eq!(event.identifiers(), BTreeSet::from([parsed.identifier.clone()]));
        prop_assert!(HostName::parse(&host).is_ok(), "{host}");
    }

    #[test]
    fn look_alike_names_outside_the_rds_domain_are_not_rds_endpoints(
        id in arb_identifier(),
        hash in "[a-z0-9]{12}",
        extra in "[a-z]{1,10}",
        where_ in 0..4usize,
    ) {
        let host = match where_ {
            0 => format!("{id}.{hash}.us-east-1.rds.amazonaws.com.{extra}"),
            1 => format!("{extra}.{id}.{hash}.us-east-1.rds.amazonaws.com"),
            2 => format!("{id}.{hash}.us-east-1.rds.amazonaws.{extra}"),
            _ => format!("{id}.{hash}.us-east-1.rds-{extra}.amazonaws.com"),
        };
        prop_assert!(parse_rds_endpoint(&host).is_none(), "{host}");
    }

    #[test]
    fn one_route_on_two_routers_gets_two_target_group_names(
        a in "[a-z0-9-]{1,20}",
        b in "[a-z0-9-]{1,20}",
        route in ".{0,80}",
    ) {
        prop_assume!(a != b);
        let (na, nb) = (target_group_name("d", &a, &route), target_group_name("d", &b, &route));
        prop_assert_ne!(&na, &nb);
        prop_assert!(!na.starts_with("internal-") && !nb.starts_with("internal-"));
    }
}

#[test]
fn committed_host_and_route_name_corpus_replays() {
    let lines = |file: &str| -> Vec<String> {
        std::fs::read_to_string(corpus("").join(file))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let hosts = lines("hosts.txt");
    assert!(hosts.len() >= 5);
    for host in &hosts {
        if let Some(e) = parse_rds_endpoint(host) {
            assert!(!e.identifier.is_empty() && !e.region.is_empty(), "{host}");
            assert!(
                host.to_ascii_lowercase()
                    .trim_end_matches('.')
                    .ends_with(".amazonaws.com")
                    || host.to_ascii_lowercase().ends_with(".amazonaws.com.cn"),
                "{host}"
            );
        }
        let _ = HostName::parse(host);
    }
    let names = lines("route-names.txt");
    assert!(names.len() >= 5);
    let mut seen = BTreeSet::new();
    for name in &names {
        let tg = target_group_name("d", "r1", name);
        assert!(
            tg.len() <= 32 && !tg.starts_with('-') && !tg.ends_with('-'),
            "{tg}"
        );
        assert!(
            tg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "{tg}"
        );
        assert!(!tg.starts_with("internal-"), "{tg}");
        assert!(seen.insert(tg), "collision for {name}");
    }
}
