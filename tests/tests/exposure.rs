//! Only what its owner may expose (issue #28): the deployed whole — API Gateway, handler,
//! teardown — behaves as the API promises. Real handlers, SDK, moto, loopback DNS.

use router_tests::fixtures::Bed;
use router_tests::handlers::{delete_route, sync_route};

/// Case 6: a listener deleted by hand, `sync` (which recreates it), then `DELETE` before any
/// audit. The delete must find the live listener — not the stale ARN the item held — so the
/// target group can go, the record goes and the port is released; never `deleting` for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_right_after_a_sync_that_recreated_the_listener_finishes() {
    use privatelink_router::adapters::aws::store::RouteStore;
    let bed = Bed::start("stuck-delete").await;
    bed.set_ip("orders.db.test", [10, 0, 1, 40]);
    let route = bed.add_route("orders", "orders.db.test", 5432).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk);
    elb.delete_listener()
        .listener_arn(route.listener_arn.clone().unwrap())
        .send()
        .await
        .expect("listener deleted by hand");
    let (status, body) = sync_route(&bed.ctx, "orders").await;
    assert_eq!(status, 200, "{body:#}");
    let (status, body) = delete_route(&bed.ctx, "orders").await;
    assert!((200..300).contains(&status), "{status} {body:#}");
    let id = privatelink_router::domain::route::RouteId::parse("orders").unwrap();
    assert!(
        bed.ctx.store.get(&id).await.unwrap().is_none(),
        "record gone"
    );
    let groups = elb
        .describe_target_groups()
        .target_group_arns(route.target_group_arn.clone().unwrap())
        .send()
        .await;
    assert!(groups.is_err(), "target group deleted: {groups:?}");
    let listeners = bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap();
    assert!(
        !listeners.iter().any(|l| l.port == route.listener_port),
        "no listener left on port {}",
        route.listener_port
    );
}

/// Case 8: `ROUTER_HOST_SUFFIXES` matched without a label boundary, so `corp.example` admitted
/// `evilcorp.example`. Through the real handler: a name under the domain is accepted, a name
/// that merely ends with the same letters is a 422 naming the allowed domains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_suffix_admits_names_under_the_domain_only() {
    let bed = Bed::start_with("suffixes", &[("ROUTER_HOST_SUFFIXES", "corp.example")]).await;
    bed.set_ip("db.corp.example", [10, 0, 1, 41]);
    bed.set_ip("evilcorp.example", [10, 0, 1, 42]);
    let body =
        |name: &str, host: &str| serde_json::json!({"name": name, "host": host, "port": 5432});
    let (status, reply) = router_tests::handlers::post_route(
        &bed.ctx,
        &body("evil", "evilcorp.example"),
        router_tests::fixtures::OWNER,
    )
    .await;
    assert_eq!(status, 422, "{reply:#}");
    assert!(reply.to_string().contains("corp.example"), "{reply:#}");
    let (status, reply) = router_tests::handlers::post_route(
        &bed.ctx,
        &body("db", "db.corp.example"),
        router_tests::fixtures::OWNER,
    )
    .await;
    assert_eq!(status, 201, "{reply:#}");
}

/// The exposure policy of a bed with no grants (`ROUTER_CALLER_GRANTS` unset): only admins
/// and verified owners publish.
const POLICY: &[(&str, &str)] = &[
    ("ROUTER_CALLER_GRANTS", "{}"),
    ("ROUTER_DATABASE_PORTS", "3306,5432"),
    ("ROUTER_DATABASE_CIDRS", "10.0.0.0/16"),
];

fn request(name: &str, host: &str, port: i64) -> serde_json::Value {
    serde_json::json!({"name": name, "host": host, "port": port})
}

fn code(reply: &serde_json::Value) -> &str {
    reply["error"]["code"].as_str().unwrap_or_default()
}

