//! Which RDS events can move a database's address, and what the router does about each: the
//! event-ID table ([`EVENT_IDS`], every ID the RDS and Aurora guides document, with its
//! source) and the [`Action`] it gives an event. Pure: [`crate::flows::events`] reads the
//! event and acts.

use serde::{Deserialize, Serialize};

mod event_ids;

pub use event_ids::EVENT_IDS;

/// What the router does about one RDS event ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The endpoint's IP moves or is about to (failover, class change, start, recovery,
    /// topology change, Blue/Green switchover completed): poll DNS until the answer changes,
    /// then reconcile.
    Move,
    /// The address may have changed, not necessarily (restart, modification, proxy targets,
    /// switchover canceled, and every event ID the table does not know): re-resolve once.
    Reresolve,
    /// The database (re)appeared: pending and source-deleted routes are reconciled into service.
    Created,
    /// The database is gone: mark the route source-deleted and deregister every target.
    Deleted,
    /// Cannot change the address (backups, notices…): logged and counted, nothing done.
    Ignore,
}

/// The action for an event ID of a source type (`db-instance`, `db-cluster`, `db-proxy`,
/// `blue-green-deployment`), by [`EVENT_IDS`]: the row of that source type, else any row of
/// the ID. An ID no row lists is [`Action::Reresolve`]d: an unknown event about a routed
/// database is looked at once, never ignored silently.
pub fn classify(event_id: &str, source_type: &str) -> Action {
    let rows = || {
        EVENT_IDS
            .iter()
            .filter(|(id, ..)| id.eq_ignore_ascii_case(event_id))
    };
    rows()
        .find(|(_, source, ..)| *source == source_type)
        .or_else(|| rows().next())
        .map_or(Action::Reresolve, |(_, _, action, _)| *action)
}

/// The source type of [`EVENT_IDS`] for an EventBridge detail-type ("Amazon RDS events in
/// EventBridge").
pub fn source_type_of(detail_type: &str) -> Option<&'static str> {
    match detail_type {
        "RDS DB Instance Event" => Some("db-instance"),
        "RDS DB Cluster Event" => Some("db-cluster"),
        "RDS DB Proxy Event" => Some("db-proxy"),
        "RDS Blue Green Deployment Event" => Some("blue-green-deployment"),
        _ => None,
    }
}

/// The EventBridge detail-types the router subscribes to (source `aws.rds`).
pub const DETAIL_TYPES: &[&str] = &[
    "RDS DB Instance Event",
    "RDS DB Cluster Event",
    "RDS DB Proxy Event",
    "RDS Blue Green Deployment Event",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_row_of_the_table_classifies_as_written_and_no_row_repeats() {
        let mut seen = BTreeSet::new();
        for (id, source, action, why) in EVENT_IDS {
            assert!(seen.insert((*id, *source)), "{id} {source} listed twice");
            assert_eq!(classify(id, source), *action, "{id} {source}");
            assert!(!why.is_empty(), "{id}: no reason");
            assert!(
                source_type_of(match *source {
                    "db-instance" => "RDS DB Instance Event",
                    "db-cluster" => "RDS DB Cluster Event",
                    "db-proxy" => "RDS DB Proxy Event",
                    _ => "RDS Blue Green Deployment Event",
                }) == Some(source),
                "{id}: unknown source type {source}"
            );
        }
        assert!(EVENT_IDS.len() > 200, "the whole documented table");
    }

    #[test]
    fn events_that_move_or_end_an_address_act_and_unknown_ids_are_re_resolved() {
        use Action::*;
        let expected = [
            (
                "db-instance",
                &[
                    "0013", "0015", "0049", "0050", "0051", "0065", "0385", "0088", "0014",
                ][..],
                Move,
            ),
            ("db-cluster", &["0070", "0071", "0072", "0073"][..], Move),
            ("db-proxy", &["0213", "0214", "0215"][..], Reresolve),
            ("db-instance", &["0005"][..], Created),
            ("db-cluster", &["0170"][..], Created),
            ("db-proxy", &["0203"][..], Created),
            ("db-instance", &["0003"][..], Deleted),
            ("db-cluster", &["0171"][..], Deleted),
            ("db-proxy", &["0205"][..], Deleted),
            ("blue-green-deployment", &["0248", "0251", "0260"][..], Move),
            (
                "blue-green-deployment",
                &["0249", "0252", "0261"][..],
                Reresolve,
            ),
            (
                "blue-green-deployment",
                &["0247", "0250", "0259"][..],
                Ignore,
            ),
            ("db-instance", &["0001", "9999"][..], Ignore),
        ];
        for (source, ids, action) in expected {
            for id in ids {
                let want = if *id == "9999" { Reresolve } else { action };
                assert_eq!(
                    classify(&format!("RDS-EVENT-{id}"), source),
                    want,
                    "RDS-EVENT-{id}"
                );
            }
        }
        assert_eq!(classify("rds-event-0049", "db-instance"), Move);
    }
}
