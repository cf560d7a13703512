//! Every way RDS names a database (issue #30): RDS Proxy endpoints, default and added, and
//! Aurora global writer endpoints. Real handlers, SDK, the strict moto
//! (tests/moto/rds_proxies.py, rds_global_clusters.py), loopback DNS.

use std::net::Ipv4Addr;

use privatelink_router::domain::route::RouteStatus;
use router_tests::databases::{database, proxy};
use router_tests::fixtures::{aurora, Bed, ACCOUNT, OWNER};
use router_tests::handlers::{audit, get_route, post_route, rds_event, sample, watch};

/// A bed where only verified owners publish (no caller grants), like a production policy.
const OWNERS_ONLY: &[(&str, &str)] = &[
    ("ROUTER_CALLER_GRANTS", "{}"),
    ("ROUTER_DATABASE_PORTS", "3306,5432"),
    ("ROUTER_DATABASE_CIDRS", "10.0.0.0/16"),
];

fn ips(last: &[u8], subnet: u8) -> Vec<Ipv4Addr> {
    last.iter()
        .map(|x| Ipv4Addr::new(10, 0, subnet, *x))
        .collect()
}

/// Case 3: a route on an RDS Proxy's added read-only endpoint
/// (`<endpoint>.endpoint.proxy-<id>.<region>.rds.amazonaws.com`) and one on its default
/// endpoint. Before, the added endpoint was no RDS name at all: an owner could not publish it,
/// and no proxy event reached it. Now both are verified through the RDS API, the added
/// endpoint's route follows the proxy's events, each registers every address its name
/// answers on the proxy's port (5432, while the database behind listens on 5433), and a
/// proxy that scales 2 → 3 → 2 addresses loses no live one and drops the departed one within
/// the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rds_proxy_endpoints_are_verified_hear_proxy_events_and_keep_every_live_address() {
    let bed = Bed::start_with("proxy-kinds", OWNERS_ONLY).await;
    database(&bed, "orders-db", "postgres", 5433, "10.0.0.0/16", None).await;
    let proxy = proxy(&bed, "orders-proxy", "orders-db", Some("orders-ro")).await;
    let read_only = proxy.read_only.clone().expect("read-only endpoint");
    assert!(
        read_only.starts_with("orders-ro.endpoint.proxy-"),
        "{read_only}"
    );
    bed.dns.set_a(&proxy.endpoint, &ips(&[60], 1));
    bed.dns
        .set_a(&read_only, &[ips(&[61], 1), ips(&[61], 2)].concat());

    for (name, host) in [("orders-rw", &proxy.endpoint), ("orders-ro", &read_only)] {
        let body = serde_json::json!({"name": name, "host": host, "port": 5432});
        let (status, reply) = post_route(&bed.ctx, &body, OWNER).await;
        assert_eq!(status, 201, "{name}: {reply:#}");
        assert_eq!(reply["account"], ACCOUNT, "{name}: verified in its account");
        assert_eq!(
            reply["rds_identifier"], "orders-proxy",
            "{name}: proxy events name the proxy"
        );
    }
    let ro = bed.route("orders-ro").await;
    assert_eq!(
        bed.targets(&ro).await,
        vec!["10.0.1.61:5432", "10.0.2.61:5432"],
        "every address, on the port the request names (the proxy's), not the database's 5433"
    );

    // The proxy scales out: a third address. A proxy event reaches the added endpoint's route
    // and registers it in that invocation.
    let three = [ips(&[61], 1), ips(&[61], 2), ips(&[62], 1)].concat();
    bed.dns.set_a(&read_only, &three);
    let summary = rds_event(&bed.ctx, sample("rds-proxy-target-added-0213.json")).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    let report = summary["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["route_id"] == "orders-ro")
        .unwrap_or_else(|| panic!("the event reaches orders-ro: {summary:#}"));
    assert_eq!(report["result"], "reconciled", "{report:#}");
    assert_eq!(
        bed.targets(&ro).await,
        vec!["10.0.1.61:5432", "10.0.1.62:5432", "10.0.2.61:5432"]
    );

    // It scales back in: the departed address leaves within the window (3 lookups), and no
    // audit ever removes a live one.
    let two = [ips(&[61], 1), ips(&[62], 1)].concat();
    bed.dns.set_a(&read_only, &two);
    let mut gone_after = None;
    for run in 1..=4 {
        audit(&bed.ctx).await;
        let targets = bed.targets(&ro).await;
        for live in ["10.0.1.61:5432", "10.0.1.62:5432"] {
            assert!(
                targets.contains(&live.to_owned()),
                "audit {run}: {live} removed"
            );
        }
        if gone_after.is_none() && !targets.contains(&"10.0.2.61:5432".to_owned()) {
            gone_after = Some(run);
        }
    }
    assert!(
        gone_after.is_some_and(|run| run <= 3),
        "departed address gone within the window: {gone_after:?}"
    );

    // The proxy is deleted (its endpoints with it) and its names answer NXDOMAIN: the RDS API
    // confirms both are gone, so their addresses leave at the first watch, no bound to wait.
    aws_sdk_rds::Client::new(&bed.sdk)
        .delete_db_proxy()
        .db_proxy_name("orders-proxy")
        .send()
        .await
        .expect("proxy deleted");
    bed.dns.remove(&read_only);
    bed.dns.remove(&proxy.endpoint);
    let run = watch(&bed.ctx).await;
    for name in ["orders-ro", "orders-rw"] {
        let route = bed.route(name).await;
        assert_eq!(
            bed.targets(&route).await,
            Vec::<String>::new(),
            "{name}: {run:#}"
        );
        assert_eq!(route.status, RouteStatus::SourceGone, "{name}");
    }
}