/// Case 1, the high finding: a caller that is not an admin creates a route whose host is a name
/// it controls (here a private-zone name answering 10.0.1.77, any host of a connected network)
/// or an RDS-looking name no database of its account has. Both are 403 `not_in_caller_grants`
/// naming `caller_grants`, decided before the name is resolved (the DNS server sees no query,
/// and a name that does not resolve gets the same answer: no private-zone probe). Its own
/// account's RDS database, present in moto's RDS, is accepted, with the account verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_is_no_admin_publishes_only_a_database_of_its_own_account() {
    use router_tests::fixtures::{postgres_instance, ACCOUNT, OWNER};
    use router_tests::handlers::post_route;
    let bed = Bed::start_with("exposure-owner", POLICY).await;
    bed.set_ip("bastion.attacker.internal", [10, 0, 1, 77]);
    let ghost = "ghost.c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(ghost, [10, 0, 1, 78]);

    let queries = bed.dns.query_count();
    let mut answers = Vec::new();
    for (name, host) in [
        ("probe", "bastion.attacker.internal"),
        ("nothing", "nothing.attacker.internal"),
        ("ghost", ghost),
    ] {
        let (status, reply) = post_route(&bed.ctx, &request(name, host, 5432), OWNER).await;
        assert_eq!(status, 403, "{host}: {reply:#}");
        assert_eq!(code(&reply), "not_in_caller_grants", "{reply:#}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(message.contains("caller_grants"), "{message}");
        assert!(
            message.contains(ACCOUNT),
            "names the caller's account: {message}"
        );
        assert!(
            !message.contains("10.0.1."),
            "no resolved address: {message}"
        );
        answers.push(message.replace(host, "HOST"));
    }
    assert_eq!(
        answers[0], answers[1],
        "a resolving and a missing name read the same"
    );
    assert_eq!(bed.dns.query_count(), queries, "refused before any lookup");

    // Another account's database, even named by the caller: refused.
    let mut foreign = request("foreign", ghost, 5432);
    foreign["account_id"] = "999988887777".into();
    let (status, reply) = post_route(&bed.ctx, &foreign, OWNER).await;
    assert_eq!(
        (status, code(&reply)),
        (403, "not_in_caller_grants"),
        "{reply:#}"
    );
    assert!(reply.to_string().contains("999988887777"), "{reply:#}");

    // Its own account's database, as the RDS API shows it: accepted and verified.
    let own = postgres_instance(&bed.sdk, "exposure-own").await;
    bed.set_ip(&own, [10, 0, 1, 79]);
    let (status, reply) = post_route(&bed.ctx, &request("own", &own, 5432), OWNER).await;
    assert_eq!(status, 201, "{reply:#}");
    assert_eq!(reply["account"], ACCOUNT, "{reply:#}");
    assert_eq!(
        bed.targets(&bed.route("own").await).await,
        vec!["10.0.1.79:5432"]
    );
}

