//! A port never leads to another database (issue #27): an IP stays on a route only while an
//! authority — a fresh answer of the route's own name, or the RDS API — says it is the route's
//! database's. Through the real handlers, the SDK, moto and the loopback DNS server.

use std::net::Ipv4Addr;
use std::time::Duration;

use aws_sdk_rds::Client as RdsClient;
use privatelink_router::domain::route::{Route, RouteStatus};
use router_tests::dns::Mode;
use router_tests::fixtures::{aurora, Bed};
use router_tests::handlers::{audit, get_route, rds_event, sample, watch};
use serde_json::Value;

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
const REPORTS: &str = "reports-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

/// The bound the tests configure (`ROUTER_GONE_AFTER_SECONDS`): 3 s, so two watches run back
/// to back on a loaded machine stay within it (the streak's start is stored in whole seconds).
const BOUND: &str = "3";

/// More than [`BOUND`] past the first NXDOMAIN, whole seconds included.
const PAST_THE_BOUND: Duration = Duration::from_millis(4_200);

fn reconciled(report: &Value) -> Vec<String> {
    serde_json::from_value(report["routes_reconciled"].clone()).unwrap_or_default()
}

/// Case 1, first half: `orders-db` is deleted and no event reaches the router (a bare host,
/// account unknown); its name answers NXDOMAIN from then on. The targets stay while the
/// NXDOMAIN streak is younger than the bound (a lookup that misses is no proof), then go at the
/// first watch past it: the route is `source_gone`, its port and listener kept, `not_serving`
/// with the reason, in the audit's alarm list. When the name resolves again, it follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_stays_nxdomain_loses_its_targets_after_the_bound_and_comes_back() {
    let bed = Bed::start_with("gone", &[("ROUTER_GONE_AFTER_SECONDS", BOUND)]).await;
    bed.set_ip(ORDERS, [10, 0, 1, 90]);
    bed.set_ip(REPORTS, [10, 0, 1, 91]);
    let orders = bed.add_route("orders", ORDERS, 5432).await;
    let reports = bed.add_route("reports", REPORTS, 5432).await;
    assert_eq!(orders.spec.account, None, "a bare host of unknown account");
    audit(&bed.ctx).await;

    bed.dns.remove(ORDERS);
    let first = watch(&bed.ctx).await;
    assert_eq!(
        reconciled(&first),
        ["orders"],
        "the streak's start is stored: {first:#}"
    );
    assert_eq!(
        bed.targets(&orders).await,
        ["10.0.1.90:5432"],
        "one NXDOMAIN is no proof"
    );
    let quiet = watch(&bed.ctx).await;
    assert_eq!(reconciled(&quiet), Vec::<String>::new(), "{quiet:#}");
    assert_eq!(
        quiet["aws_calls"]["PutItem"].as_u64().unwrap_or(0),
        0,
        "{quiet:#}"
    );

    tokio::time::sleep(PAST_THE_BOUND).await;
    let gone = watch(&bed.ctx).await;
    assert_eq!(reconciled(&gone), ["orders"], "{gone:#}");
    assert_eq!(bed.targets(&orders).await, Vec::<String>::new());
    let stored = bed.route("orders").await;
    assert_eq!(stored.status, RouteStatus::SourceGone);
    assert_eq!(stored.listener_port, orders.listener_port);
    assert_eq!(stored.listener_arn, orders.listener_arn, "listener kept");
    assert_eq!(
        bed.targets(&reports).await,
        ["10.0.1.91:5432"],
        "others untouched"
    );

    let (status, body) = get_route(&bed.ctx, "orders").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "source_gone", "{body:#}");
    assert_eq!(body["health"]["health"], "not_serving", "{body:#}");
    let reason = body["health"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("NXDOMAIN") && reason.contains(ORDERS),
        "{reason}"
    );
    let report = audit(&bed.ctx).await;
    assert_eq!(
        report["routes_not_serving"][0]["route_id"], "orders",
        "a vanished name is an alarm: {report:#}"
    );
    assert_eq!(
        report["dns_failures"][0]["status"], "source_gone",
        "listed, but alarmed once, as not serving (the DnsFailures metric leaves it out)"
    );
    let quiet = watch(&bed.ctx).await;
    assert_eq!(reconciled(&quiet), Vec::<String>::new(), "{quiet:#}");

    // A new database takes the name: the route follows it by itself.
    bed.set_ip(ORDERS, [10, 0, 1, 95]);
    let back = watch(&bed.ctx).await;
    assert_eq!(reconciled(&back), ["orders"], "{back:#}");
    assert_eq!(bed.targets(&orders).await, ["10.0.1.95:5432"]);
    let stored = bed.route("orders").await;
    assert_eq!(stored.status, RouteStatus::Active);
    assert_eq!(stored.name_gone_since, None);
}