/// Case 1: a route on an Aurora global database's writer endpoint
/// (`<global>.global-<id>.global.rds.amazonaws.com`, a CNAME to the primary cluster's writer).
/// A managed switchover makes the us-west-2 cluster primary: the name now leads to its writer,
/// and the member cluster's RDS-EVENT-0397 arrives from us-west-2. Before, the name was read
/// as an instance endpoint in a region called "global": no event matched, and the demoted
/// primary kept its connections until the minute watch's window let it go (three minutes).
/// Now the route knows its global database and member clusters (DescribeGlobalClusters), the
/// event reaches it, and its target moves in that invocation, registered with AZ `all` (the
/// address is outside the router VPC).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_writer_endpoint_follows_a_switchover_when_its_member_cluster_says_so() {
    use aws_sdk_rds::config::Region;
    let bed = Bed::start_with(
        "global-writer",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")],
    )
    .await;
    let east = aurora(&bed, "gdb1-east", &[Ipv4Addr::new(10, 1, 0, 5)]).await;
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    let east_arn = format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:gdb1-east");
    let global = rds
        .create_global_cluster()
        .global_cluster_identifier("gdb1")
        .source_db_cluster_identifier(&east_arn)
        .send()
        .await
        .expect("global database created");
    let global_endpoint = global
        .global_cluster()
        .and_then(|g| g.endpoint())
        .expect("global writer endpoint")
        .to_owned();
    let west_rds = aws_sdk_rds::Client::from_conf(
        aws_sdk_rds::config::Builder::from(&bed.sdk)
            .region(Region::new("us-west-2"))
            .build(),
    );
    let west = west_rds
        .create_db_cluster()
        .db_cluster_identifier("gdb1-west")
        .engine("aurora-postgresql")
        .global_cluster_identifier("gdb1")
        .send()
        .await
        .expect("secondary cluster created");
    let west_writer = west
        .db_cluster()
        .and_then(|c| c.endpoint())
        .expect("secondary's cluster endpoint")
        .to_owned();
    bed.dns.set_cname(&global_endpoint, &east.writer_endpoint);

    let route = bed.add_route("gdb1", &global_endpoint, 5432).await;
    assert_eq!(route.spec.account.as_deref(), Some(ACCOUNT), "learned");
    assert_eq!(bed.targets(&route).await, vec!["10.1.0.5:5432"]);

    // The switchover: the global name now leads to the us-west-2 writer, and the member
    // cluster there says so.
    bed.dns.set_a(&west_writer, &[Ipv4Addr::new(10, 9, 0, 7)]);
    bed.dns.set_cname(&global_endpoint, &west_writer);
    let summary = rds_event(
        &bed.ctx,
        sample("rds-cluster-global-writer-moved-0397.json"),
    )
    .await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    let report = &summary["routes"][0];
    assert_eq!(report["route_id"], "gdb1", "{summary:#}");
    assert_eq!(report["result"], "reconciled", "{report:#}");
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.9.0.7:5432"],
        "the demoted primary's writer left in the event's invocation"
    );
    let health = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk)
        .describe_target_health()
        .target_group_arn(route.target_group_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    let zone = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target())
        .find(|t| t.id() == Some("10.9.0.7"))
        .and_then(|t| t.availability_zone());
    assert_eq!(zone, Some("all"), "outside the router VPC");

    // A member cluster's deletion event through the alias never ends the global route.
    let mut deleted = sample("rds-cluster-deleted-0171.json");
    deleted["region"] = "us-west-2".into();
    deleted["time"] = "2026-11-25T11:30:00Z".into();
    deleted["detail"]["Date"] = "2026-11-25T11:30:00Z".into();
    deleted["detail"]["SourceIdentifier"] = "gdb1-west".into();
    let summary = rds_event(&bed.ctx, deleted).await;
    assert_eq!(
        summary["routes"][0]["status_after"], "active",
        "{summary:#}"
    );
    assert_eq!(bed.targets(&route).await, vec!["10.9.0.7:5432"]);

    // Nor does the deletion of a database that merely shares the global database's name
    // (the route is indexed by it): the global name still answers.
    let mut same_name = sample("rds-cluster-deleted-0171.json");
    same_name["time"] = "2026-11-25T11:40:00Z".into();
    same_name["detail"]["Date"] = "2026-11-25T11:40:00Z".into();
    same_name["detail"]["SourceIdentifier"] = "gdb1".into();
    let summary = rds_event(&bed.ctx, same_name).await;
    assert_eq!(summary["routes"][0]["route_id"], "gdb1", "{summary:#}");
    assert_eq!(
        summary["routes"][0]["status_after"], "active",
        "{summary:#}"
    );
    assert_eq!(bed.targets(&route).await, vec!["10.9.0.7:5432"]);
}