/// Case 1, the grant: the one variable a deployment sets to let a pipeline publish names of
/// its own domain (`caller_grants` host suffixes) — matched on a label boundary, and still
/// bound by the database ports and CIDRs. An admin is bound by those two only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_admins_and_everyone_stay_inside_the_database_ports_and_cidrs() {
    use router_tests::fixtures::{ADMIN, OWNER};
    use router_tests::handlers::post_route;
    let grants = format!(r#"{{"{OWNER}": {{"host_suffixes": ["data.corp.example"]}}}}"#);
    let mut env = POLICY.to_vec();
    env[0] = ("ROUTER_CALLER_GRANTS", grants.as_str());
    let bed = Bed::start_with("exposure-grants", &env).await;
    bed.set_ip("orders.data.corp.example", [10, 0, 1, 80]);
    bed.set_ip("far.data.corp.example", [10, 20, 30, 40]);
    bed.set_ip("orders.evildata.corp.example", [10, 0, 1, 81]);

    let (status, reply) = post_route(
        &bed.ctx,
        &request("granted", "orders.data.corp.example", 5432),
        OWNER,
    )
    .await;
    assert_eq!(status, 201, "{reply:#}");
    let (status, reply) = post_route(
        &bed.ctx,
        &request("lookalike", "orders.evildata.corp.example", 5432),
        OWNER,
    )
    .await;
    assert_eq!(
        (status, code(&reply)),
        (403, "not_in_caller_grants"),
        "{reply:#}"
    );

    // Port 22 (an SSH daemon behind the shared endpoint): refused for an admin too.
    let (status, reply) = post_route(
        &bed.ctx,
        &request("ssh", "orders.data.corp.example", 22),
        ADMIN,
    )
    .await;
    assert_eq!(
        (status, code(&reply)),
        (403, "database_port_not_allowed"),
        "{reply:#}"
    );
    assert!(reply.to_string().contains("database_ports"), "{reply:#}");

    // An address outside database_cidrs: refused for the granted caller and the admin alike.
    // The refusal tells the caller that is no admin nothing of what the name answers.
    for (name, caller, shown) in [("far", OWNER, false), ("far-admin", ADMIN, true)] {
        let body = request(name, "far.data.corp.example", 5432);
        let (status, reply) = post_route(&bed.ctx, &body, caller).await;
        assert_eq!(
            (status, code(&reply)),
            (403, "outside_database_cidrs"),
            "{reply:#}"
        );
        assert!(reply.to_string().contains("database_cidrs"), "{reply:#}");
        assert_eq!(
            reply.to_string().contains("10.20.30.40"),
            shown,
            "{reply:#}"
        );
    }
    // An admin may publish any name inside them.
    bed.set_ip("bastion.ops.internal", [10, 0, 1, 82]);
    let (status, reply) = post_route(
        &bed.ctx,
        &request("admin-any", "bastion.ops.internal", 5432),
        ADMIN,
    )
    .await;
    assert_eq!(status, 201, "{reply:#}");
}

/// Case 1, the router's own addresses: a name answering an NLB node's address (or a VPC
/// endpoint's interface in the router VPC) is refused even for an admin (403 `router_address`),
/// and a route whose name later moves there loses that target at once — even as its last
/// target, the one case fail-static never covers (planner rule 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routers_own_addresses_are_never_targets() {
    use privatelink_router::adapters::aws::clients::Clients;
    use privatelink_router::context::Context;
    use router_tests::fixtures::ADMIN;
    use router_tests::handlers::{post_route, watch};
    let bed = Bed::start_with("exposure-own-ips", POLICY).await;
    let ec2 = aws_sdk_ec2::Client::new(&bed.sdk);
    let tail: Vec<&str> = bed.network.nlb_arn.rsplit('/').take(2).collect();
    for (ip, description) in [
        ("10.0.1.250", format!("ELB net/{}/{}", tail[1], tail[0])),
        (
            "10.0.1.251",
            "VPC Endpoint Interface vpce-0123456789abcdef0".to_owned(),
        ),
    ] {
        ec2.create_network_interface()
            .subnet_id(&bed.network.subnets[0].id)
            .private_ip_address(ip)
            .description(description)
            .send()
            .await
            .expect("interface created");
    }
    // A cold start reads the router's interfaces.
    let ctx = Context::build(bed.ctx.config.clone(), Clients::from_sdk_config(&bed.sdk))
        .await
        .expect("context builds");
    bed.set_ip("loop.ops.internal", [10, 0, 1, 250]);
    bed.set_ip("vpce.ops.internal", [10, 0, 1, 251]);
    for (name, host) in [("loop", "loop.ops.internal"), ("vpce", "vpce.ops.internal")] {
        let (status, reply) = post_route(&ctx, &request(name, host, 5432), ADMIN).await;
        assert_eq!((status, code(&reply)), (403, "router_address"), "{reply:#}");
    }

    bed.set_ip("moving.ops.internal", [10, 0, 1, 90]);
    let (status, reply) =
        post_route(&ctx, &request("moving", "moving.ops.internal", 5432), ADMIN).await;
    assert_eq!(status, 201, "{reply:#}");
    bed.set_ip("moving.ops.internal", [10, 0, 1, 250]);
    let report = watch(&ctx).await;
    let route = bed.route("moving").await;
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.0.1.90:5432"],
        "the NLB's own address is never registered (the old one waits for its window): {report:#}"
    );
    let refused = serde_json::to_value(&route.refused).unwrap();
    assert!(refused.to_string().contains("router_address"), "{refused}");

    // Someone puts the NLB's own address in by hand as the route's only target: the audit
    // takes it out, though it is the last target (rule 5 never keeps it).
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk);
    let tg = route.target_group_arn.clone().unwrap();
    let target = |ip: &str| {
        aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
            .id(ip)
            .port(5432)
            .build()
    };
    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(target("10.0.1.90"))
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(target("10.0.1.250"))
        .send()
        .await
        .unwrap();
    let report = router_tests::handlers::audit(&ctx).await;
    let states = bed.target_states(&route).await;
    assert!(
        !states
            .iter()
            .any(|(ip, state)| ip == "10.0.1.250" && state != "draining"),
        "{states:?}: {report:#}"
    );
}

