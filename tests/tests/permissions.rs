//! Deployment contract (issue #28, the class behind its cases 4, 5 and 7): every AWS operation
//! a Lambda's code calls is an action of that Lambda's list in
//! `shared/src/adapters/aws/permissions.rs`, which `tests/tests/infra.rs` holds equal to the
//! Terraform IAM policies. Each function's context is built cold (its cold-start reads
//! counted too) and driven through its handler's main paths against moto; every operation the
//! SDK sent must be granted. A call the list lacks is an `AccessDenied` in a deployment that
//! no other test would show (moto grants everything).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::adapters::aws::permissions;
use privatelink_router::context::Context;
use router_tests::fixtures::{aurora, Bed, OWNER};
use router_tests::handlers::{
    audit, delete_route, get_route, post_route, rds_event, sample, sync_route, watch,
};

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

/// A cold context of the bed's configuration with its own call counter.
async fn cold(bed: &Bed) -> Context {
    Context::build(bed.ctx.config.clone(), Clients::from_sdk_config(&bed.sdk))
        .await
        .expect("context builds")
}

/// The operations `ctx` called that `granted` has no action for (`<service>:<Operation>`).
fn ungranted(ctx: &Context, granted: &[&str]) -> BTreeSet<String> {
    ctx.clients
        .calls
        .snapshot()
        .into_keys()
        .filter(|op| !granted.iter().any(|a| a.ends_with(&format!(":{op}"))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_each_function_makes_is_in_its_iam_list() {
    let bed = Bed::start("permissions").await;
    bed.set_ip(ORDERS, [10, 0, 1, 10]);
    let cluster = aurora(
        &bed,
        "ledger",
        &[Ipv4Addr::new(10, 0, 1, 21), Ipv4Addr::new(10, 0, 1, 22)],
    )
    .await;
    bed.dns
        .set_round_robin(&cluster.reader_endpoint, &[Ipv4Addr::new(10, 0, 1, 22)]);

    // routes-api: create (an instance, a reader endpoint, a TLS name), list, show, sync,
    // catalog, delete.
    let api = cold(&bed).await;
    for (name, host, tls) in [
        ("orders", ORDERS, true),
        ("ledger-ro", cluster.reader_endpoint.as_str(), false),
    ] {
        let body = serde_json::json!({"name": name, "host": host, "port": 5432, "tls_name": tls});
        let (status, reply) = post_route(&api, &body, OWNER).await;
        assert_eq!(status, 201, "{reply:#}");
    }
    for (status, reply) in [
        get_route(&api, "orders").await,
        sync_route(&api, "ledger-ro").await,
        router_tests::handlers::call_api(&api, sample("apigw-list-routes.json")).await,
    ] {
        assert_eq!(status, 200, "{reply:#}");
    }
    let mut catalog = sample("apigw-list-routes.json");
    catalog["rawPath"] = "/catalog".into();
    catalog["requestContext"]["http"]["path"] = "/catalog".into();
    let (status, reply) = router_tests::handlers::call_api(&api, catalog).await;
    assert_eq!(status, 200, "{reply:#}");

    // rds-events: a failover of a routed instance, cold.
    let events = cold(&bed).await;
    bed.set_ip(ORDERS, [10, 0, 2, 20]);
    rds_event(&events, sample("rds-instance-failover-completed-0049.json")).await;

    // dns-audit: a watch and a full audit with drift to repair, cold.
    let auditor = cold(&bed).await;
    let route = bed.route("ledger-ro").await;
    aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk)
        .delete_listener()
        .listener_arn(route.listener_arn.clone().unwrap())
        .send()
        .await
        .unwrap();
    watch(&auditor).await;
    audit(&auditor).await;
    let (status, reply) = delete_route(&api, "orders").await;
    assert!((200..300).contains(&status), "{reply:#}");

    let missing: Vec<(&str, BTreeSet<String>)> = [
        ("routes-api", ungranted(&api, permissions::ROUTES_API)),
        ("rds-events", ungranted(&events, permissions::RDS_EVENTS)),
        ("dns-audit", ungranted(&auditor, permissions::DNS_AUDIT)),
    ]
    .into_iter()
    .filter(|(_, ops)| !ops.is_empty())
    .collect();
    assert!(
        missing.is_empty(),
        "operations called without an IAM action in permissions.rs (AccessDenied in AWS): {missing:?}"
    );
    for (what, ctx) in [
        ("routes-api", &api),
        ("rds-events", &events),
        ("dns-audit", &auditor),
    ] {
        assert!(
            ctx.clients
                .calls
                .snapshot()
                .contains_key("DescribeNetworkInterfaces"),
            "{what}: the cold start reads the router's own interfaces"
        );
    }
}
