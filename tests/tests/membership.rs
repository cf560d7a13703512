//! Aurora reader and custom endpoints followed through the RDS API (issue #13): the members of
//! a cluster in moto's RDS (custom endpoints from `tests/moto/rds_cluster_endpoints.py`), each
//! instance endpoint served by the loopback DNS server, through the real handlers.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use aws_sdk_rds::Client as RdsClient;
use router_tests::fixtures::Bed;
use router_tests::handlers::{audit, deregistrations_in_audits, rds_event, rds_event_at};
use serde_json::json;

/// An Aurora PostgreSQL cluster in moto with a writer and readers, whose instance endpoints
/// resolve (loopback DNS) to `10.2.0.<n>`; its reader endpoint answers one reader at random.
struct Cluster {
    rds: RdsClient,
    id: String,
    reader_endpoint: String,
    /// Instance id → IP.
    ips: BTreeMap<String, Ipv4Addr>,
}

impl Cluster {
    /// Creates `<id>` with instances `<id>-1` (writer) … `<id>-<n>`; instance `k` gets
    /// 10.2.<net>.<20+k>.
    async fn create(bed: &Bed, id: &str, n: u8, net: u8) -> Cluster {
        let rds = RdsClient::new(&bed.sdk);
        let cluster = rds
            .create_db_cluster()
            .db_cluster_identifier(id)
            .engine("aurora-postgresql")
            .master_username("admin")
            .master_user_password("password-123")
            .send()
            .await
            .expect("cluster created");
        let reader_endpoint = cluster
            .db_cluster()
            .and_then(|c| c.reader_endpoint())
            .expect("reader endpoint")
            .to_owned();
        let mut c = Cluster {
            rds,
            id: id.into(),
            reader_endpoint,
            ips: BTreeMap::new(),
        };
        for k in 1..=n {
            c.add_instance(bed, k, net).await;
        }
        c.publish(bed);
        c
    }

    async fn add_instance(&mut self, bed: &Bed, k: u8, net: u8) {
        let instance = format!("{}-{k}", self.id);
        let out = self
            .rds
            .create_db_instance()
            .db_instance_identifier(&instance)
            .db_cluster_identifier(&self.id)
            .engine("aurora-postgresql")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("instance created");
        let address = out
            .db_instance()
            .and_then(|i| i.endpoint())
            .and_then(|e| e.address())
            .expect("instance endpoint")
            .to_owned();
        let ip = Ipv4Addr::new(10, 2, net, 20 + k);
        bed.dns.set_a(&address, &[ip]);
        self.ips.insert(instance, ip);
    }

    /// Points the reader endpoint at the current readers, one at random per query.
    fn publish(&self, bed: &Bed) {
        let readers: Vec<Ipv4Addr> = self
            .ips
            .iter()
            .filter(|(id, _)| !id.ends_with("-1"))
            .map(|(_, ip)| *ip)
            .collect();
        bed.dns.set_random(&self.reader_endpoint, &readers);
    }

    fn targets_of(&self, ids: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = ids
            .iter()
            .map(|id| format!("{}:5432", self.ips[&format!("{}-{id}", self.id)]))
            .collect();
        v.sort();
        v
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_endpoint_members_come_from_the_rds_api_and_no_live_reader_is_ever_removed() {
    let bed = Bed::start("members-readers").await;
    let cluster = Cluster::create(&bed, "billing", 5, 0).await;
    let route = bed
        .add_route("billing-ro", &cluster.reader_endpoint, 5432)
        .await;
    let all_readers = cluster.targets_of(&["2", "3", "4", "5"]);
    assert_eq!(
        bed.targets(&route).await,
        all_readers,
        "every reader from the first reconcile, not one per DNS answer"
    );
    let removed = deregistrations_in_audits(&bed.ctx, 60).await;
    assert_eq!(removed, 0, "live readers deregistered");
    assert_eq!(bed.targets(&route).await, all_readers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_removed_from_the_cluster_leaves_within_one_audit() {
    let bed = Bed::start("members-leave").await;
    let mut cluster = Cluster::create(&bed, "ledger", 4, 1).await;
    let route = bed
        .add_route("ledger-ro", &cluster.reader_endpoint, 5432)
        .await;
    assert_eq!(
        bed.targets(&route).await,
        cluster.targets_of(&["2", "3", "4"])
    );
    cluster
        .rds
        .delete_db_instance()
        .db_instance_identifier("ledger-4")
        .send()
        .await
        .expect("instance deleted");
    cluster.ips.remove("ledger-4");
    cluster.publish(&bed);
    let report = audit(&bed.ctx).await;
    assert_eq!(report["repaired"]["targets_deregistered"], 1, "{report:#}");
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["2", "3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_endpoint_serves_exactly_its_static_members() {
    let bed = Bed::start("members-custom").await;
    let cluster = Cluster::create(&bed, "reports", 4, 2).await;
    let created = cluster
        .rds
        .create_db_cluster_endpoint()
        .db_cluster_identifier("reports")
        .db_cluster_endpoint_identifier("reports-analytics")
        .endpoint_type("READER")
        .static_members("reports-3")
        .static_members("reports-4")
        .send()
        .await
        .expect("custom endpoint created");
    let host = created.endpoint().expect("custom endpoint name").to_owned();
    assert!(host.contains(".cluster-custom-"), "{host}");
    bed.dns
        .set_random(&host, &[cluster.ips["reports-3"], cluster.ips["reports-4"]]);
    let route = bed.add_route("reports-analytics", &host, 5432).await;
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["3", "4"]));

    // The endpoint now excludes reports-4 instead: members follow at the next audit.
    cluster
        .rds
        .modify_db_cluster_endpoint()
        .db_cluster_endpoint_identifier("reports-analytics")
        .excluded_members("reports-4")
        .send()
        .await
        .expect("custom endpoint modified");
    audit(&bed.ctx).await;
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["2", "3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_failover_event_moves_reader_targets_from_the_rds_api_at_once() {
    let bed = Bed::start("members-failover").await;
    let cluster = Cluster::create(&bed, "payments", 3, 3).await;
    let route = bed
        .add_route("payments-ro", &cluster.reader_endpoint, 5432)
        .await;
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["2", "3"]));
    // payments-2 becomes the writer; payments-1 a reader.
    cluster
        .rds
        .failover_db_cluster()
        .db_cluster_identifier("payments")
        .target_db_instance_identifier("payments-2")
        .send()
        .await
        .expect("failover");
    let mut event = rds_event_at(
        "rds-cluster-failover-completed-0071.json",
        "2026-11-30T10:00:00Z",
    );
    event["detail"]["SourceIdentifier"] = json!("payments");
    let summary = rds_event(&bed.ctx, event).await;
    let report = &summary["routes"][0];
    assert_eq!(
        report["registered"],
        json!([cluster.ips["payments-1"].to_string()]),
        "{summary:#}"
    );
    assert_eq!(
        report["deregistered"],
        json!([cluster.ips["payments-2"].to_string()])
    );
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["1", "3"]));
}