/// Case 1, existing routes: a policy change never removes a route. A route created before its
/// owner's grant was withdrawn (and one on a port no longer a database port) keeps serving;
/// the audit reports both under `policy_violations` (EMF `PolicyViolations`), the route view
/// names why, and `plr routes list` marks them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_change_reports_existing_routes_and_never_removes_them() {
    use privatelink_router::adapters::aws::clients::Clients;
    use privatelink_router::config::Config;
    use privatelink_router::context::Context;
    use router_tests::fixtures::OWNER;
    use router_tests::handlers::{audit, get_route, post_route};
    let grants = format!(r#"{{"{OWNER}": {{"host_suffixes": ["data.corp.example"]}}}}"#);
    let bed = Bed::start_with("exposure-change", &[("ROUTER_CALLER_GRANTS", &grants)]).await;
    bed.set_ip("orders.data.corp.example", [10, 0, 1, 83]);
    bed.set_ip("legacy.data.corp.example", [10, 0, 1, 84]);
    for (name, host, port) in [
        ("orders", "orders.data.corp.example", 5432),
        ("legacy", "legacy.data.corp.example", 1433),
    ] {
        let (status, reply) = post_route(&bed.ctx, &request(name, host, port), OWNER).await;
        assert_eq!(status, 201, "{reply:#}");
    }
    let clean = audit(&bed.ctx).await;
    assert_eq!(
        clean["policy_violations"],
        serde_json::json!([]),
        "{clean:#}"
    );

    // The operator withdraws the grant and keeps only the two standard database ports.
    let mut env = bed.env.clone();
    env.insert("ROUTER_CALLER_GRANTS".into(), "{}".into());
    env.insert("ROUTER_DATABASE_PORTS".into(), "3306,5432".into());
    let config = Config::from_lookup(&|k| env.get(k).cloned()).unwrap();
    let ctx = Context::build(config, Clients::from_sdk_config(&bed.sdk))
        .await
        .unwrap();
    let report = audit(&ctx).await;
    let mut found: Vec<(String, usize)> = report["policy_violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["route_id"].as_str().unwrap().to_owned(),
                v["violations"].as_array().unwrap().len(),
            )
        })
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![("legacy".to_owned(), 2), ("orders".to_owned(), 1)],
        "{report:#}"
    );
    for name in ["orders", "legacy"] {
        let route = bed.route(name).await;
        assert_eq!(bed.targets(&route).await.len(), 1, "{name} still serves");
    }
    let (status, orders) = get_route(&ctx, "orders").await;
    assert_eq!(status, 200, "{orders:#}");
    assert!(
        orders["policy_violations"][0]
            .as_str()
            .unwrap()
            .contains("under no host suffix granted"),
        "{orders:#}"
    );
}