/// Only NXDOMAIN is an answer: SERVFAIL and timeouts, however long they last, leave every
/// target where it is (fail-static), and a name that answers again in time ends the streak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servfail_and_a_short_nxdomain_never_remove_targets() {
    let bed = Bed::start_with("gone-static", &[("ROUTER_GONE_AFTER_SECONDS", BOUND)]).await;
    bed.set_ip(ORDERS, [10, 0, 2, 90]);
    let orders = bed.add_route("orders", ORDERS, 5432).await;
    bed.dns.set_mode(Mode::ServFail);
    watch(&bed.ctx).await;
    tokio::time::sleep(PAST_THE_BOUND).await;
    watch(&bed.ctx).await;
    audit(&bed.ctx).await;
    assert_eq!(bed.targets(&orders).await, ["10.0.2.90:5432"]);
    bed.dns.set_mode(Mode::Normal);

    bed.dns.remove(ORDERS);
    watch(&bed.ctx).await;
    bed.set_ip(ORDERS, [10, 0, 2, 90]);
    watch(&bed.ctx).await;
    assert_eq!(
        bed.route("orders").await.name_gone_since,
        None,
        "the streak ended"
    );
    bed.dns.remove(ORDERS);
    tokio::time::sleep(PAST_THE_BOUND).await;
    watch(&bed.ctx).await;
    assert_eq!(
        bed.targets(&orders).await,
        ["10.0.2.90:5432"],
        "a new streak starts from its own first NXDOMAIN"
    );
    assert_eq!(bed.route("orders").await.status, RouteStatus::Active);
}

/// Fails the cluster over to `<id>-2` in moto's RDS and moves the writer endpoint's DNS
/// record with it, as Aurora does; no event is delivered.
async fn fail_over(bed: &Bed, id: &str, writer: &str, new_ip: Ipv4Addr) {
    RdsClient::new(&bed.sdk)
        .failover_db_cluster()
        .db_cluster_identifier(id)
        .target_db_instance_identifier(format!("{id}-2"))
        .send()
        .await
        .expect("failover");
    bed.dns.set_a(writer, &[new_ip]);
}

/// Minute-watches until `ip` is no longer a target of `route` (at most 6); how many it took.
async fn watches_until_gone(bed: &Bed, route: &Route, ip: &str) -> usize {
    for n in 1..=6 {
        watch(&bed.ctx).await;
        if !bed.targets(route).await.iter().any(|t| t.starts_with(ip)) {
            return n;
        }
    }
    panic!("{ip} still a target of {} after 6 watches", route.id());
}

/// Case 2: an Aurora cluster `billing` (writer `billing-1` 10.2.0.10, `billing-2` 10.2.0.11)
/// fails over and no event reaches the router. DescribeDBClusters says who writes
/// (`IsClusterWriter`): the demoted writer — now a read-only reader that fails every write —
/// leaves at the first watch, with no K window. Without the RDS API the route still follows
/// DNS with its window (3 watches: the fallback, unchanged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_writer_leaves_at_the_first_watch_when_the_rds_api_names_the_writer() {
    let (old, new) = (Ipv4Addr::new(10, 2, 0, 10), Ipv4Addr::new(10, 2, 0, 11));
    let bed = Bed::start("writer").await;
    let writer = aurora(&bed, "billing", &[old, new]).await.writer_endpoint;
    let route = bed.add_route("billing", &writer, 5432).await;
    assert_eq!(bed.targets(&route).await, ["10.2.0.10:5432"]);
    fail_over(&bed, "billing", &writer, new).await;
    assert_eq!(watches_until_gone(&bed, &route, "10.2.0.10").await, 1);
    assert_eq!(bed.targets(&route).await, ["10.2.0.11:5432"]);

    // The same cluster with the RDS API off: DNS and the K window, as before.
    let bed = Bed::start_with("writer-dns", &[("ROUTER_RDS_MEMBERSHIP", "false")]).await;
    let writer = aurora(&bed, "ledger", &[old, new]).await.writer_endpoint;
    let route = bed.add_route("ledger", &writer, 5432).await;
    fail_over(&bed, "ledger", &writer, new).await;
    assert_eq!(watches_until_gone(&bed, &route, "10.2.0.10").await, 3);
    assert_eq!(bed.targets(&route).await, ["10.2.0.11:5432"]);
}

