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