/// Case 1, the private-zone probe: a route whose name answers only addresses that may not be
/// targets registers nothing, and its owner's `GET /routes/{id}` shows nothing of the answer
/// (an admin still sees it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_with_no_target_echoes_nothing_its_name_answers() {
    use router_tests::fixtures::{ADMIN, OWNER};
    use router_tests::handlers::{post_route, watch};
    let bed = Bed::start_with("exposure-probe", &POLICY[1..]).await;
    let (status, reply) = post_route(
        &bed.ctx,
        &request("probe", "secret.zone.internal", 5432),
        OWNER,
    )
    .await;
    assert_eq!(status, 201, "created pending: {reply:#}");
    bed.set_ip("secret.zone.internal", [10, 99, 3, 7]);
    watch(&bed.ctx).await;
    assert!(bed.targets(&bed.route("probe").await).await.is_empty());

    let (status, owner_view) = router_tests::handlers::get_route_as(&bed.ctx, "probe", OWNER).await;
    assert_eq!(status, 200, "{owner_view:#}");
    assert!(
        !owner_view.to_string().contains("10.99.3.7"),
        "the owner learns nothing of the answer: {owner_view:#}"
    );
    // Nor through the listing or a sync (the newcomer trial read it there).
    let mut list = router_tests::handlers::sample("apigw-list-routes.json");
    list["rawQueryString"] = "".into();
    list.as_object_mut()
        .unwrap()
        .remove("queryStringParameters");
    list["requestContext"]["authorizer"]["iam"]["userArn"] = OWNER.into();
    let (status, listed) = router_tests::handlers::call_api(&bed.ctx, list).await;
    assert_eq!(status, 200, "{listed:#}");
    assert!(listed.to_string().contains("\"probe\""), "{listed:#}");
    assert!(!listed.to_string().contains("10.99.3.7"), "{listed:#}");
    let (status, synced) = router_tests::handlers::sync_route(&bed.ctx, "probe").await;
    assert_eq!(status, 200, "{synced:#}");
    assert!(!synced.to_string().contains("10.99.3.7"), "{synced:#}");
    let (_, admin_view) = router_tests::handlers::get_route_as(&bed.ctx, "probe", ADMIN).await;
    assert!(
        admin_view.to_string().contains("10.99.3.7"),
        "{admin_view:#}"
    );
}

/// Case 8: one route item the code cannot read (a table edited by hand) made `GET /routes`
/// and `GET /catalog` fail for every caller. They answer with the readable routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_unreadable_route_item_does_not_break_the_listing_or_the_catalog() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use router_tests::handlers::{call_api, sample};
    let bed = Bed::start("malformed").await;
    bed.set_ip("orders.db.test", [10, 0, 1, 43]);
    bed.add_route("orders", "orders.db.test", 5432).await;
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .item("pk", S("ROUTE#aaa-broken".into()))
        .item("sk", S("ROUTE".into()))
        .item("gsi1pk", S("ROUTES".into()))
        .item("gsi1sk", S("aaa-broken".into()))
        .item("version", S("not a number".into()))
        .send()
        .await
        .unwrap();
    let mut list = sample("apigw-list-routes.json");
    list["requestContext"]["authorizer"]["iam"]["userArn"] = router_tests::fixtures::ADMIN.into();
    list["rawQueryString"] = "".into();
    list.as_object_mut()
        .unwrap()
        .remove("queryStringParameters");
    let (status, body) = call_api(&bed.ctx, list.clone()).await;
    assert_eq!(status, 200, "{body:#}");
    let ids: Vec<&str> = body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["orders"], "{body:#}");
    let mut catalog = list;
    catalog["rawPath"] = "/catalog".into();
    catalog["requestContext"]["http"]["path"] = "/catalog".into();
    catalog["routeKey"] = "GET /catalog".into();
    let (status, body) = call_api(&bed.ctx, catalog).await;
    assert_eq!(status, 200, "{body:#}");
}