/// Case 2 with the event: RDS-EVENT-0071 (cluster failover completed) moves the writer in
/// its own invocation, from the RDS API, without waiting for DNS to move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_failover_event_moves_the_writer_from_the_rds_api_before_dns_moves() {
    let (old, new) = (Ipv4Addr::new(10, 2, 1, 10), Ipv4Addr::new(10, 2, 1, 11));
    let bed = Bed::start_with("writer-event", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "1")]).await;
    let writer = aurora(&bed, "billing-aurora", &[old, new])
        .await
        .writer_endpoint;
    let route = bed.add_route("billing", &writer, 5432).await;
    RdsClient::new(&bed.sdk)
        .failover_db_cluster()
        .db_cluster_identifier("billing-aurora")
        .target_db_instance_identifier("billing-aurora-2")
        .send()
        .await
        .expect("failover");
    // DNS still names the old writer ("DNS propagation may take a few minutes").
    let summary = rds_event(&bed.ctx, sample("rds-cluster-failover-completed-0071.json")).await;
    assert_eq!(summary["routes"][0]["result"], "reconciled", "{summary:#}");
    assert_eq!(bed.targets(&route).await, ["10.2.1.11:5432"], "{summary:#}");
}

fn ip_reused(report: &Value) -> Vec<(String, String, Vec<String>)> {
    report["ip_reused"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|r| {
            (
                r["route_id"].as_str().unwrap().to_owned(),
                r["ip"].as_str().unwrap().to_owned(),
                serde_json::from_value(r["claimed_by"].clone()).unwrap(),
            )
        })
        .collect()
}

/// Case 1, second half: RDS hands `orders-db`'s old IP to `reports-db`. `orders` still holds
/// 10.0.1.90 (its name answers NXDOMAIN, still within the bound: fail-static); `reports`' name
/// answers it. In that one watch the IP leaves `orders` and is registered on `reports` only,
/// reported as `ip_reused` naming both routes. A creation event for the old name whose stale
/// answer still says 10.0.1.90, an audit and a sync do not bring it back; a new address does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_another_database_answers_leaves_every_other_route_in_the_same_run() {
    let bed = Bed::start("reuse").await;
    bed.set_ip(ORDERS, [10, 0, 1, 90]);
    bed.set_ip(REPORTS, [10, 0, 1, 91]);
    let orders = bed.add_route("orders", ORDERS, 5432).await;
    let reports = bed.add_route("reports", REPORTS, 5432).await;
    bed.dns.remove(ORDERS);
    watch(&bed.ctx).await;
    assert_eq!(
        bed.targets(&orders).await,
        ["10.0.1.90:5432"],
        "within the bound"
    );

    bed.set_ip(REPORTS, [10, 0, 1, 90]);
    let run = watch(&bed.ctx).await;
    assert_eq!(bed.targets(&orders).await, Vec::<String>::new(), "{run:#}");
    assert!(bed
        .targets(&reports)
        .await
        .contains(&"10.0.1.90:5432".to_owned()));
    assert_eq!(
        ip_reused(&run),
        [("orders".into(), "10.0.1.90".into(), vec!["reports".into()])],
        "{run:#}"
    );

    // The old name comes back with a stale answer, and its creation event arrives.
    bed.set_ip(ORDERS, [10, 0, 1, 90]);
    let summary = rds_event(&bed.ctx, sample("rds-instance-created-0005.json")).await;
    assert_eq!(summary["routes"][0]["route_id"], "orders", "{summary:#}");
    assert_eq!(
        bed.targets(&orders).await,
        Vec::<String>::new(),
        "{summary:#}"
    );
    let report = audit(&bed.ctx).await;
    watch(&bed.ctx).await;
    let (status, _) = router_tests::handlers::sync_route(&bed.ctx, "orders").await;
    assert_eq!(status, 200);
    assert_eq!(
        bed.targets(&orders).await,
        Vec::<String>::new(),
        "{report:#}"
    );
    assert!(bed
        .targets(&reports)
        .await
        .contains(&"10.0.1.90:5432".to_owned()));

    // orders-db is re-created with an address of its own: the route follows it.
    bed.set_ip(ORDERS, [10, 0, 1, 97]);
    watch(&bed.ctx).await;
    assert_eq!(bed.targets(&orders).await, ["10.0.1.97:5432"]);
    assert_eq!(bed.targets(&reports).await, ["10.0.1.90:5432"]);
}