/// Case 4, rename and replace (the documented way to restore into the same name): `prod`
/// (10.0.1.5) is renamed `prod-old`, its old name answers NXDOMAIN, and a restored instance
/// later takes the name `prod` (10.0.2.9). The renamed database's address leaves the route
/// (it is no longer `prod`), the route keeps its port and says the name is gone, "deleted or
/// renamed"; `prod-old`'s deletion event never touches it; the restore's event (0043) brings
/// it back on the new address in that invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_renamed_away_and_restored_is_followed_and_the_old_database_never_touches_it() {
    let bed = Bed::start("rename-replace").await;
    let host = prod_instance(&bed).await;
    bed.set_ip(&host, [10, 0, 1, 5]);
    let route = bed.add_route("prod", &host, 5432).await;
    assert_eq!(route.spec.account.as_deref(), Some(ACCOUNT));
    let port = route.listener_port;

    // Renamed: the old name stops resolving; the renamed database keeps its address.
    let renamed = aws_sdk_rds::Client::new(&bed.sdk)
        .modify_db_instance()
        .db_instance_identifier("prod")
        .new_db_instance_identifier("prod-old")
        .apply_immediately(true)
        .send()
        .await
        .expect("instance renamed");
    let old_host = renamed
        .db_instance()
        .and_then(|i| i.endpoint())
        .and_then(|e| e.address())
        .expect("renamed endpoint")
        .to_owned();
    bed.dns.remove(&host);
    bed.set_ip(&old_host, [10, 0, 1, 5]);
    watch(&bed.ctx).await;
    let (status, body) = get_route(&bed.ctx, "prod").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "source_gone", "{body:#}");
    assert_eq!(body["listener_port"], port, "the port is kept");
    let reason = body["health"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("renamed"), "{reason}");
    assert_eq!(bed.targets(&route).await, Vec::<String>::new());

    // prod-old is deleted: its event names prod-old and reaches no route.
    let mut deleted = sample("rds-instance-deleted-0003.json");
    deleted["detail"]["SourceIdentifier"] = "prod-old".into();
    let summary = rds_event(&bed.ctx, deleted).await;
    assert_eq!(summary["decision"], "unrouted", "{summary:#}");
    assert_eq!(bed.route("prod").await.status, RouteStatus::SourceGone);

    // A restore takes the name back: its event brings the route back on the new address.
    prod_instance(&bed).await;
    bed.set_ip(&host, [10, 0, 2, 9]);
    let mut restored = sample("rds-instance-created-0005.json");
    restored["detail"]["EventID"] = "RDS-EVENT-0043".into();
    restored["detail"]["Message"] = "Restored from snapshot prod-final".into();
    restored["detail"]["SourceIdentifier"] = "prod".into();
    restored["time"] = "2026-11-25T12:00:00Z".into();
    restored["detail"]["Date"] = "2026-11-25T12:00:00Z".into();
    let summary = rds_event(&bed.ctx, restored).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.9:5432"]);
    let after = bed.route("prod").await;
    assert_eq!(after.status, RouteStatus::Active);
    assert_eq!(after.listener_port, port);
}

