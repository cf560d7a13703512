//! The event handler's pure parts: parsing, identifiers, account rules, change detection.
use std::collections::BTreeSet;

use super::dns_wait::Baseline;
use super::envelope::names_in_message;
use super::*;
use crate::config::Config;
use crate::domain::rds_events::DETAIL_TYPES;
use serde_json::json;

fn sample(name: &str) -> Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn event(event_id: &str, detail_type: &str) -> Value {
    json!({
        "version": "0",
        "id": "5f1c2d3e-0000-4000-8000-000000000001",
        "detail-type": detail_type,
        "source": "aws.rds",
        "account": "123456789012",
        "time": "2026-11-25T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:rds:us-east-1:123456789012:db:orders-db"],
        "detail": {
            "EventCategories": ["failover"],
            "SourceType": "DB_INSTANCE",
            "SourceArn": "arn:aws:rds:us-east-1:123456789012:db:orders-db",
            "Date": "2026-11-25T10:00:00.123Z",
            "Message": "Multi-AZ instance failover completed.",
            "SourceIdentifier": "orders-db",
            "EventID": event_id
        }
    })
}

#[test]
fn other_detail_types_are_ignored_even_with_a_known_id() {
    let e = RdsEvent::parse(&event("RDS-EVENT-0003", "RDS DB Snapshot Event")).unwrap();
    assert_eq!(e.action(), Action::Ignore);
    let e = RdsEvent::parse(&event("RDS-EVENT-0003", "RDS DB Instance Event")).unwrap();
    assert_eq!(e.action(), Action::Deleted);
}

#[test]
fn detail_date_gives_millisecond_event_time() {
    let e = RdsEvent::parse(&event("RDS-EVENT-0049", "RDS DB Instance Event")).unwrap();
    assert_eq!(e.time.to_rfc3339(), "2026-11-25T10:00:00.123+00:00");
    let mut raw = event("RDS-EVENT-0049", "RDS DB Instance Event");
    raw["detail"]["Date"] = json!("2026-11-25T10:00Z");
    let e = RdsEvent::parse(&raw).unwrap();
    assert_eq!(
        e.time.to_rfc3339(),
        "2026-11-25T10:00:00+00:00",
        "unparsable Date falls back to time"
    );
}

#[test]
fn malformed_events_name_the_problem() {
    let cases: Vec<(Value, &str)> = vec![
        (json!("text"), "expected a JSON object"),
        (json!({"source": "aws.rds"}), "missing field"),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["detail"].as_object_mut().unwrap().remove("EventID");
                v
            },
            "missing field `EventID`",
        ),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["detail"]["SourceIdentifier"] = json!(42);
                v
            },
            "detail: invalid type: integer `42`",
        ),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["detail"] = json!("x");
                v
            },
            "detail: expected an object",
        ),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["source"] = json!("aws.ec2");
                v
            },
            "not \"aws.rds\"",
        ),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["time"] = json!("yesterday");
                v
            },
            "envelope",
        ),
        (
            {
                let mut v = event("EVENT-49", "RDS DB Instance Event");
                v["detail"]["EventID"] = json!("EVENT-49");
                v
            },
            "not RDS-EVENT-<digits>",
        ),
        (
            {
                let mut v = event("RDS-EVENT-0049", "RDS DB Instance Event");
                v["detail"]["SourceIdentifier"] = json!(" ");
                v
            },
            "SourceIdentifier is empty",
        ),
    ];
    for (raw, want) in cases {
        let err = RdsEvent::parse(&raw).unwrap_err();
        assert!(err.0.contains(want), "{:?} should contain {want:?}", err.0);
    }
}

#[test]
fn blue_green_messages_yield_every_renamed_database() {
    let m = "Switchover from primary/read replica orders-db to orders-db-green-4x7k2p completed. Renamed orders-db to orders-db-old1 and orders-db-green-4x7k2p to orders-db.";
    assert_eq!(
        names_in_message(m),
        BTreeSet::from([
            "orders-db".into(),
            "orders-db-old1".into(),
            "orders-db-green-4x7k2p".into()
        ])
    );
    let m = "Switchover from DB cluster arn:aws:rds:us-east-1:123456789012:cluster:Billing-Aurora to arn:aws:rds:us-east-1:123456789012:cluster:billing-aurora-green-q1w2e3 was canceled due to replica lag.";
    assert_eq!(
        names_in_message(m),
        BTreeSet::from([
            "billing-aurora".into(),
            "billing-aurora-green-q1w2e3".into()
        ])
    );
    assert!(names_in_message("Switchover completed on blue/green deployment.").is_empty());
}

