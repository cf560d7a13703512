//! A database is known by (account, region, endpoint name), never by its identifier alone
//! (issues #13/#14; found by a review): same-named databases in another account or region,
//! restored databases, custom endpoints, and an RDS API that hangs. Real handlers, SDK, moto,
//! loopback DNS.

use std::net::Ipv4Addr;

use aws_sdk_rds::Client as RdsClient;
use privatelink_router::domain::rds_events::{classify, Action as EventAction};
use privatelink_router::domain::route::RouteStatus;
use privatelink_router::flows::service::{self, CreateRequest};
use router_tests::fixtures::{aurora, Bed, ACCOUNT};
use router_tests::handlers::{audit, rds_event, rds_event_at};
use serde_json::{json, Value};

const OTHER: &str = "210987654321";

/// An event sample re-aimed at `account`, `region`, `identifier` (kind `db` or `cluster`).
fn aimed(
    file: &str,
    time: &str,
    account: &str,
    region: &str,
    kind: &str,
    identifier: &str,
) -> Value {
    let mut ev = rds_event_at(file, time);
    let arn = format!("arn:aws:rds:{region}:{account}:{kind}:{identifier}");
    ev["account"] = json!(account);
    ev["region"] = json!(region);
    ev["resources"] = json!([arn]);
    ev["detail"]["SourceArn"] = json!(arn);
    ev["detail"]["SourceIdentifier"] = json!(identifier);
    ev
}

/// An Aurora cluster in moto (the router's own account) with `n` instances; instance k's
/// endpoint resolves to 10.<net>.0.<20+k>. Returns the cluster's reader endpoint name.
async fn own_cluster(bed: &Bed, id: &str, n: u8, net: u8) -> String {
    let ips: Vec<Ipv4Addr> = (1..=n).map(|k| Ipv4Addr::new(10, net, 0, 20 + k)).collect();
    aurora(bed, id, &ips).await.reader_endpoint
}

/// #14 + #13: a route that names another account's reader endpoint. An event from that
/// account reaches it (right), but the event path reads the members of the *router's own*
/// account's same-named cluster and makes them the targets, deregistering the live readers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_reads_members_in_the_routes_account_never_a_same_named_cluster_of_ours() {
    let accounts = format!("{ACCOUNT},{OTHER}");
    let bed = Bed::start_with(
        "rev-xmembers",
        &[
            ("ROUTER_EVENT_ACCOUNTS", &accounts),
            ("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2"),
        ],
    )
    .await;
    // Our own account happens to have a cluster of the same name (e.g. staging vs prod).
    own_cluster(&bed, "pbill", 3, 7).await;
    // The route follows account 210987654321's pbill reader endpoint (other hash).
    let host = "pbill.cluster-ro-zz0other0hash.us-east-1.rds.amazonaws.com";
    bed.dns.set_a(
        host,
        &[Ipv4Addr::new(10, 8, 0, 22), Ipv4Addr::new(10, 8, 0, 23)],
    );
    let route = bed.add_route_in("pbill-ro", host, 5432, Some(OTHER)).await;
    assert_eq!(
        bed.targets(&route).await,
        ["10.8.0.22:5432", "10.8.0.23:5432"]
    );

    let ev = aimed(
        "rds-cluster-failover-completed-0071.json",
        "2026-11-30T10:00:00Z",
        OTHER,
        "us-east-1",
        "cluster",
        "pbill",
    );
    let summary = rds_event(&bed.ctx, ev).await;
    let after_event = bed.targets(&route).await;
    let report = audit(&bed.ctx).await;
    let after_audit = bed.targets(&route).await;
    eprintln!("event summary: {:#}", summary["routes"]);
    eprintln!("after event: {after_event:?}\nafter audit: {after_audit:?}");
    eprintln!("audit routes: {:#}", report["routes"]);
    assert_eq!(
        after_event,
        ["10.8.0.22:5432", "10.8.0.23:5432"],
        "the other account's live readers must stay, and our own cluster's IPs must not appear"
    );
}