/// Case 2: the TLS-name check was per router, read then write, so two routers could take one
/// host at once. A host's TLS name is now one item in the whole table, written in the route's
/// allocation transaction: a create that lost the race (here: the other router's item is
/// written between this create's read and its transaction) is a 409 naming the holder, and a
/// deleted route frees the name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_name_is_one_item_in_the_table_so_two_routers_never_take_one_host() {
    use aws_sdk_dynamodb::types::AttributeValue::S;
    use router_tests::fixtures::OWNER;
    use router_tests::handlers::{delete_route, post_route};
    let bed = Bed::start("tls-race").await;
    let host = "shared.db.test";
    bed.set_ip(host, [10, 0, 1, 44]);
    let tls = |name: &str| serde_json::json!({"name": name, "host": host, "port": 5432, "tls_name": true});
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .item("pk", S(format!("TLSNAME#{host}")))
        .item("sk", S("TLSNAME".into()))
        .item("route_id", S("winner".into()))
        .item("router", S("r-other".into()))
        .send()
        .await
        .unwrap();
    let (status, reply) = post_route(&bed.ctx, &tls("loser"), OWNER).await;
    assert_eq!((status, code(&reply)), (409, "tls_name_taken"), "{reply:#}");
    assert!(reply.to_string().contains("r-other"), "{reply:#}");
    let id = privatelink_router::domain::route::RouteId::parse("loser").unwrap();
    use privatelink_router::adapters::aws::store::RouteStore;
    assert!(
        bed.ctx.store.get(&id).await.unwrap().is_none(),
        "nothing written"
    );

    // The winner goes (its item with it); then the name is free for the next route.
    bed.ctx
        .clients
        .dynamodb
        .delete_item()
        .table_name(&bed.ctx.config.table)
        .key("pk", S(format!("TLSNAME#{host}")))
        .key("sk", S("TLSNAME".into()))
        .send()
        .await
        .unwrap();
    let (status, reply) = post_route(&bed.ctx, &tls("first"), OWNER).await;
    assert_eq!(status, 201, "{reply:#}");
    let (status, reply) = delete_route(&bed.ctx, "first").await;
    assert!((200..300).contains(&status), "{reply:#}");
    let (status, reply) = post_route(&bed.ctx, &tls("second"), OWNER).await;
    assert_eq!(status, 201, "the delete freed the name: {reply:#}");
}