#[test]
fn blue_green_identifiers_come_from_message_and_database_arns_not_the_deployment() {
    let mut raw = event("RDS-EVENT-0251", "RDS Blue Green Deployment Event");
    raw["resources"] = json!([
        "arn:aws:rds:us-east-1:123456789012:deployment:bgd-abc",
        "arn:aws:rds:us-east-1:123456789012:db:ledger-db"
    ]);
    raw["detail"]["SourceIdentifier"] = json!("bgd-abc");
    raw["detail"]["Message"] = json!("Switchover from primary/read replica orders-db to orders-db-green-1 completed. Renamed orders-db to orders-db-old1 and orders-db-green-1 to orders-db.");
    let e = RdsEvent::parse(&raw).unwrap();
    let ids = e.identifiers();
    assert!(
        ids.contains("orders-db") && ids.contains("ledger-db"),
        "{ids:?}"
    );
    assert!(!ids.contains("bgd-abc"));
}

#[test]
fn a_cluster_rename_names_the_old_and_the_new_identifier() {
    let mut raw = event("RDS-EVENT-0172", "RDS DB Cluster Event");
    raw["detail"]["Message"] = json!("Renamed cluster from Billing to billing-new");
    raw["detail"]["SourceIdentifier"] = json!("billing-new");
    let e = RdsEvent::parse(&raw).unwrap();
    assert_eq!(
        e.cluster_renamed(),
        Some(("billing".to_owned(), "billing-new".to_owned()))
    );
    assert!(e.identifiers().contains("billing"), "{:?}", e.identifiers());
    for message in [
        "Renamed cluster",
        "Renamed cluster from a",
        "Renamed cluster from a b c",
    ] {
        raw["detail"]["Message"] = json!(message);
        assert_eq!(
            RdsEvent::parse(&raw).unwrap().cluster_renamed(),
            None,
            "{message}"
        );
    }
    let mut other = event("RDS-EVENT-0071", "RDS DB Cluster Event");
    other["detail"]["Message"] = json!("Renamed cluster from a to b");
    assert_eq!(RdsEvent::parse(&other).unwrap().cluster_renamed(), None);
}

#[test]
fn own_account_is_always_allowed_and_the_list_adds_others() {
    let env = |extra: &'static str| {
        move |k: &str| {
            match k {
            "ROUTER_TABLE" => Some("t".to_owned()),
            "ROUTER_FLEET" => Some(r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/b","endpoint_service_name":"s"}]"#.to_owned()),
            "ROUTER_EVENT_ACCOUNTS" => Some(extra.to_owned()),
            _ => None,
        }
        }
    };
    let c = Config::from_lookup(&env("")).unwrap();
    assert!(account_allowed(&c, "123456789012"));
    assert!(!account_allowed(&c, "210987654321"));
    let c = Config::from_lookup(&env("210987654321, 111122223333")).unwrap();
    assert!(account_allowed(&c, "210987654321"));
    assert!(
        account_allowed(&c, "123456789012"),
        "the router's own account is always heard, whatever the list says"
    );
    assert!(!account_allowed(&c, "999988887777"));
}

#[test]
fn change_detection_differs_for_single_and_round_robin_names() {
    let ips = |o: &[u8]| {
        o.iter()
            .map(|x| IpAddr::from([10, 0, 1, *x]))
            .collect::<BTreeSet<_>>()
    };
    let single = Baseline::Newest(ips(&[5]));
    assert!(!single.changed_by(&ips(&[5])));
    assert!(single.changed_by(&ips(&[6])));
    let rr = Baseline::Window(ips(&[5, 6, 7]));
    assert!(
        !rr.changed_by(&ips(&[6])),
        "another reader of the window is not a change"
    );
    assert!(rr.changed_by(&ips(&[8])));
    assert!(Baseline::Window(BTreeSet::new()).changed_by(&ips(&[1])));
}

#[test]
fn every_sample_in_events_dir_parses_or_is_the_malformed_one() {
    let dir = format!("{}/../events", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !(name.starts_with("rds-") && name.ends_with(".json")) {
            continue;
        }
        seen += 1;
        let parsed = RdsEvent::parse(&sample(&name));
        if name.contains("malformed") {
            assert!(parsed.is_err(), "{name}");
        } else {
            let e = parsed.unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(DETAIL_TYPES.contains(&e.detail_type.as_str()), "{name}");
            let id = e.event_id.trim_start_matches("RDS-EVENT-");
            assert!(
                name.contains(id),
                "{name} should carry its event number {id}"
            );
        }
    }
    assert!(seen >= 14, "only {seen} samples");
}