/// #14: the account is "learned" from the router's own RDS API by identifier only: a
/// same-named database in our account makes a route that names another account's endpoint
/// #14: the account is "learned" from the router's own RDS API by identifier only: a
/// same-named database in our account makes a route that names another account's endpoint
/// (other hash) belong to our account. Our account's deletion then ends that route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_is_learned_only_for_the_very_endpoint_name_not_a_same_named_database() {
    let accounts = format!("{ACCOUNT},{OTHER}");
    let bed = Bed::start_with(
        "rev-learn",
        &[
            ("ROUTER_EVENT_ACCOUNTS", &accounts),
            ("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2"),
        ],
    )
    .await;
    let own_address = router_tests::fixtures::postgres_instance(&bed.sdk, "porders").await;
    let host = "porders.zz0other0hash.us-east-1.rds.amazonaws.com";
    assert_ne!(own_address, host);
    bed.set_ip(host, [10, 9, 0, 5]);
    let route = bed.add_route("porders", host, 5432).await;
    eprintln!(
        "own instance endpoint: {own_address}; route host: {host}; learned account: {:?}",
        route.spec.account
    );
    // Our own porders is deleted; the route's database (another account's) is untouched and
    // its name still answers 10.9.0.5.
    let ev = aimed(
        "rds-instance-deleted-0003.json",
        "2026-11-30T10:00:00Z",
        ACCOUNT,
        "us-east-1",
        "db",
        "porders",
    );
    let summary = rds_event(&bed.ctx, ev).await;
    let stored = bed.route("porders").await;
    eprintln!("summary: {:#}", summary["routes"]);
    assert_eq!(
        stored.status,
        RouteStatus::Active,
        "route learned account {:?} from a same-named database; targets now {:?}",
        route.spec.account,
        bed.targets(&route).await
    );
}

/// #14: `rds_arn` gives the database's region, but only the host name's region is checked; a
/// route whose host is not an RDS name (a private CNAME) is ended by a same-named database's
/// #14: `rds_arn` gives the database's region, but only the host name's region is checked; a
/// route whose host is not an RDS name (a private CNAME) is ended by a same-named database's
/// deletion in another region of the same account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_of_rds_arn_keeps_other_regions_events_away() {
    let bed = Bed::start_with("rev-region", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")]).await;
    let host = "orders.db.example.internal";
    bed.set_ip(host, [10, 1, 2, 3]);
    let req = CreateRequest {
        name: "pregion".into(),
        host: host.into(),
        port: 5432,
        protocol: None,
        health_check: None,
        tags: Default::default(),
        rds_identifier: None,
        account_id: None,
        rds_arn: Some(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:pregion-db")),
        listener_port: None,
        router: None,
        target_group: None,
        tls_name: false,
        engine: None,
        idle_timeout_seconds: None,
    };
    let (route, _) = service::create(&bed.ctx, &Bed::owner(), &req)
        .await
        .expect("created");
    assert_eq!(route.spec.rds_identifier.as_deref(), Some("pregion-db"));
    // The eu-west-1 copy of pregion-db (a DR replica, same account, same name) is deleted.
    let ev = aimed(
        "rds-instance-deleted-0003.json",
        "2026-11-30T10:00:00Z",
        ACCOUNT,
        "eu-west-1",
        "db",
        "pregion-db",
    );
    let summary = rds_event(&bed.ctx, ev).await;
    eprintln!("summary: {:#}", summary["routes"]);
    assert_eq!(
        bed.route("pregion").await.status,
        RouteStatus::Active,
        "an eu-west-1 deletion ended a route whose rds_arn says us-east-1; targets {:?}",
        bed.targets(&route).await
    );
}

/// #14 table: RDS-EVENT-0043 "Restored from snapshot" (DB instance, restoration; both guides)
/// is not in the table. 0019 (point-in-time restore) is `created`; 0043 falls to `reresolve`,
/// #14 table: RDS-EVENT-0043 "Restored from snapshot" (DB instance, restoration; both guides)
/// is not in the table. 0019 (point-in-time restore) is `created`; 0043 falls to `reresolve`,
/// which a `source_deleted` route skips — the restored database never gets its route back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_from_snapshot_brings_a_deleted_route_back() {
    eprintln!(
        "0019 → {:?}, 0043 → {:?}",
        classify("RDS-EVENT-0019", "db-instance"),
        classify("RDS-EVENT-0043", "db-instance")
    );
    let bed = Bed::start_with("rev-restore", &[("ROUTER_DNS_POLL_DEADLINE_SECONDS", "2")]).await;
    let host = "prestore.c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 1, 2, 3]);
    let route = bed
        .add_route_in("prestore", host, 5432, Some(ACCOUNT))
        .await;
    let del = aimed(
        "rds-instance-deleted-0003.json",
        "2026-11-30T10:00:00Z",
        ACCOUNT,
        "us-east-1",
        "db",
        "prestore",
    );
    rds_event(&bed.ctx, del).await;
    assert_eq!(
        bed.route("prestore").await.status,
        RouteStatus::SourceDeleted
    );
    // Restored from a snapshot under the same name, new IP.
    bed.set_ip(host, [10, 1, 3, 3]);
    let mut restored = aimed(
        "rds-instance-deleted-0003.json",
        "2026-11-30T10:30:00Z",
        ACCOUNT,
        "us-east-1",
        "db",
        "prestore",
    );
    restored["detail"]["EventID"] = json!("RDS-EVENT-0043");
    restored["detail"]["EventCategories"] = json!(["restoration"]);
    restored["detail"]["Message"] = json!("Restored from snapshot prestore-final");
    let summary = rds_event(&bed.ctx, restored).await;
    audit(&bed.ctx).await;
    eprintln!(
        "0043 summary: decision={} action={} routes={:#}",
        summary["decision"], summary["action"], summary["routes"]
    );
    assert_eq!(
        classify("RDS-EVENT-0043", "db-instance"),
        EventAction::Created,
        "documented restoration event missing from EVENT_IDS"
    );
    assert_ne!(
        bed.route("prestore").await.status,
        RouteStatus::SourceDeleted,
        "targets: {:?}",
        bed.targets(&route).await
    );
}