/// Case 3: one caller filled the routers — no cap on routes, TLS names or targets. A caller
/// that is not an admin holds at most `routes_per_owner` routes and `tls_names_per_owner` TLS
/// names (a replay of one of its routes is not a new one); an answer above `targets_per_route`
/// is refused at creation for everyone and, later, registers nothing (a failed lookup), so a
/// name answering thousands of private addresses cannot take the NLB's shared targets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_cap_routes_and_tls_names_per_owner_and_targets_per_route() {
    use router_tests::fixtures::{ADMIN, OWNER};
    use router_tests::handlers::{post_route, watch};
    let bed = Bed::start_with(
        "quotas",
        &[
            ("ROUTER_ROUTES_PER_OWNER", "2"),
            ("ROUTER_TLS_NAMES_PER_OWNER", "1"),
            ("ROUTER_TARGETS_PER_ROUTE", "3"),
        ],
    )
    .await;
    for (n, name) in ["one", "two", "three", "four"].iter().enumerate() {
        bed.set_ip(&format!("{name}.db.test"), [10, 0, 1, 50 + n as u8]);
    }
    let tls = |name: &str| serde_json::json!({"name": name, "host": format!("{name}.db.test"), "port": 5432, "tls_name": true});
    let (status, reply) = post_route(&bed.ctx, &tls("one"), OWNER).await;
    assert_eq!(status, 201, "{reply:#}");
    let (status, reply) = post_route(&bed.ctx, &tls("two"), OWNER).await;
    assert_eq!((status, code(&reply)), (403, "quota_exceeded"), "{reply:#}");
    assert!(
        reply.to_string().contains("tls_names_per_owner"),
        "{reply:#}"
    );
    let (status, reply) = post_route(&bed.ctx, &request("two", "two.db.test", 5432), OWNER).await;
    assert_eq!(status, 201, "{reply:#}");
    let (status, reply) =
        post_route(&bed.ctx, &request("three", "three.db.test", 5432), OWNER).await;
    assert_eq!((status, code(&reply)), (403, "quota_exceeded"), "{reply:#}");
    assert!(reply.to_string().contains("routes_per_owner"), "{reply:#}");
    let (status, reply) = post_route(&bed.ctx, &tls("one"), OWNER).await;
    assert_eq!(status, 200, "a replay is no new route: {reply:#}");
    let (status, reply) =
        post_route(&bed.ctx, &request("three", "three.db.test", 5432), ADMIN).await;
    assert_eq!(status, 201, "admins are not counted: {reply:#}");

    // Four addresses where three are the cap: refused for an admin too.
    let many = [[10, 0, 2, 1], [10, 0, 2, 2], [10, 0, 2, 3], [10, 0, 2, 4]];
    let ips: Vec<std::net::Ipv4Addr> = many.iter().map(|o| (*o).into()).collect();
    bed.dns.set_a("many.db.test", &ips);
    let (status, reply) = post_route(&bed.ctx, &request("many", "many.db.test", 5432), ADMIN).await;
    assert_eq!((status, code(&reply)), (403, "quota_exceeded"), "{reply:#}");
    assert!(reply.to_string().contains("targets_per_route"), "{reply:#}");

    // A route whose name later answers too many: nothing changes, and the watch says why.
    bed.set_ip("grows.db.test", [10, 0, 1, 60]);
    let (status, reply) =
        post_route(&bed.ctx, &request("grows", "grows.db.test", 5432), ADMIN).await;
    assert_eq!(status, 201, "{reply:#}");
    bed.dns.set_a("grows.db.test", &ips);
    let report = watch(&bed.ctx).await;
    assert_eq!(
        bed.targets(&bed.route("grows").await).await,
        vec!["10.0.1.60:5432"],
        "{report:#}"
    );
    assert!(
        report.to_string().contains("too_many_addresses"),
        "{report:#}"
    );
}

/// `plr plan` explains the policy before anything is created: its preview answers the code a
/// create would (database ports and CIDRs bind plr and seeds too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plr_plan_previews_the_policys_refusals() {
    use privatelink_router::flows::service::{preview, Caller};
    let bed = Bed::start_with("exposure-plan", POLICY).await;
    bed.set_ip("ssh.ops.internal", [10, 0, 1, 95]);
    bed.set_ip("far.ops.internal", [10, 20, 30, 40]);
    bed.set_ip("db.ops.internal", [10, 0, 1, 96]);
    let operator = Caller {
        principal: "plr-cli".into(),
    };
    let mut planned = Vec::new();
    let request =
        |name: &str, host: &str, port: i64| privatelink_router::flows::service::CreateRequest {
            port,
            ..router_tests::fixtures::create_request(name, host)
        };
    let mut verdict = async |req| {
        preview(&bed.ctx, &operator, &req, &mut planned)
            .await
            .unwrap()
    };
    let ssh = verdict(request("ssh", "ssh.ops.internal", 22)).await;
    assert_eq!(ssh.verdict, "database_port_not_allowed", "{ssh:?}");
    assert!(ssh.detail.unwrap().contains("database_ports"));
    let far = verdict(request("far", "far.ops.internal", 5432)).await;
    assert_eq!(far.verdict, "outside_database_cidrs", "{far:?}");
    let db = verdict(request("db", "db.ops.internal", 5432)).await;
    assert_eq!(db.verdict, "create", "{db:?}");
}