/// Two routes whose names both answer an IP now (a private alias and the RDS name) both keep
/// it: run after run, nothing is reused, nothing moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_and_its_rds_name_both_keep_the_ip() {
    let bed = Bed::start("alias").await;
    bed.set_ip(ORDERS, [10, 0, 3, 90]);
    bed.dns.set_cname("orders.db.internal.test", ORDERS);
    let rds = bed.add_route("orders", ORDERS, 5432).await;
    let alias = bed
        .add_route("orders-alias", "orders.db.internal.test", 5432)
        .await;
    for _ in 0..2 {
        let w = watch(&bed.ctx).await;
        let a = audit(&bed.ctx).await;
        assert!(
            ip_reused(&w).is_empty() && ip_reused(&a).is_empty(),
            "{w:#} {a:#}"
        );
    }
    assert_eq!(bed.targets(&rds).await, ["10.0.3.90:5432"]);
    assert_eq!(bed.targets(&alias).await, ["10.0.3.90:5432"]);
}

/// The listener on `route`'s port of `bed`'s NLB: the target group it forwards to.
async fn forwards_to(bed: &Bed, route: &Route) -> Option<String> {
    bed.ctx
        .elb
        .listeners(&bed.network.nlb_arn)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.port == route.listener_port)
        .and_then(|l| l.forward_to)
}

/// Case 3: the module deployed twice in one account and region (`plr-a`, `plr-b`: dev and
/// prod), each with its own NLB, table and Lambdas and the same router id `r1`. Both create
/// `orders` for their own database, both audit, A's database moves, B deletes its route: each
/// listener forwards only to its own target group, holding only its own database's IPs, and
/// neither audit touches the other's resources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deployments_in_one_account_never_share_a_target_group() {
    let a = Bed::start_as("dep-a", Some("r1"), &[("ROUTER_DEPLOYMENT", "plr-a")]).await;
    let b = Bed::start_as("dep-b", Some("r1"), &[("ROUTER_DEPLOYMENT", "plr-b")]).await;
    a.set_ip(ORDERS, [10, 0, 1, 50]);
    b.set_ip(ORDERS, [10, 0, 1, 60]);
    let ra = a.add_route("orders", ORDERS, 5432).await;
    let rb = b.add_route("orders", ORDERS, 5432).await;
    assert_ne!(
        ra.target_group_arn, rb.target_group_arn,
        "one target group each"
    );
    for _ in 0..2 {
        let (ra_report, rb_report) = (audit(&a.ctx).await, audit(&b.ctx).await);
        for r in [&ra_report, &rb_report] {
            assert_eq!(r["repaired"], serde_json::json!({}), "no fight: {r:#}");
            assert_eq!(r["orphans"]["found"], serde_json::json!([]), "{r:#}");
        }
    }
    a.set_ip(ORDERS, [10, 0, 1, 51]);
    for _ in 0..3 {
        watch(&a.ctx).await;
        watch(&b.ctx).await;
    }
    audit(&a.ctx).await;
    audit(&b.ctx).await;
    assert_eq!(a.targets(&ra).await, ["10.0.1.51:5432"]);
    assert_eq!(b.targets(&rb).await, ["10.0.1.60:5432"]);
    assert_eq!(forwards_to(&a, &ra).await, ra.target_group_arn);
    assert_eq!(forwards_to(&b, &rb).await, rb.target_group_arn);
    let tags = a
        .ctx
        .elb
        .tags_of(&[ra.target_group_arn.clone().unwrap()])
        .await
        .unwrap();
    assert_eq!(
        tags.values().next().unwrap()["privatelink-router:deployment"],
        "plr-a"
    );

    privatelink_router::flows::service::delete(&b.ctx, &Bed::owner(), "orders")
        .await
        .expect("B deletes its own route");
    let report = audit(&b.ctx).await;
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    let report = audit(&a.ctx).await;
    assert_eq!(
        report["orphans"]["found"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(a.targets(&ra).await, ["10.0.1.51:5432"]);
    assert_eq!(forwards_to(&a, &ra).await, ra.target_group_arn);
}

/// Routes stored before the deployment tag: their target group keeps its name (stored routes
/// carry it), and the next audit tags the target group and listener with the deployment once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_stored_before_the_deployment_tag_keep_their_names_and_are_tagged_once() {
    use privatelink_router::adapters::aws::store::RouteStore;
    let bed = Bed::start("legacy").await;
    bed.set_ip(ORDERS, [10, 0, 4, 90]);
    let route = bed.add_route("orders", ORDERS, 5432).await;
    let arns = vec![
        route.target_group_arn.clone().unwrap(),
        route.listener_arn.clone().unwrap(),
    ];
    aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk)
        .remove_tags()
        .set_resource_arns(Some(arns.clone()))
        .tag_keys("privatelink-router:deployment")
        .send()
        .await
        .expect("tags removed");
    // The item as today's code stored it: no deployment_tagged field.
    let mut item = serde_json::to_value(bed.route("orders").await).unwrap();
    assert!(item
        .as_object_mut()
        .unwrap()
        .remove("deployment_tagged")
        .is_some());
    let mut legacy: Route = serde_json::from_value(item).unwrap();
    assert!(!legacy.deployment_tagged);
    legacy.version += 1;
    bed.ctx.store.save(&legacy).await.unwrap();

    let first = audit(&bed.ctx).await;
    assert_eq!(first["repaired"]["deployment_tagged"], 1, "{first:#}");
    let tags = bed.ctx.elb.tags_of(&arns).await.unwrap();
    for arn in &arns {
        assert_eq!(
            tags[arn]["privatelink-router:deployment"],
            "privatelink-router"
        );
    }
    let stored = bed.route("orders").await;
    assert!(stored.deployment_tagged);
    assert_eq!(
        stored.target_group_arn, route.target_group_arn,
        "same group"
    );
    let second = audit(&bed.ctx).await;
    assert!(
        second["repaired"].get("deployment_tagged").is_none(),
        "{second:#}"
    );
}