/// #13: a route whose host is a private CNAME to an Aurora reader endpoint is classified by
/// the CNAME's name, so it gets the K-lookups window (and no RDS membership): live readers are
/// #14: a custom-endpoint route is indexed by the endpoint's name, but cluster events (0071
/// failover) name the cluster: no event ever reaches a custom-endpoint route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_events_reach_custom_endpoint_routes() {
    let bed = Bed::start("rev-custom").await;
    own_cluster(&bed, "pcu", 3, 6).await;
    let rds = RdsClient::new(&bed.sdk);
    let created = rds
        .create_db_cluster_endpoint()
        .db_cluster_identifier("pcu")
        .db_cluster_endpoint_identifier("pcu-an")
        .endpoint_type("READER")
        .static_members("pcu-2")
        .static_members("pcu-3")
        .send()
        .await
        .expect("custom endpoint");
    let host = created.endpoint().unwrap().to_owned();
    bed.dns.set_random(
        &host,
        &[Ipv4Addr::new(10, 6, 0, 22), Ipv4Addr::new(10, 6, 0, 23)],
    );
    let route = bed.add_route("pcu-an", &host, 5432).await;
    eprintln!(
        "custom route rds_identifier = {:?}",
        route.spec.rds_identifier
    );
    let ev = aimed(
        "rds-cluster-failover-completed-0071.json",
        "2026-11-30T10:00:00Z",
        ACCOUNT,
        "us-east-1",
        "cluster",
        "pcu",
    );
    let summary = rds_event(&bed.ctx, ev).await;
    eprintln!(
        "decision={} reason={}",
        summary["decision"], summary["reason"]
    );
    assert_eq!(summary["decision"], "handled");
}

/// Config errors for boolean variables.
#[test]
fn boolean_variables_say_true_or_false_when_wrong() {
    let fleet = r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/a/b","endpoint_service_name":"s"}]"#;
    let env = |k: &str| match k {
        "ROUTER_TABLE" => Some("t".to_owned()),
        "ROUTER_FLEET" => Some(fleet.to_owned()),
        "ROUTER_RDS_MEMBERSHIP" => Some("no".to_owned()),
        _ => None,
    };
    let e = privatelink_router::config::Config::from_lookup(&env).unwrap_err();
    eprintln!("{e}");
    assert!(!e.to_string().contains("number"), "{e}");
}

