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