/// The newcomer trial's race: the per-owner quota was a read then a write, so concurrent
/// creates by one owner all passed it. Eight at once with room for three: exactly three are
/// created; removing one makes room for one more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_by_one_owner_never_exceed_its_quota() {
    use router_tests::fixtures::OWNER;
    use router_tests::handlers::{delete_route, post_route};
    let bed = Bed::start_with("quota-race", &[("ROUTER_ROUTES_PER_OWNER", "3")]).await;
    let replies = create_at_once(&bed, "race", 8, 3).await;
    let created = replies.iter().filter(|(status, _)| *status == 201).count();
    let refused: Vec<&serde_json::Value> = replies
        .iter()
        .filter(|(status, _)| *status != 201)
        .map(|(_, reply)| reply)
        .collect();
    assert_eq!(created, 3, "{replies:#?}");
    assert!(
        refused.iter().all(|r| code(r) == "quota_exceeded"),
        "{refused:#?}"
    );
    let first = replies
        .iter()
        .find(|(status, _)| *status == 201)
        .map(|(_, r)| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let (status, reply) = delete_route(&bed.ctx, &first).await;
    assert!((200..300).contains(&status), "{reply:#}");
    bed.set_ip("late.db.test", [10, 0, 3, 99]);
    let (status, reply) = post_route(&bed.ctx, &request("late", "late.db.test", 5432), OWNER).await;
    assert_eq!(status, 201, "the delete made room: {reply:#}");
}

/// The second review's finding: removing routes the counter never counted (made by `plr` or
/// Terraform for the owner, or before quotas) took them off the counter anyway, which then
/// let concurrent creates past the cap. Only counted routes leave the counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_routes_the_quota_never_counted_does_not_lower_it() {
    use router_tests::fixtures::OWNER;
    use router_tests::handlers::{delete_route, post_route};
    let bed = Bed::start_with("quota-drift", &[("ROUTER_ROUTES_PER_OWNER", "2")]).await;
    for i in 0..3u8 {
        let host = format!("old-{i}.db.test");
        bed.set_ip(&host, [10, 0, 4, 10 + i]);
        // As plr or a Terraform seed would make it for the owner: not counted.
        let req = router_tests::fixtures::create_request(&format!("old-{i}"), &host);
        privatelink_router::flows::service::create_trusted(&bed.ctx, &Bed::owner(), &req)
            .await
            .expect("created");
    }
    let (status, reply) =
        post_route(&bed.ctx, &request("new-0", "old-0.db.test", 5432), OWNER).await;
    assert_eq!((status, code(&reply)), (403, "quota_exceeded"), "{reply:#}");
    for i in 0..3 {
        let (status, reply) = delete_route(&bed.ctx, &format!("old-{i}")).await;
        assert!((200..300).contains(&status), "{reply:#}");
    }
    let replies = create_at_once(&bed, "new", 5, 5).await;
    let created = replies.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 2, "{replies:#?}");
}

/// `count` routes `<prefix>-<i>` (each name answering 10.0.`subnet`.(10 + i)) created by the
/// owner all at once through the handler; their replies.
async fn create_at_once(
    bed: &Bed,
    prefix: &str,
    count: u8,
    subnet: u8,
) -> Vec<(u16, serde_json::Value)> {
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
    for (i, name) in (0u8..).zip(&names) {
        bed.set_ip(&format!("{name}.db.test"), [10, 0, subnet, 10 + i]);
    }
    let requests = names.iter().map(|name| {
        let body = request(name, &format!("{name}.db.test"), 5432);
        async move {
            router_tests::handlers::post_route(&bed.ctx, &body, router_tests::fixtures::OWNER).await
        }
    });
    futures::future::join_all(requests).await
}
