//! Costs that must not grow with the fleet (issue #16): a cold start reads 60 routers in a
//! handful of calls, and placing a route reads one count per router, not their port tables.
//! Through the real SDK against moto; the call counts are the contract, times are printed.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::config::Config;
use privatelink_router::context::{Context, InitError};
use privatelink_router::flows::service;
use router_tests::fixtures::{create_request, Bed};
use serde_json::{json, Value};

const ROUTERS: usize = 60;

/// The bed's NLB plus `ROUTERS - 1` more in its VPC, as a fleet `f00`…`f59` (the bed's is
/// `f00`), and a config using it.
async fn sixty_routers(bed: &Bed) -> (Value, Config) {
    let arns = std::iter::once(bed.network.nlb_arn.clone()).chain(
        bed.network
            .more_nlbs(&bed.sdk, ROUTERS - 1)
            .await
            .expect("NLBs created"),
    );
    let fleet: Vec<Value> = arns
        .enumerate()
        .map(|(i, arn)| {
            json!({
                "id": format!("f{i:02}"),
                "nlb_arn": arn,
                "endpoint_service_name": format!("com.amazonaws.vpce.us-east-1.vpce-svc-f{i:02}"),
            })
        })
        .collect();
    let fleet = Value::Array(fleet);
    let mut env = bed.env.clone();
    env.insert("ROUTER_FLEET".into(), fleet.to_string());
    let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("config");
    (fleet, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_routers_cost_a_cold_start_five_calls_and_a_create_one_count_read() {
    let bed = Bed::start("fleet60").await;
    let (fleet, config) = sixty_routers(&bed).await;

    // Cold start: DescribeLoadBalancers per 20 NLBs, one DescribeVpcs, one DescribeSubnets.
    let started = Instant::now();
    let ctx = Context::build(config.clone(), Clients::from_sdk_config(&bed.sdk))
        .await
        .expect("context");
    let init = started.elapsed();
    let calls = ctx.clients.calls.snapshot();
    println!("cold start with {ROUTERS} routers: {init:?}, calls {calls:?}");
    assert_eq!(ctx.fleet.len(), ROUTERS);
    assert_eq!(calls.get("DescribeLoadBalancers"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("DescribeVpcs"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DescribeSubnets"), Some(&1), "{calls:?}");
    for router in ctx.fleet.values() {
        assert_eq!(router.vpc_id, bed.network.vpc_id, "{}", router.config.id);
        // The two NLB subnets and the spare one: the VPC's subnets decide AZ registration.
        assert_eq!(router.policy.subnets.len(), 3, "{}", router.config.id);
        assert_eq!(router.policy.vpc_cidrs.len(), 1, "{}", router.config.id);
    }

    // Every router but the last (in placement order) is at the NLB's 50 listeners.
    let dynamodb = aws_sdk_dynamodb::Client::new(&bed.sdk);
    for i in 0..ROUTERS - 1 {
        dynamodb
            .put_item()
            .table_name(&config.table)
            .item("pk", AttributeValue::S(format!("ROUTER#f{i:02}")))
            .item("sk", AttributeValue::S("META".into()))
            .item("active", AttributeValue::N("50".into()))
            .send()
            .await
            .expect("count written");
    }
    bed.set_ip("db.fleet.test", [10, 1, 9, 9]);
    let before = ctx.clients.calls.snapshot();
    let started = Instant::now();
    let req = create_request("last-room", "db.fleet.test");
    let (route, created) = service::create(&ctx, &Bed::owner(), &req)
        .await
        .expect("created on the router with room");
    let took = started.elapsed();
    let calls = ctx.clients.calls.since(&before);
    println!(
        "create with {} full routers of {ROUTERS}: {took:?}, calls {calls:?}",
        ROUTERS - 1
    );
    assert!(created);
    assert_eq!(route.router, format!("f{:02}", ROUTERS - 1));
    assert_eq!(calls.get("BatchGetItem"), Some(&1), "{calls:?}");
    // The port table and listeners of the one router with room (its listeners once to place
    // the port, once to create the listener), nothing of the full ones.
    assert_eq!(calls.get("Query"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("DescribeListeners"), Some(&2), "{calls:?}");

    // A missing NLB among 60 is named at cold start.
    let mut broken = fleet.clone();
    let arn = broken[33]["nlb_arn"].as_str().unwrap().to_owned();
    broken[33]["nlb_arn"] = json!(format!("{}0000", &arn[..arn.len() - 4]));
    let mut env = bed.env.clone();
    env.insert("ROUTER_FLEET".into(), broken.to_string());
    let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("config");
    let err = Context::build(config, Clients::from_sdk_config(&bed.sdk))
        .await
        .err()
        .expect("cold start fails");
    assert!(
        matches!(&err, InitError::Router { router, .. } if router == "f33"),
        "{err}"
    );
}