/// Creates a network interface holding `ip` in the bed's first subnet, as RDS (description
/// `RDSNetworkInterface`) or another service would; returns its id.
async fn interface(bed: &Bed, ip: &str, description: &str) -> String {
    aws_sdk_ec2::Client::new(&bed.sdk)
        .create_network_interface()
        .subnet_id(&bed.network.subnets[0].id)
        .private_ip_address(ip)
        .description(description)
        .send()
        .await
        .expect("network interface created")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .expect("interface id")
        .to_owned()
}

/// Case 4: a reader endpoint followed by DNS (the RDS API off) keeps a reader its answers stop
/// naming for the 2-hour retention, because a live reader may go unanswered that long. Before
/// such an IP is kept past K lookups, EC2 must show an RDS network interface holding it: a
/// live reader's stays; once the reader is gone and a Lambda's interface took its address, the
/// IP leaves at the first watch — not two hours later, when "it fails its health check" would
/// be false (the new owner accepts the connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_departed_reader_leaves_at_once_when_no_rds_interface_holds_its_ip() {
    use privatelink_router::adapters::aws::store::RouteStore;
    let bed = Bed::start_with("liveness", &[("ROUTER_RDS_MEMBERSHIP", "false")]).await;
    let reader = "ledger.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com";
    let ips = ["10.0.1.121", "10.0.1.122", "10.0.1.123"];
    let mut enis = Vec::new();
    for ip in ips {
        enis.push(interface(&bed, ip, "RDSNetworkInterface").await);
    }
    let all: Vec<Ipv4Addr> = ips.iter().map(|i| i.parse().unwrap()).collect();
    bed.dns.set_a(reader, &all);
    let route = bed
        .add_route_in(
            "ledger-ro",
            reader,
            5432,
            Some(router_tests::fixtures::ACCOUNT),
        )
        .await;
    assert_eq!(bed.targets(&route).await.len(), 3);
    // History: .123 has been missing from two counted lookups, a minute apart.
    let now = chrono::Utc::now().timestamp();
    let mut stored = bed.route("ledger-ro").await;
    stored.sightings = serde_json::from_value(serde_json::json!({
        "10.0.1.121": 0,
        "10.0.1.122": 0,
        "10.0.1.123": {"misses": 2, "since": now - 120, "counted_at": now - 60},
    }))
    .unwrap();
    stored.version += 1;
    bed.ctx.store.save(&stored).await.unwrap();
    bed.dns.set_round_robin(reader, &all[..2]);

    // A live reader that DNS did not name: its RDS interface vouches for it.
    watch(&bed.ctx).await;
    assert_eq!(bed.targets(&route).await.len(), 3, "a live reader stays");

    // The reader is deleted; a Lambda's interface takes its address.
    let ec2 = aws_sdk_ec2::Client::new(&bed.sdk);
    ec2.delete_network_interface()
        .network_interface_id(&enis[2])
        .send()
        .await
        .unwrap();
    interface(&bed, "10.0.1.123", "AWS Lambda VPC ENI-other-team").await;
    let run = watch(&bed.ctx).await;
    assert_eq!(
        bed.targets(&route).await,
        ["10.0.1.121:5432", "10.0.1.122:5432"],
        "{run:#}"
    );
    assert!(!bed
        .route("ledger-ro")
        .await
        .sightings
        .ips()
        .contains(&"10.0.1.123".parse().unwrap()));
}

