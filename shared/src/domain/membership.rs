//! Which instances stand behind an Aurora reader, custom or cluster (writer) endpoint — read
//! from the RDS API instead of guessed from DNS.
//!
//! A reader endpoint (`<cluster>.cluster-ro-…`) and a custom endpoint (`<name>.cluster-custom-…`)
//! answer one member instance per DNS query, picked at random (Aurora user guide, "Amazon
//! Aurora endpoints"). Their members are in the RDS API: DescribeDBClusters
//! (`DBClusterMembers`, `IsClusterWriter`), DescribeDBClusterEndpoints (`CustomEndpointType`,
//! `StaticMembers`, `ExcludedMembers`) and DescribeDBInstances (`Endpoint.Address`). Each member's
//! instance endpoint resolves to one stable IP, so the union of those answers is the complete
//! target set, and a member that leaves the cluster can leave the target group at once.
//!
//! The rules here are pure; [`crate::adapters::aws::rds`] reads the API and [`crate::reconcile::observe`] falls back to
//! DNS with the time-based window ([`crate::domain::window`]) when the API is not configured or fails.

use std::collections::BTreeSet;

use serde::Serialize;

/// One member instance of a DB cluster, as DescribeDBClusters and DescribeDBInstances report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// DB instance identifier.
    pub id: String,
    /// `IsClusterWriter`.
    pub writer: bool,
    /// `DBInstanceStatus` (e.g. `available`, `rebooting`, `deleting`).
    pub status: String,
    /// The instance endpoint's DNS name (`Endpoint.Address`), once RDS has assigned it.
    pub address: Option<String>,
}

/// A custom endpoint's definition (DescribeDBClusterEndpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomEndpoint {
    /// Its DNS name (`<name>.cluster-custom-<hash>.<region>.rds.amazonaws.com`).
    pub endpoint: String,
    /// The cluster it belongs to.
    pub cluster: String,
    /// `CustomEndpointType`: `READER` (readers only) or `ANY`.
    pub kind: String,
    /// `StaticMembers`: when non-empty, exactly these instances.
    pub static_members: Vec<String>,
    /// `ExcludedMembers`: when `StaticMembers` is empty, every instance but these.
    pub excluded_members: Vec<String>,
}

/// Instance states in which a member takes no connections and will not come back as is: the
/// endpoint stops answering it (RDS user guide, "Viewing Amazon RDS DB instance status").
const GONE: &[&str] = &["deleting", "stopping", "stopped", "failed", "storage-full"];

/// Instance states in which a member takes no connections yet: "The instance is being created.
/// The instance is inaccessible while it is being created" (same page). Aurora Auto Scaling's
/// new readers pass through it, often with no `Endpoint` yet.
const JOINING: &[&str] = &["creating"];

/// A member that is a target: neither leaving nor still joining, and with an instance endpoint
/// to resolve. The others are left out one by one, so a cluster in flux (a reader being added,
/// another deleted) keeps its members read from the RDS API instead of failing the whole read.
fn usable(m: &Member) -> bool {
    let state = m.status.as_str();
    !GONE.contains(&state) && !JOINING.contains(&state) && m.address.is_some()
}

/// The members a cluster's reader endpoint connects to: the usable readers, or the writer when
/// the cluster has no reader ("If the cluster contains only a primary instance, the reader
/// endpoint connects to the primary" — Aurora user guide, "Reader endpoint").
pub fn reader_endpoint_members(members: &[Member]) -> Vec<&Member> {
    let readers: Vec<&Member> = members.iter().filter(|m| !m.writer && usable(m)).collect();
    if readers.is_empty() {
        members.iter().filter(|m| m.writer && usable(m)).collect()
    } else {
        readers
    }
}

/// The member a cluster (writer) endpoint connects to: the instance DescribeDBClusters marks
/// `IsClusterWriter` (Aurora user guide, "Cluster endpoint": it "connects to the current
/// primary DB instance"; the same for a Multi-AZ DB cluster's writer endpoint — RDS user guide,
/// "Connecting to a Multi-AZ DB cluster"). A demoted writer is a reader at once: it refuses
/// writes, so it must not stay a target for the K lookups DNS would give it.
pub fn writer_endpoint_members(members: &[Member]) -> Vec<&Member> {
    members.iter().filter(|m| m.writer && usable(m)).collect()
}