/// A no-drift audit still writes nothing: an instance route and a reader route whose members
/// come from the RDS API (a complete answer every time) leave the table untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_no_drift_audit_writes_nothing() {
    let bed = Bed::start("members-quiet").await;
    let cluster = Cluster::create(&bed, "quiet", 3, 4).await;
    bed.add_route("quiet-ro", &cluster.reader_endpoint, 5432)
        .await;
    bed.set_ip(
        "quiet-db.c9akciq32abc.us-east-1.rds.amazonaws.com",
        [10, 2, 4, 9],
    );
    bed.add_route(
        "quiet-db",
        "quiet-db.c9akciq32abc.us-east-1.rds.amazonaws.com",
        5432,
    )
    .await;
    audit(&bed.ctx).await;
    let versions = (
        bed.route("quiet-ro").await.version,
        bed.route("quiet-db").await.version,
    );
    let second = audit(&bed.ctx).await;
    assert_eq!(second["repaired"], json!({}), "{second:#}");
    // The run's lease is its only write (one PutItem, one DeleteItem); no route is rewritten.
    for (write, lease) in [
        ("PutItem", 1),
        ("DeleteItem", 1),
        ("UpdateItem", 0),
        ("TransactWriteItems", 0),
    ] {
        assert_eq!(
            second["aws_calls"][write].as_u64().unwrap_or(0),
            lease,
            "{write}: {second:#}"
        );
    }
    assert_eq!(
        (
            bed.route("quiet-ro").await.version,
            bed.route("quiet-db").await.version
        ),
        versions
    );
}

/// Tags an instance with the strict moto's lifecycle state (`tests/moto/rds_states.py`):
/// `Some("creating")` (no endpoint yet), `Some("deleting")`, or `None` (available again).
async fn set_state(rds: &RdsClient, instance: &str, state: Option<&str>) {
    let arn = rds
        .describe_db_instances()
        .db_instance_identifier(instance)
        .send()
        .await
        .expect("instance described")
        .db_instances()[0]
        .db_instance_arn()
        .expect("instance ARN")
        .to_owned();
    match state {
        Some(state) => {
            rds.add_tags_to_resource()
                .resource_name(&arn)
                .tags(
                    aws_sdk_rds::types::Tag::builder()
                        .key("strict-moto:status")
                        .value(state)
                        .build(),
                )
                .send()
                .await
                .expect("state tagged");
        }
        None => {
            rds.remove_tags_from_resource()
                .resource_name(&arn)
                .tag_keys("strict-moto:status")
                .send()
                .await
                .expect("state untagged");
        }
    }
}