/// A PostgreSQL DB instance `prod` in moto's RDS; its endpoint. moto names an instance's
/// automated snapshot by the minute (`rds:prod-<minute>`) and keeps it after a rename, so an
/// earlier `prod`'s snapshot is deleted first.
async fn prod_instance(bed: &Bed) -> String {
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    let snapshots = rds.describe_db_snapshots().send().await.expect("snapshots");
    for id in snapshots
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .filter(|id| id.starts_with("rds:prod-"))
    {
        rds.delete_db_snapshot()
            .db_snapshot_identifier(id)
            .send()
            .await
            .expect("old snapshot deleted");
    }
    let out = rds
        .create_db_instance()
        .db_instance_identifier("prod")
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .send()
        .await
        .expect("instance prod");
    out.db_instance()
        .and_then(|i| i.endpoint())
        .and_then(|e| e.address())
        .expect("instance endpoint")
        .to_owned()
}

/// Case 4, a cluster rename (RDS-EVENT-0172, "Renamed cluster from billing to billing-new"):
/// the cluster's endpoints carry the new name, the route's name stops resolving. Before, the
/// event named only the new cluster and reached no route; the route learned nothing until its
/// name went gone. Now the event reaches the route of the old name at once, without polling
/// the dead name, and the route says what happened and what to do, in its health line too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_cluster_is_reported_with_its_new_name_without_polling_the_old_one() {
    let bed = Bed::start_with(
        "cluster-rename",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "5")],
    )
    .await;
    let cluster = aurora(&bed, "billing", &[Ipv4Addr::new(10, 0, 1, 30)]).await;
    let route = bed
        .add_route("billing", &cluster.writer_endpoint, 5432)
        .await;
    assert_eq!(route.spec.rds_identifier.as_deref(), Some("billing"));
    // A custom endpoint of the cluster: its name stays through the rename.
    let custom = aws_sdk_rds::Client::new(&bed.sdk)
        .create_db_cluster_endpoint()
        .db_cluster_identifier("billing")
        .db_cluster_endpoint_identifier("billing-reports")
        .endpoint_type("ANY")
        .send()
        .await
        .expect("custom endpoint")
        .endpoint()
        .expect("its name")
        .to_owned();
    bed.set_ip(&custom, [10, 0, 1, 30]);
    let reports = bed.add_route("billing-reports", &custom, 5432).await;
    assert_eq!(reports.spec.rds_identifier.as_deref(), Some("billing"));

    aws_sdk_rds::Client::new(&bed.sdk)
        .modify_db_cluster()
        .db_cluster_identifier("billing")
        .new_db_cluster_identifier("billing-new")
        .apply_immediately(true)
        .send()
        .await
        .expect("cluster renamed");
    bed.dns.remove(&cluster.writer_endpoint);
    let started = std::time::Instant::now();
    let summary = rds_event(&bed.ctx, sample("rds-cluster-renamed-0172.json")).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    let report = &summary["routes"][0];
    assert_eq!(report["route_id"], "billing", "{summary:#}");
    let reason = report["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("renamed to billing-new"), "{report:#}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "the dead name is not polled until the deadline: {:?}",
        started.elapsed()
    );

    watch(&bed.ctx).await;
    let (_, body) = get_route(&bed.ctx, "billing").await;
    // `source_gone`, or `pending` when the custom endpoint's route took the address first.
    assert_ne!(body["status"], "active", "{body:#}");
    assert_eq!(bed.targets(&route).await, Vec::<String>::new());
    let line = body["health"]["reason"].as_str().unwrap_or_default();
    assert!(line.contains("renamed to billing-new"), "{line}");
    assert!(line.contains("rename the cluster back"), "{line}");

    // The custom endpoint's route is not renamed away: it follows the cluster's events under
    // its new name.
    let reports = bed.route("billing-reports").await;
    assert_eq!(reports.renamed_to, None);
    assert_eq!(reports.spec.rds_identifier.as_deref(), Some("billing-new"));
    assert_eq!(reports.status, RouteStatus::Active);
}