/// #13 + #14: the account learned by identifier also drives membership. A route created for
/// another account's reader endpoint (other hash, no account given) is served by the router's
/// #13 + #14: the account learned by identifier also drives membership. A route created for
/// another account's reader endpoint (other hash, no account given) is served by the router's
/// own same-named cluster's readers, from the first reconcile on, and never by its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_route_of_another_account_is_never_served_by_our_same_named_cluster() {
    let bed = Bed::start("rev-dup").await;
    own_cluster(&bed, "pdup", 3, 5).await;
    let host = "pdup.cluster-ro-zz0other0hash.us-east-1.rds.amazonaws.com";
    bed.dns.set_a(host, &[Ipv4Addr::new(10, 4, 0, 22)]);
    let route = bed.add_route("pdup-ro", host, 5432).await;
    let first = bed.targets(&route).await;
    for _ in 0..3 {
        audit(&bed.ctx).await;
    }
    let later = bed.targets(&route).await;
    eprintln!(
        "learned account {:?}; DNS of the route's host answers 10.4.0.22; targets at creation {first:?}, after 3 audits {later:?}",
        route.spec.account
    );
    assert_eq!(later, ["10.4.0.22:5432"]);
}

/// Prints the real JSON of GET /routes/{id} and POST /routes/{id}/sync for comparison with
/// The RDS API is optional (membership and account learning fall back), but a hung RDS
/// endpoint makes POST /routes outlast API Gateway's 29 s integration timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_rds_api_does_not_hold_route_creation_past_api_gateways_timeout() {
    use routes_api::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
    let bed = Bed::start("rev-hung").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s); // accept, never answer
        }
    });
    // The router's own RDS client (its retry and timeout policy), pointed at the hung socket.
    let hung = bed
        .sdk
        .to_builder()
        .endpoint_url(format!("http://{addr}"))
        .build();
    let clients = privatelink_router::adapters::aws::clients::Clients::from_sdk_config(&hung);
    let mut ctx = bed.ctx.clone();
    ctx.rds = privatelink_router::adapters::aws::rds::Rds::in_region("us-east-1")
        .with_account(ACCOUNT, clients.rds);
    for (name, host, ip) in [
        (
            "phung-db",
            "phung-db.c9akciq32abc.us-east-1.rds.amazonaws.com",
            [10, 3, 0, 5],
        ),
        (
            "phung-ro",
            "phung.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com",
            [10, 3, 0, 6],
        ),
    ] {
        bed.set_ip(host, ip);
        let mut ev = router_tests::handlers::sample("apigw-create-route.json");
        ev["body"] = json!(json!({"name": name, "host": host, "port": 5432}).to_string());
        let req: ApiGatewayV2httpRequest = serde_json::from_value(ev).unwrap();
        let started = std::time::Instant::now();
        let resp = routes_api::handle(&ctx, req).await;
        let took = started.elapsed();
        assert_eq!(resp.status_code, 201, "{name}: {:?}", resp.body);
        assert!(
            took < std::time::Duration::from_secs(15),
            "{name}: {took:?}, API Gateway gives up at 29 s"
        );
    }
}

/// What the health line says for a route whose listener was replaced by a foreign one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_conflict_makes_the_route_not_serving_and_says_why() {
    let bed = Bed::start("rev-conflict").await;
    let host = "pconf.c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 1, 2, 3]);
    let route = bed.add_route("pconf", host, 5432).await;
    bed.replace_listener_by_hand(&route).await;
    let report = audit(&bed.ctx).await;
    assert_eq!(
        report["routes_not_serving"][0]["health"], "not_serving",
        "{report:#}"
    );
    let (_, detail) = router_tests::handlers::get_route(&bed.ctx, "pconf").await;
    assert_eq!(detail["health"]["health"], "not_serving", "{detail:#}");
    let reason = detail["health"]["reason"].as_str().unwrap();
    assert!(reason.contains("does not own"), "{reason}");
    assert!(!reason.contains("Availability Zone"), "{reason}");
}