/// Issue #30, case 2: Aurora Auto Scaling adds a reader (`creating`, no `Endpoint` yet) while
/// another is `deleting`. The members with an address stay the targets, the deleting one
/// leaves in that audit, and the new one joins once it has its address — all from the RDS API.
/// Before, the member without an address failed the whole read: the route fell back to DNS
/// with its window and the leaving reader lingered; so did a member past `creating` whose
/// endpoint record did not resolve yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_being_created_or_deleted_do_not_break_the_members_read() {
    let bed = Bed::start("members-flux").await;
    let mut cluster = Cluster::create(&bed, "flux", 4, 3).await;
    let route = bed
        .add_route("flux-ro", &cluster.reader_endpoint, 5432)
        .await;
    assert_eq!(
        bed.targets(&route).await,
        cluster.targets_of(&["2", "3", "4"])
    );

    let created = cluster
        .rds
        .create_db_instance()
        .db_instance_identifier("flux-5")
        .db_cluster_identifier("flux")
        .engine("aurora-postgresql")
        .db_instance_class("db.r6g.large")
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key("strict-moto:status")
                .value("creating")
                .build(),
        )
        .send()
        .await
        .expect("instance created");
    assert!(created.db_instance().and_then(|i| i.endpoint()).is_none());
    set_state(&cluster.rds, "flux-4", Some("deleting")).await;
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        bed.targets(&route).await,
        cluster.targets_of(&["2", "3"]),
        "the deleting reader left in this audit: {report:#}"
    );

    // flux-5 is past `creating` with an endpoint whose record does not resolve yet: it is
    // left out on its own, and the members read holds — flux-3, now leaving, leaves.
    set_state(
        &cluster.rds,
        "flux-5",
        Some("configuring-enhanced-monitoring"),
    )
    .await;
    set_state(&cluster.rds, "flux-3", Some("deleting")).await;
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(
        bed.targets(&route).await,
        cluster.targets_of(&["2"]),
        "the members read held: {report:#}"
    );

    // flux-5 is available: its endpoint resolves, and it joins.
    set_state(&cluster.rds, "flux-5", None).await;
    let address = cluster
        .rds
        .describe_db_instances()
        .db_instance_identifier("flux-5")
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .endpoint()
        .and_then(|e| e.address())
        .expect("an endpoint once available")
        .to_owned();
    let ip = Ipv4Addr::new(10, 2, 3, 25);
    bed.dns.set_a(&address, &[ip]);
    cluster.ips.insert("flux-5".into(), ip);
    let report = audit(&bed.ctx).await;
    assert_eq!(report["errors"], json!([]), "{report:#}");
    assert_eq!(bed.targets(&route).await, cluster.targets_of(&["2", "5"]));
}

/// Issue #30, case 6: a private CNAME to a reader endpoint (`billing-ro.corp.test` →
/// `<cluster>.cluster-ro-…`) is followed by the endpoint it leads to: every reader from the
/// RDS API at once, none ever removed. Before, the name was followed like an instance endpoint
/// (one reader per answer, K = 3 lookups): live readers came and went. And the cluster's
/// events reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_cname_to_a_reader_endpoint_is_followed_as_one() {
    let bed = Bed::start_with(
        "members-cname",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")],
    )
    .await;
    let cluster = Cluster::create(&bed, "alias", 5, 4).await;
    bed.dns
        .set_cname("alias-ro.corp.test", &cluster.reader_endpoint);
    let route = bed.add_route("alias-ro", "alias-ro.corp.test", 5432).await;
    let all_readers = cluster.targets_of(&["2", "3", "4", "5"]);
    assert_eq!(
        bed.targets(&route).await,
        all_readers,
        "every reader at once"
    );
    let removed = deregistrations_in_audits(&bed.ctx, 20).await;
    assert_eq!(removed, 0, "live readers deregistered");
    assert_eq!(bed.targets(&route).await, all_readers);

    // Its events are the cluster's: learned from the endpoint the alias leads to, so a
    // cluster event reaches the route and reads the members at once (a new reader joins in
    // that invocation). Before, the event named a cluster no route knew.
    assert_eq!(route.spec.rds_identifier.as_deref(), Some("alias"));
    let mut cluster = cluster;
    cluster.add_instance(&bed, 6, 4).await;
    cluster.publish(&bed);
    let mut event = rds_event_at(
        "rds-cluster-failover-completed-0071.json",
        "2026-11-25T10:05:12Z",
    );
    event["detail"]["SourceIdentifier"] = json!("alias");
    let summary = rds_event(&bed.ctx, event).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert_eq!(
        bed.targets(&route).await,
        cluster.targets_of(&["2", "3", "4", "5", "6"]),
        "{summary:#}"
    );

    // The alias is repointed at another database, and the old cluster is deleted: its
    // deletion event does not end the route, whose own name still answers.
    bed.dns
        .set_a("alias-ro.corp.test", &[Ipv4Addr::new(10, 2, 9, 9)]);
    let mut deleted = rds_event_at("rds-cluster-deleted-0171.json", "2026-11-25T11:00:00Z");
    deleted["detail"]["SourceIdentifier"] = json!("alias");
    let summary = rds_event(&bed.ctx, deleted).await;
    assert_eq!(
        summary["routes"][0]["status_after"], "active",
        "{summary:#}"
    );
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.2.9.9:5432"],
        "the alias's new database, and none of the deleted cluster's readers"
    );
}