/// Case 6, second half: RDS-EVENT-0248 "Switchover completed on blue/green deployment."
/// names only the deployment. Before, it reached no route, so a route on an Aurora cluster's
/// instance endpoint waited for the minute watch and its K window. Now the deployment's
/// databases, cluster instances included, come from DescribeBlueGreenDeployments, and the
/// route moves in the event's invocation (moto extended: a switchover renames the cluster's
/// instances too, tests/moto/rds_blue_green.py).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blue_green_switchover_event_reaches_the_routes_of_every_renamed_database() {
    let bed = Bed::start("bg-members").await;
    aurora(&bed, "ledger", &[Ipv4Addr::new(10, 0, 1, 40)]).await;
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    let blue_instance = rds
        .describe_db_instances()
        .db_instance_identifier("ledger-1")
        .send()
        .await
        .unwrap()
        .db_instances()[0]
        .endpoint()
        .and_then(|e| e.address())
        .unwrap()
        .to_owned();
    let route = bed.add_route("ledger-1", &blue_instance, 5432).await;
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.40:5432"]);

    let deployment = rds
        .create_blue_green_deployment()
        .blue_green_deployment_name("ledger-upgrade")
        .source(format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:ledger"))
        .send()
        .await
        .expect("blue/green deployment")
        .blue_green_deployment()
        .and_then(|d| d.blue_green_deployment_identifier())
        .unwrap()
        .to_owned();
    rds.switchover_blue_green_deployment()
        .blue_green_deployment_identifier(&deployment)
        .send()
        .await
        .expect("switchover");
    let switched = rds
        .describe_blue_green_deployments()
        .blue_green_deployment_identifier(&deployment)
        .send()
        .await
        .expect("deployment described")
        .blue_green_deployments()[0]
        .clone();
    let members: Vec<&str> = switched
        .switchover_details()
        .iter()
        .filter_map(|d| d.target_member())
        .collect();
    assert!(
        members.iter().any(|m| m.ends_with(":db:ledger-1")),
        "the green instance took the blue one's name: {members:?}"
    );
    // The instance endpoint keeps its name and leads to the green instance now.
    bed.set_ip(&blue_instance, [10, 0, 2, 41]);

    let mut event = sample("rds-bluegreen-switchover-completed-0248.json");
    let arn = format!("arn:aws:rds:us-east-1:{ACCOUNT}:deployment:{deployment}");
    event["resources"] = serde_json::json!([arn]);
    event["detail"]["SourceArn"] = arn.into();
    event["detail"]["SourceIdentifier"] = deployment.clone().into();
    let summary = rds_event(&bed.ctx, event).await;
    assert_eq!(summary["decision"], "handled", "{summary:#}");
    assert!(
        summary["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "ledger-1-old1"),
        "{summary:#}"
    );
    assert_eq!(bed.targets(&route).await, vec!["10.0.2.41:5432"]);
}

/// Case 5: a name with ten A records that answers a random eight per query (Route 53
/// multivalue answers: at most eight records a response). Before, K = 3 answers without a
/// live address removed it (and cut its connections); now the route sees that the name
/// samples its records (a full answer brings back an address an earlier one left out) and
/// keeps each address until 12 new draws missed it, so no live address leaves. A record
/// removed from the set still leaves within that window; and an ordinary name whose addresses
/// are replaced is not mistaken for one: its old addresses leave within K.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_answering_eight_of_its_ten_records_never_loses_a_live_target() {
    use router_tests::handlers::deregistrations_in_audits;
    let bed = Bed::start("multivalue").await;
    bed.dns.seed(7);
    let ten: Vec<Ipv4Addr> = (1..=10).map(|i| Ipv4Addr::new(10, 3, 0, i)).collect();
    bed.dns.set_multivalue("pool.db.test", &ten);
    let route = bed.add_route("pool", "pool.db.test", 5432).await;
    assert_eq!(
        deregistrations_in_audits(&bed.ctx, 40).await,
        0,
        "live addresses removed"
    );
    assert_eq!(bed.targets(&route).await.len(), 10);
    assert!(bed.route("pool").await.answers_sampled);

    // One record removed: it leaves within the sampled window (12 new draws).
    bed.dns.set_multivalue("pool.db.test", &ten[..9]);
    let mut runs = 0;
    while bed.targets(&route).await.len() > 9 {
        runs += 1;
        assert!(runs <= 20, "the removed record stays after {runs} audits");
        audit(&bed.ctx).await;
    }
    assert!(!bed
        .targets(&route)
        .await
        .contains(&"10.3.0.10:5432".to_owned()));

    // An ordinary name of eight addresses, two replaced: no sample, the old two leave in K.
    let eight: Vec<Ipv4Addr> = (1..=8).map(|i| Ipv4Addr::new(10, 4, 0, i)).collect();
    bed.dns.set_a("fixed.db.test", &eight);
    let fixed = bed.add_route("fixed", "fixed.db.test", 5432).await;
    let replaced: Vec<Ipv4Addr> = (3..=10).map(|i| Ipv4Addr::new(10, 4, 0, i)).collect();
    bed.dns.set_a("fixed.db.test", &replaced);
    for _ in 0..3 {
        audit(&bed.ctx).await;
    }
    assert!(!bed.route("fixed").await.answers_sampled);
    let targets = bed.targets(&fixed).await;
    assert_eq!(targets.len(), 8, "{targets:?}");
    assert!(
        !targets.contains(&"10.4.0.1:5432".to_owned()),
        "{targets:?}"
    );
}

/// Found by review: the guard that keeps a deletion event from ending a private alias that
/// leads elsewhere now applies only to aliases whose events were learned from their chain. A
/// private A record named with its database's identifier and account is ended by the
/// database's deletion at once: its record may go stale, and the address may be handed on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_event_ends_a_named_private_record_at_once() {
    let bed = Bed::start_with(
        "deleted-a-record",
        &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "5")],
    )
    .await;
    bed.set_ip("orders.corp.test", [10, 0, 1, 12]);
    let body = serde_json::json!({"name": "orders", "host": "orders.corp.test", "port": 5432,
        "rds_identifier": "orders-db", "account_id": ACCOUNT});
    let (status, reply) = post_route(&bed.ctx, &body, OWNER).await;
    assert_eq!(status, 201, "{reply:#}");
    let started = std::time::Instant::now();
    let summary = rds_event(&bed.ctx, sample("rds-instance-deleted-0003.json")).await;
    assert_eq!(
        summary["routes"][0]["status_after"], "source_deleted",
        "{summary:#}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "no NXDOMAIN wait"
    );
    let route = bed.route("orders").await;
    assert_eq!(bed.targets(&route).await, Vec::<String>::new());
}
