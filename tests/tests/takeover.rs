//! Taking over a running seed deployment (issue #15): listener port pins, end to end through
//! the real handlers, the SDK and moto.

use router_tests::fixtures::{Bed, ADMIN, OWNER};
use router_tests::handlers::post_route;
use serde_json::json;

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";
const BILLING: &str = "billing-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_pins_a_listener_port_and_nobody_else_gets_it() {
    let bed = Bed::start("pins").await;
    bed.set_ip(ORDERS, [10, 1, 2, 3]);
    bed.set_ip(BILLING, [10, 1, 2, 4]);
    let body = json!({"name": "orders", "host": ORDERS, "port": 5432, "listener_port": 10042});

    let (status, err) = post_route(&bed.ctx, &body, OWNER).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (403, Some("pin_not_allowed")),
        "{err:#}"
    );

    let (status, route) = post_route(&bed.ctx, &body, ADMIN).await;
    assert_eq!(status, 201, "{route:#}");
    assert_eq!(route["listener_port"], 10042);
    assert_eq!(route["pin"], json!({"port": 10042}));
    let listeners = bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap();
    assert!(listeners.iter().any(|l| l.port == 10042), "{listeners:?}");

    // A replay is the same route; another route may not have the port.
    let (status, _) = post_route(&bed.ctx, &body, ADMIN).await;
    assert_eq!(status, 200);
    let other = json!({"name": "billing", "host": BILLING, "port": 5432, "listener_port": 10042});
    let (status, err) = post_route(&bed.ctx, &other, ADMIN).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("port_pinned")),
        "{err:#}"
    );
    assert!(
        err["error"]["message"].as_str().unwrap().contains("orders"),
        "{err:#}"
    );

    // Unpinned routes are allocated around pinned ports.
    let (status, route) = post_route(
        &bed.ctx,
        &json!({"name": "billing", "host": BILLING, "port": 5432}),
        OWNER,
    )
    .await;
    assert_eq!(status, 201, "{route:#}");
    assert_ne!(route["listener_port"], 10042);
}

/// A failed adoption (the database's name answers a public address) tags nothing, so the
/// audit never sees the seed's listener as an orphan and never deletes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_adoption_leaves_the_seed_listener_untouched() {
    use privatelink_router::adapters::aws::elb::TAG_MANAGED_BY;
    use privatelink_router::domain::seed_inputs::SeedInputs;
    use privatelink_router::flows::adopt::adopt;
    let bed = Bed::start_with("adopt-fail", &[("ROUTER_ORPHAN_GRACE_SECONDS", "0")]).await;
    let svc = format!("f{}", bed.router_id);
    bed.set_ip("pub.db.test", [54, 0, 0, 1]);
    // The seed's target group and listener (untagged, as its HCL creates them).
    let (tg, _) = bed
        .network
        .foreign_listener(&bed.sdk, &format!("{svc}-nlb-tg-pub"), 10000, 5432)
        .await
        .unwrap();
    let listeners = bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap();
    let inputs = SeedInputs::from_json(&json!({
        "service_name": svc,
        "target_endpoints": [{"id": "pub.db.test", "port": 5432, "name": "pub"}]
    }))
    .unwrap();
    let admin = privatelink_router::flows::service::Caller {
        principal: ADMIN.into(),
    };
    let dry = adopt(&bed.ctx, &admin, &inputs, Some(&bed.router_id), true)
        .await
        .unwrap();
    assert_eq!(dry.routes[0].action, "refused: public_address", "{dry:?}");
    let err = adopt(&bed.ctx, &admin, &inputs, Some(&bed.router_id), false)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("54.0.0.1"), "{err}");
    let tags = bed
        .ctx
        .elb
        .tags_of(&[listeners[0].arn.clone(), tg.clone()])
        .await
        .unwrap();
    assert!(
        tags.values().all(|t| !t.contains_key(TAG_MANAGED_BY)),
        "nothing tagged: {tags:?}"
    );
    for _ in 0..2 {
        router_tests::handlers::audit(&bed.ctx).await;
    }
    assert_eq!(
        bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap(),
        listeners
    );
}