/// The members a custom endpoint connects to: its static members, or every member but the
/// excluded ones; a `READER` endpoint never the writer (RDS API reference,
/// CreateDBClusterEndpoint). Only current, usable members of the cluster count: a deleted
/// instance may still be listed in the endpoint's lists.
pub fn custom_endpoint_members<'a>(
    endpoint: &CustomEndpoint,
    members: &'a [Member],
) -> Vec<&'a Member> {
    let chosen: BTreeSet<&str> = if endpoint.static_members.is_empty() {
        members
            .iter()
            .map(|m| m.id.as_str())
            .filter(|id| !endpoint.excluded_members.iter().any(|e| e == id))
            .collect()
    } else {
        endpoint.static_members.iter().map(String::as_str).collect()
    };
    let readers_only = endpoint.kind.eq_ignore_ascii_case("READER");
    members
        .iter()
        .filter(|m| chosen.contains(m.id.as_str()) && usable(m))
        .filter(|m| !(readers_only && m.writer))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: &str, writer: bool, status: &str) -> Member {
        Member {
            id: id.into(),
            writer,
            status: status.into(),
            address: Some(format!("{id}.abc.us-east-1.rds.amazonaws.com")),
        }
    }

    fn ids(v: Vec<&Member>) -> Vec<&str> {
        v.into_iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn reader_endpoint_means_the_usable_readers() {
        let members = [
            m("b-1", true, "available"),
            m("b-2", false, "available"),
            m("b-3", false, "rebooting"),
            m("b-4", false, "deleting"),
        ];
        assert_eq!(ids(reader_endpoint_members(&members)), ["b-2", "b-3"]);
    }

    #[test]
    fn a_member_still_creating_or_without_an_endpoint_is_no_target_yet() {
        let mut no_address = m("b-4", false, "available");
        no_address.address = None;
        let members = [
            m("b-1", true, "available"),
            m("b-2", false, "available"),
            m("b-3", false, "creating"),
            no_address,
        ];
        assert_eq!(ids(reader_endpoint_members(&members)), ["b-2"]);
    }

    #[test]
    fn writer_endpoint_means_the_writer_and_nothing_else() {
        let members = [
            m("b-1", false, "available"),
            m("b-2", true, "available"),
            m("b-3", false, "available"),
        ];
        assert_eq!(ids(writer_endpoint_members(&members)), ["b-2"]);
        let leaving = [m("b-1", true, "deleting"), m("b-2", false, "available")];
        assert!(writer_endpoint_members(&leaving).is_empty());
    }

    #[test]
    fn reader_endpoint_of_a_cluster_without_readers_is_the_writer() {
        let members = [m("b-1", true, "available"), m("b-2", false, "deleting")];
        assert_eq!(ids(reader_endpoint_members(&members)), ["b-1"]);
    }

    #[test]
    fn custom_endpoint_static_members_exclusions_and_reader_type() {
        let members = [
            m("b-1", true, "available"),
            m("b-2", false, "available"),
            m("b-3", false, "available"),
        ];
        let mut e = CustomEndpoint {
            endpoint: "e.cluster-custom-x.us-east-1.rds.amazonaws.com".into(),
            cluster: "b".into(),
            kind: "ANY".into(),
            static_members: vec!["b-1".into(), "b-3".into(), "b-9-deleted".into()],
            excluded_members: vec![],
        };
        assert_eq!(ids(custom_endpoint_members(&e, &members)), ["b-1", "b-3"]);
        e.kind = "READER".into();
        assert_eq!(ids(custom_endpoint_members(&e, &members)), ["b-3"]);
        e.static_members.clear();
        e.excluded_members = vec!["b-2".into()];
        assert_eq!(ids(custom_endpoint_members(&e, &members)), ["b-3"]);
        e.kind = "ANY".into();
        assert_eq!(ids(custom_endpoint_members(&e, &members)), ["b-1", "b-3"]);
    }
}