/// Case 1, the event: a bare host's account is unknown at creation (its database was not in
/// the router's RDS API then), so an RDS-EVENT-0003 would act only once the name stops
/// resolving. The audit learns the account from the endpoint name's hash — the hash of the
/// router's own databases (any DB instance DescribeDBInstances lists) — and from then on the
/// deletion event removes the targets in its own invocation, while DNS still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_learns_a_bare_hosts_account_so_a_deletion_event_acts_at_once() {
    let bed = Bed::start("learn-account").await;
    // A database of the router's account: moto names instances <id>.aaaaaaaaaa.<region>….
    router_tests::fixtures::postgres_instance(&bed.sdk, "anchor-db").await;
    let host = "orders-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 0, 5, 90]);
    let route = bed.add_route("orders", host, 5432).await;
    assert_eq!(route.spec.account, None, "orders-db is not in the RDS API");
    let report = audit(&bed.ctx).await;
    assert_eq!(report["repaired"]["account_learned"], 1, "{report:#}");
    assert_eq!(
        bed.route("orders").await.spec.account.as_deref(),
        Some(router_tests::fixtures::ACCOUNT)
    );
    let summary = rds_event(&bed.ctx, sample("rds-instance-deleted-0003.json")).await;
    assert_eq!(
        summary["routes"][0]["status_after"], "source_deleted",
        "{summary:#}"
    );
    assert_eq!(bed.targets(&route).await, Vec::<String>::new());
}

/// Rule 1 with the authority: a route whose account the router's RDS API covers, whose name
/// answers NXDOMAIN and whose database DescribeDBInstances no longer knows, loses its targets
/// at the first watch that sees it — no bound to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_the_rds_api_no_longer_knows_is_gone_at_the_first_watch() {
    let bed = Bed::start("gone-confirmed").await;
    let host = router_tests::fixtures::postgres_instance(&bed.sdk, "gone-db").await;
    bed.set_ip(&host, [10, 0, 6, 90]);
    let route = bed.add_route("gone", &host, 5432).await;
    assert_eq!(
        route.spec.account.as_deref(),
        Some(router_tests::fixtures::ACCOUNT),
        "learned at creation"
    );
    RdsClient::new(&bed.sdk)
        .delete_db_instance()
        .db_instance_identifier("gone-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("instance deleted");
    bed.dns.remove(&host);
    let run = watch(&bed.ctx).await;
    assert_eq!(bed.targets(&route).await, Vec::<String>::new(), "{run:#}");
    assert_eq!(bed.route("gone").await.status, RouteStatus::SourceGone);
}

/// Found by re-reading the change: a `pending` route waits for its database to be created; its
/// name answering NXDOMAIN past the bound makes it neither `source_gone` nor an alarm, and the
/// watch leaves it alone after recording the streak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_route_waiting_for_its_database_never_becomes_source_gone() {
    let bed = Bed::start_with("gone-pending", &[("ROUTER_GONE_AFTER_SECONDS", BOUND)]).await;
    let route = bed.add_route("orders", ORDERS, 5432).await;
    assert_eq!(route.status, RouteStatus::Pending);
    watch(&bed.ctx).await;
    tokio::time::sleep(PAST_THE_BOUND).await;
    let later = watch(&bed.ctx).await;
    assert_eq!(reconciled(&later), Vec::<String>::new(), "{later:#}");
    let report = audit(&bed.ctx).await;
    assert_eq!(bed.route("orders").await.status, RouteStatus::Pending);
    assert_eq!(
        report["routes_not_serving"],
        serde_json::json!([]),
        "{report:#}"
    );
}
