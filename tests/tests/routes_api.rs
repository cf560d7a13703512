//! The routes API end to end: real API Gateway HTTP API v2 events (loaded from `events/` and
//! modified per case) through the real `routes_api::handle`, the SDK, moto and loopback DNS;
//! results are read back from moto (target groups, listeners, targets) and the route table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use base64::Engine as _;
use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::adapters::aws::elb::{MANAGED_BY, TAG_MANAGED_BY, TAG_ROUTE, TAG_ROUTER};
use privatelink_router::adapters::aws::store::RouteStore;
use privatelink_router::config::{Config, DEFAULT_DEPLOYMENT};
use privatelink_router::context::Context;
use privatelink_router::domain::ports::PortEntry;
use privatelink_router::domain::route::{target_group_name, RouteStatus};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use router_tests::fixtures::{Bed, ADMIN, OWNER};
use router_tests::network::Network;
use routes_api::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use routes_api::aws_lambda_events::encodings::Body;
use serde_json::{json, Value};

/// The caller of every file in `events/`: a session of the pipeline role ([`OWNER`]).
const OWNER_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/pipeline/terraform-run-4711";
/// A session of the admin role ([`ADMIN`]).
const ADMIN_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/platform-admin/oncall";
/// A session of a role that owns nothing and is no admin.
const OTHER_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/analytics-pipeline/run-1";

// ---------------------------------------------------------------------------------------------
// Events: the files in events/, modified per case.
// ---------------------------------------------------------------------------------------------

fn template(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn set_body(ev: &mut Value, raw: &str) {
    ev["body"] = raw.into();
    ev["isBase64Encoded"] = false.into();
    ev["headers"]["content-length"] = raw.len().to_string().into();
}

fn set_target(ev: &mut Value, method: &str, path: &str) {
    ev["rawPath"] = path.into();
    ev["requestContext"]["http"]["method"] = method.into();
    ev["requestContext"]["http"]["path"] = path.into();
}

fn as_caller(mut ev: Value, user_arn: Option<&str>) -> Value {
    match user_arn {
        Some(arn) => ev["requestContext"]["authorizer"]["iam"]["userArn"] = arn.into(),
        None => {
            ev["requestContext"]
                .as_object_mut()
                .expect("requestContext")
                .remove("authorizer");
        }
    }
    ev
}

fn create_body(name: &str, host: &str) -> Value {
    let mut body: Value = serde_json::from_str(
        template("apigw-create-route.json")["body"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    body["name"] = name.into();
    body["host"] = host.into();
    body
}

fn create_event(body: &Value) -> Value {
    let mut ev = template("apigw-create-route.json");
    set_body(&mut ev, &body.to_string());
    ev
}

fn route_event(file: &str, method: &str, path: &str, id: &str) -> Value {
    let mut ev = template(file);
    set_target(&mut ev, method, path);
    ev["pathParameters"]["id"] = id.into();
    ev
}

fn get_event(id: &str) -> Value {
    route_event("apigw-get-route.json", "GET", &format!("/routes/{id}"), id)
}

fn delete_event(id: &str) -> Value {
    route_event(
        "apigw-delete-route.json",
        "DELETE",
        &format!("/routes/{id}"),
        id,
    )
}

fn sync_event(id: &str) -> Value {
    route_event(
        "apigw-sync-route.json",
        "POST",
        &format!("/routes/{id}/sync"),
        id,
    )
}

fn catalog_event(query: &[(&str, &str)]) -> Value {
    let mut ev = list_event(query);
    set_target(&mut ev, "GET", "/catalog");
    ev
}

fn list_event(query: &[(&str, &str)]) -> Value {
    let mut ev = template("apigw-list-routes.json");
    let map: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    // As API Gateway sends it: percent-encoded (`Not%20An%20Id`).
    ev["rawQueryString"] = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish()
        .into();
    if map.is_empty() {
        ev.as_object_mut().unwrap().remove("queryStringParameters");
    } else {
        ev["queryStringParameters"] = Value::Object(map);
    }
    ev
}

/// Sends one event through the real handler: status, JSON body and the raw response.
async fn send(
    ctx: &Context,
    ev: Value,
) -> (
    u16,
    Value,
    routes_api::aws_lambda_events::apigw::ApiGatewayV2httpResponse,
) {
    let req: ApiGatewayV2httpRequest =
        serde_json::from_value(ev).expect("a valid API Gateway v2 event");
    let resp = routes_api::handle(ctx, req).await;
    let body = match &resp.body {
        Some(Body::Text(t)) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    assert_eq!(
        resp.headers.get("content-type").unwrap(),
        "application/json"
    );
    (resp.status_code as u16, body, resp)
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

// ---------------------------------------------------------------------------------------------
// Reading back from moto and the table.
// ---------------------------------------------------------------------------------------------

/// Target groups (name, ARN) tagged as ours for a route on a router.
async fn owned_target_groups(ctx: &Context, router: &str, route: &str) -> Vec<(String, String)> {
    let all = ctx.elb.all_target_groups().await.unwrap();
    let arns: Vec<String> = all.iter().map(|t| t.arn.clone()).collect();
    let tags = ctx.elb.tags_of(&arns).await.unwrap();
    all.into_iter()
        .filter(|tg| {
            tags.get(&tg.arn).is_some_and(|t| {
                t.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY)
                    && t.get(TAG_ROUTER).map(String::as_str) == Some(router)
                    && t.get(TAG_ROUTE).map(String::as_str) == Some(route)
            })
        })
        .map(|tg| (tg.name, tg.arn))
        .collect()
}

/// Names of every target group tagged with this router.
async fn router_target_groups(ctx: &Context, router: &str) -> BTreeSet<String> {
    let all = ctx.elb.all_target_groups().await.unwrap();
    let arns: Vec<String> = all.iter().map(|t| t.arn.clone()).collect();
    let tags = ctx.elb.tags_of(&arns).await.unwrap();
    all.into_iter()
        .filter(|tg| {
            tags.get(&tg.arn)
                .is_some_and(|t| t.get(TAG_ROUTER).map(String::as_str) == Some(router))
        })
        .map(|tg| tg.name)
        .collect()
}

/// Listener ports of an NLB, with the target group each forwards to.
async fn listeners(ctx: &Context, nlb_arn: &str) -> Vec<(u16, Option<String>)> {
    let mut out: Vec<_> = ctx
        .elb
        .listeners(nlb_arn)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.port, l.forward_to))
        .collect();
    out.sort();
    out
}

/// Everything the API could write for one router, to compare before and after a request.
#[derive(Debug, Clone, PartialEq)]
struct World {
    routes: Vec<(String, RouteStatus, String, u16)>,
    ports: Vec<PortEntry>,
    active: u32,
    target_groups: BTreeSet<String>,
    listeners: Vec<(u16, Option<String>)>,
}

async fn world(ctx: &Context, router: &str, nlb_arn: &str) -> World {
    let mut routes = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let page = ctx.store.list(start.as_deref(), 100).await.unwrap();
        routes.extend(page.routes.into_iter().map(|r| {
            (
                r.id().to_string(),
                r.status,
                r.router.clone(),
                r.listener_port,
            )
        }));
        match page.next {
            Some(n) => start = Some(n),
            None => break,
        }
    }
    let (mut ports, active) = ctx.store.ports(router).await.unwrap();
    ports.sort_by_key(|p| p.port);
    World {
        routes,
        ports,
        active,
        target_groups: router_target_groups(ctx, router).await,
        listeners: listeners(ctx, nlb_arn).await,
    }
}

/// Every route of the router is complete, and AWS and the table agree about it: one
/// target group and one listener per route, one allocated port per route, the count right.
fn assert_consistent(w: &World, router: &str) {
    let mine: Vec<_> = w.routes.iter().filter(|r| r.2 == router).collect();
    for r in &mine {
        assert!(
            matches!(r.1, RouteStatus::Pending | RouteStatus::Active),
            "route left half-done: {r:?}"
        );
    }
    let expected_tgs: BTreeSet<String> = mine
        .iter()
        .map(|r| target_group_name(DEFAULT_DEPLOYMENT, router, &r.0))
        .collect();
    assert_eq!(w.target_groups, expected_tgs, "target groups vs routes");
    let route_ports: BTreeSet<u16> = mine.iter().map(|r| r.3).collect();
    let listener_ports: BTreeSet<u16> = w.listeners.iter().map(|l| l.0).collect();
    assert_eq!(listener_ports, route_ports, "listeners vs routes");
    assert_eq!(w.listeners.len(), mine.len(), "one listener per route");
    let allocated: BTreeSet<(u16, String)> = w
        .ports
        .iter()
        .filter(|p| p.state == "allocated")
        .map(|p| (p.port, p.route_id.clone()))
        .collect();
    let expected: BTreeSet<(u16, String)> = mine.iter().map(|r| (r.3, r.0.clone())).collect();
    assert_eq!(allocated, expected, "allocated ports vs routes");
    assert_eq!(w.active as usize, mine.len(), "router listener count");
}

/// A route is fully provisioned: active, exactly one owned target group with the expected
/// name, one listener on its port forwarding there, one allocated port, the expected target.
async fn assert_converged(bed: &Bed, ctx: &Context, name: &str, ip: &str, port: u16) {
    let route = bed.route(name).await;
    assert_eq!(route.status, RouteStatus::Active, "{name}");
    let tgs = owned_target_groups(ctx, &bed.router_id, name).await;
    assert_eq!(tgs.len(), 1, "{name}: one target group, got {tgs:?}");
    assert_eq!(
        tgs[0].0,
        target_group_name(DEFAULT_DEPLOYMENT, &bed.router_id, name)
    );
    assert_eq!(route.target_group_arn.as_deref(), Some(tgs[0].1.as_str()));
    let on_port: Vec<_> = listeners(ctx, &bed.network.nlb_arn)
        .await
        .into_iter()
        .filter(|l| l.0 == route.listener_port || l.1.as_deref() == Some(tgs[0].1.as_str()))
        .collect();
    assert_eq!(
        on_port,
        vec![(route.listener_port, Some(tgs[0].1.clone()))],
        "{name}: one listener"
    );
    let (ports, _) = ctx.store.ports(&bed.router_id).await.unwrap();
    let held: Vec<_> = ports.iter().filter(|p| p.route_id == name).collect();
    assert_eq!(held.len(), 1, "{name}: port allocated once: {held:?}");
    assert_eq!(held[0].port, route.listener_port);
    assert_eq!(held[0].state, "allocated");
    assert_eq!(bed.targets(&route).await, vec![format!("{ip}:{port}")]);
}

// ---------------------------------------------------------------------------------------------
// Beds
// ---------------------------------------------------------------------------------------------

/// A bed (its moto serializes DynamoDB calls: see `tests/moto/sitecustomize.py`).
async fn bed_with(name: &str, extra: &[(&str, &str)]) -> Bed {
    Bed::start_with(name, extra).await
}

async fn bed(name: &str) -> Bed {
    bed_with(name, &[]).await
}

/// A context over the bed's router (with `first` merged into its `ROUTER_FLEET` entry, e.g.
/// a consumer domain) and a second router with its own NLB: `(context, second NLB, second
/// router id)`.
async fn fleet_of_two(bed: &Bed, name: &str, first: Value) -> (Context, Network, String) {
    let second = Network::create(&bed.sdk, name).await.unwrap();
    let second_id = format!("{}b", bed.router_id);
    let mut env = bed.env.clone();
    let mut first_router: Value =
        serde_json::from_str::<Value>(&env["ROUTER_FLEET"]).unwrap()[0].clone();
    for (k, v) in first.as_object().into_iter().flatten() {
        first_router[k] = v.clone();
    }
    env.insert(
        "ROUTER_FLEET".into(),
        json!([
            first_router,
            {"id": second_id, "nlb_arn": second.nlb_arn,
             "endpoint_service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0fleet0000000000b"}
        ])
        .to_string(),
    );
    let config = Config::from_lookup(&|k| env.get(k).cloned()).unwrap();
    let ctx = Context::with_resolver(
        config,
        Clients::from_sdk_config(&bed.sdk),
        bed.ctx.dns.clone(),
    )
    .await
    .unwrap();
    (ctx, second, second_id)
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_works_through_the_handler_and_moto_shows_the_result() {
    let bed = bed("api-all").await;
    let host = "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 0, 1, 10]);

    // The NLB's network interface, as AWS would create it (moto does not).
    let ec2 = aws_sdk_ec2::Client::new(&bed.sdk);
    let arn_tail: Vec<&str> = bed.network.nlb_arn.rsplit('/').take(2).collect();
    let (lb_id, lb_name) = (arn_tail[0], arn_tail[1]);
    assert_eq!(lb_name, bed.network.name);
    ec2.create_network_interface()
        .subnet_id(&bed.network.subnets[0].id)
        .private_ip_address("10.0.1.250")
        .description(format!("ELB net/{lb_name}/{lb_id}"))
        .send()
        .await
        .unwrap();

    // POST /routes: 201 with the consumer-facing connection info.
    let (status, created, resp) = send(&bed.ctx, template("apigw-create-route.json")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(resp.headers.get("location").unwrap(), "/routes/orders");
    assert_eq!(created["id"], "orders");
    assert_eq!(created["owner"], OWNER, "the session's role owns the route");
    assert_eq!(created["router"], bed.router_id.as_str());
    assert_eq!(created["status"], "active");
    let port = created["listener_port"].as_u64().unwrap() as u16;
    assert!((10000..=10999).contains(&port));
    assert_eq!(created["connection"]["port"], port);
    assert!(created["connection"]["endpoint_service_name"]
        .as_str()
        .unwrap()
        .starts_with("com.amazonaws.vpce.us-east-1.vpce-svc-"));
    let tg_arn = created["target_group_arn"].as_str().unwrap().to_owned();
    assert_eq!(created["rds_identifier"], "orders");

    // Read back from moto: target group, its tags, attributes, listener and targets.
    let tgs = owned_target_groups(&bed.ctx, &bed.router_id, "orders").await;
    assert_eq!(
        tgs,
        vec![(
            target_group_name(DEFAULT_DEPLOYMENT, &bed.router_id, "orders"),
            tg_arn.clone()
        )]
    );
    let tags = bed
        .ctx
        .elb
        .tags_of(std::slice::from_ref(&tg_arn))
        .await
        .unwrap();
    assert_eq!(tags[&tg_arn]["team"], "payments");
    let tg = bed
        .ctx
        .elb
        .target_group_by_name(&tgs[0].0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((tg.port, tg.protocol.as_str()), (5432, "TCP"));
    assert_eq!(tg.health_check.interval_seconds, 10);
    let attrs = bed.ctx.elb.attributes(&tg_arn).await.unwrap();
    assert_eq!(attrs["deregistration_delay.timeout_seconds"], "30");
    assert_eq!(
        listeners(&bed.ctx, &bed.network.nlb_arn).await,
        vec![(port, Some(tg_arn.clone()))]
    );
    let route = bed.route("orders").await;
    assert_eq!(bed.targets(&route).await, vec!["10.0.1.10:5432"]);

    // GET /routes/{id}: route + targets + health + resolutions + the NLB's private IPs.
    let (status, detail, _) = send(&bed.ctx, template("apigw-get-route.json")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["listener_port"], port);
    assert_eq!(detail["targets"][0]["ip"], "10.0.1.10");
    assert_eq!(detail["targets"][0]["port"], 5432);
    // Just registered: ELB runs its first health checks (`initial`, 3 s in the test bed's
    // clock: the route is degraded, registering) and then reports `healthy` (serving).
    let state = detail["targets"][0]["state"].as_str().unwrap();
    let health = if state == "initial" {
        "degraded"
    } else {
        "serving"
    };
    assert!(["initial", "healthy"].contains(&state), "{detail:#}");
    assert_eq!(detail["targets"][0]["availability_zone"], "us-east-1a");
    assert_eq!(detail["health"]["health"], health, "{detail:#}");
    assert_eq!(detail["resolutions"][0]["ips"], json!(["10.0.1.10"]));
    assert_eq!(detail["nlb_private_ips"], json!(["10.0.1.250"]));

    // GET /routes: the sample filters on tag team=payments.
    let (status, listed, _) = send(&bed.ctx, template("apigw-list-routes.json")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["routes"].as_array().unwrap().len(), 1);
    assert_eq!(listed["routes"][0]["id"], "orders");
    assert_eq!(listed["next"], Value::Null);

    // POST /routes/{id}/sync after the database moved: the applied plan is returned.
    bed.set_ip(host, [10, 0, 2, 20]);
    let (status, synced, _) = send(&bed.ctx, template("apigw-sync-route.json")).await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["applied"], true);
    assert_eq!(synced["plan"]["register"][0]["ip"], "10.0.2.20");
    assert_eq!(
        synced["route"]["listener_port"], port,
        "a sync never moves the port"
    );
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.0.1.10:5432", "10.0.2.20:5432"]
    );

    // DELETE /routes/{id}: listener and target group gone from moto, port quarantined.
    let (status, deleted, _) = send(&bed.ctx, template("apigw-delete-route.json")).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted, json!({"id": "orders", "deleted": true}));
    assert!(listeners(&bed.ctx, &bed.network.nlb_arn).await.is_empty());
    assert!(owned_target_groups(&bed.ctx, &bed.router_id, "orders")
        .await
        .is_empty());
    let (ports, active) = bed.ctx.store.ports(&bed.router_id).await.unwrap();
    assert_eq!(active, 0);
    assert_eq!(ports.len(), 1);
    assert_eq!(
        (ports[0].port, ports[0].state.as_str()),
        (port, "quarantined")
    );
    let (status, gone, _) = send(&bed.ctx, template("apigw-get-route.json")).await;
    assert_eq!((status, error_code(&gone)), (404, "not_found"));
    let (status, gone, _) = send(&bed.ctx, template("apigw-delete-route.json")).await;
    assert_eq!((status, error_code(&gone)), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base64_encoded_bodies_are_decoded() {
    let bed = bed("api-b64").await;
    bed.set_ip("b64.db.test", [10, 0, 1, 11]);
    let mut ev = create_event(&create_body("b64", "b64.db.test"));
    let raw = ev["body"].as_str().unwrap().to_owned();
    ev["body"] = base64::engine::general_purpose::STANDARD.encode(raw).into();
    ev["isBase64Encoded"] = true.into();
    let (status, body, _) = send(&bed.ctx, ev).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        bed.targets(&bed.route("b64").await).await,
        vec!["10.0.1.11:5432"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_create_replays_with_200_and_a_different_body_conflicts_with_409() {
    let bed = bed("api-idem").await;
    bed.set_ip("idem.db.test", [10, 0, 1, 12]);
    let body = create_body("idem", "idem.db.test");
    let (s1, first, _) = send(&bed.ctx, create_event(&body)).await;
    assert_eq!(s1, 201, "{first}");
    let (s2, again, _) = send(&bed.ctx, create_event(&body)).await;
    assert_eq!(s2, 200, "{again}");
    assert_eq!(again["listener_port"], first["listener_port"]);
    assert_eq!(again["target_group_arn"], first["target_group_arn"]);

    let mut changed = body.clone();
    changed["port"] = 3306.into();
    let (s3, conflict, _) = send(&bed.ctx, create_event(&changed)).await;
    assert_eq!((s3, error_code(&conflict)), (409, "conflict"), "{conflict}");
    let (s4, other, _) = send(
        &bed.ctx,
        as_caller(create_event(&body), Some(OTHER_SESSION)),
    )
    .await;
    assert_eq!(
        (s4, error_code(&other)),
        (409, "conflict"),
        "another caller's identical body does not take the route over"
    );
    let (s5, admin, _) = send(
        &bed.ctx,
        as_caller(create_event(&body), Some(ADMIN_SESSION)),
    )
    .await;
    assert_eq!(s5, 200, "an admin replay is a replay: {admin}");

    let w = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
    assert_consistent(&w, &bed.router_id);
    assert_eq!(w.routes.len(), 1);
    assert_eq!(
        bed.route("idem").await.spec.port,
        5432,
        "the conflict changed nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// Ports, capacity and the fleet
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_stay_put_when_another_route_is_deleted_and_its_port_stays_quarantined() {
    let bed = bed_with("api-ports", &[("ROUTER_PORT_RANGE", "10000-10002")]).await;
    let mut ports = BTreeMap::new();
    for (i, name) in ["alpha", "bravo", "charlie"].into_iter().enumerate() {
        let host = format!("{name}.db.test");
        bed.set_ip(&host, [10, 0, 1, 20 + i as u8]);
        let (status, body, _) = send(&bed.ctx, create_event(&create_body(name, &host))).await;
        assert_eq!(status, 201, "{body}");
        ports.insert(name, body["listener_port"].as_u64().unwrap() as u16);
    }
    let distinct: BTreeSet<u16> = ports.values().copied().collect();
    assert_eq!(distinct, BTreeSet::from([10000, 10001, 10002]));

    let (status, _, _) = send(&bed.ctx, delete_event("bravo")).await;
    assert_eq!(status, 200);
    for name in ["alpha", "charlie"] {
        assert_eq!(
            bed.route(name).await.listener_port,
            ports[name],
            "{name} kept its port"
        );
        let (_, detail, _) = send(&bed.ctx, get_event(name)).await;
        assert_eq!(detail["connection"]["port"], ports[name]);
    }
    let on_nlb: BTreeSet<u16> = listeners(&bed.ctx, &bed.network.nlb_arn)
        .await
        .into_iter()
        .map(|l| l.0)
        .collect();
    assert_eq!(on_nlb, BTreeSet::from([ports["alpha"], ports["charlie"]]));

    let (entries, active) = bed.ctx.store.ports(&bed.router_id).await.unwrap();
    assert_eq!(active, 2);
    let freed = entries.iter().find(|e| e.port == ports["bravo"]).unwrap();
    assert_eq!(freed.state, "quarantined");
    let week = 7 * 24 * 3600;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = freed.until.unwrap() - now;
    assert!(
        (week - 60..=week).contains(&left),
        "quarantined ~7 days: {left}s"
    );

    bed.set_ip("delta.db.test", [10, 0, 1, 30]);
    let (status, full, _) = send(
        &bed.ctx,
        create_event(&create_body("delta", "delta.db.test")),
    )
    .await;
    assert_eq!(
        (status, error_code(&full)),
        (409, "capacity_exhausted"),
        "the freed port is not reused within quarantine: {full}"
    );
    let w = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
    assert_consistent(&w, &bed.router_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_freed_port_is_reused_once_its_quarantine_is_over() {
    let bed = bed_with(
        "api-quarantine",
        &[
            ("ROUTER_PORT_RANGE", "10000-10000"),
            ("ROUTER_PORT_QUARANTINE_SECONDS", "1"),
        ],
    )
    .await;
    bed.set_ip("q.db.test", [10, 0, 1, 40]);
    let (status, _, _) = send(&bed.ctx, create_event(&create_body("first", "q.db.test"))).await;
    assert_eq!(status, 201);
    let (status, _, _) = send(&bed.ctx, delete_event("first")).await;
    assert_eq!(status, 200);
    let (status, body, _) = send(&bed.ctx, create_event(&create_body("second", "q.db.test"))).await;
    assert_eq!((status, error_code(&body)), (409, "capacity_exhausted"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body, _) = send(&bed.ctx, create_event(&create_body("second", "q.db.test"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["listener_port"], 10000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_get_fifty_distinct_ports_and_fill_one_nlb_exactly() {
    // Default range 10000-10999; the NLB's hard limit of 50 listeners is what fills up.
    let bed = bed("api-fifty").await;
    bed.set_ip("fifty.db.test", [10, 0, 1, 50]);
    let started = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let ctx = bed.ctx.clone();
            let ev = create_event(&create_body(&format!("db-{i:02}"), "fifty.db.test"));
            tokio::spawn(async move { send(&ctx, ev).await })
        })
        .collect();
    let mut ports = BTreeSet::new();
    for t in tasks {
        let (status, body, _) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        ports.insert(body["listener_port"].as_u64().unwrap() as u16);
    }
    let wall = started.elapsed();
    println!(
        "concurrency: 50 concurrent creates -> {} distinct ports in {wall:.2?}",
        ports.len()
    );
    assert_eq!(ports.len(), 50);
    let on_nlb: BTreeSet<u16> = listeners(&bed.ctx, &bed.network.nlb_arn)
        .await
        .into_iter()
        .map(|l| l.0)
        .collect();
    assert_eq!(on_nlb, ports, "moto has exactly those 50 listeners");

    let (status, body, _) = send(
        &bed.ctx,
        create_event(&create_body("db-50", "fifty.db.test")),
    )
    .await;
    assert_eq!((status, error_code(&body)), (409, "capacity_exhausted"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("50 listeners per NLB"),
        "{body}"
    );
    let w = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
    assert_consistent(&w, &bed.router_id);
    assert_eq!(w.active, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_fills_the_second_router_when_the_first_is_full_and_routes_never_move() {
    let bed = bed_with("api-fleet", &[("ROUTER_PORT_RANGE", "10000-10001")]).await;
    let (fleet, second, second_id) = fleet_of_two(&bed, "api-fleet-b", json!({})).await;

    bed.set_ip("fleet.db.test", [10, 0, 1, 60]);
    let mut placed = BTreeMap::new();
    for name in ["f1", "f2", "f3", "f4"] {
        let (status, body, _) =
            send(&fleet, create_event(&create_body(name, "fleet.db.test"))).await;
        assert_eq!(status, 201, "{body}");
        placed.insert(
            name,
            (
                body["router"].as_str().unwrap().to_owned(),
                body["listener_port"].as_u64().unwrap() as u16,
                body["connection"]["endpoint_service_name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
        );
    }
    let on = |r: &str| placed.values().filter(|p| p.0 == r).count();
    assert_eq!((on(&bed.router_id), on(&second_id)), (2, 2), "{placed:?}");
    assert_eq!(
        placed["f3"].2,
        "com.amazonaws.vpce.us-east-1.vpce-svc-0fleet0000000000b"
    );
    assert_eq!(listeners(&fleet, &bed.network.nlb_arn).await.len(), 2);
    assert_eq!(listeners(&fleet, &second.nlb_arn).await.len(), 2);

    let (status, body, _) = send(&fleet, create_event(&create_body("f5", "fleet.db.test"))).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "capacity_exhausted"),
        "{body}"
    );
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains(&bed.router_id) && msg.contains(&second_id),
        "{msg}"
    );

    // Deleting on the first router moves nobody: the others keep router and port.
    let first_on_a = placed
        .iter()
        .find(|p| p.1 .0 == bed.router_id)
        .unwrap()
        .0
        .to_string();
    let (status, _, _) = send(&fleet, delete_event(&first_on_a)).await;
    assert_eq!(status, 200);
    for (name, (router, port, _)) in &placed {
        if *name != first_on_a {
            let r = bed.route(name).await;
            assert_eq!(
                (&r.router, r.listener_port),
                (router, *port),
                "{name} did not move"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The consumer's side: TLS names and the catalog (issue #18)
// ---------------------------------------------------------------------------------------------

/// An RDS instance endpoint name in the bed's region (it need not resolve).
fn rds_host(name: &str) -> String {
    format!("{name}.c9akciq32abc.us-east-1.rds.amazonaws.com")
}

fn tls_body(name: &str, host: &str) -> Value {
    let mut body = create_body(name, host);
    body["tls_name"] = true.into();
    body
}

/// Issue #18: a private endpoint rule carries at most 10 domain names. `tls_name` routes fill
/// the first router's rule (9: its consumer domain is the 10th), then the second's (10), and
/// the next one is a 409 `tls_names_full` naming both; a host has one TLS-named route (409
/// `tls_name_taken`); a route without `tls_name` still fits; deleting a TLS-named route frees
/// its name, and the catalog shows every rule's names as they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_names_fill_one_rule_then_the_next_and_a_full_fleet_is_a_409() {
    let bed = bed("api-tls").await;
    let (fleet, _second, second_id) = fleet_of_two(
        &bed,
        "api-tls-b",
        json!({"consumer_domain": "db.corp.example"}),
    )
    .await;
    let first_id = bed.router_id.clone();
    let mut on = BTreeMap::<String, Vec<String>>::new();
    for i in 0..19 {
        let name = format!("t{i:02}");
        let (status, body, _) =
            send(&fleet, create_event(&tls_body(&name, &rds_host(&name)))).await;
        assert_eq!(status, 201, "{name}: {body}");
        assert_eq!(body["tls_name"], true);
        assert_eq!(body["connection"]["consumer_host"], json!(rds_host(&name)));
        on.entry(body["router"].as_str().unwrap().to_owned())
            .or_default()
            .push(name);
    }
    assert_eq!(on[&first_id].len(), 9, "{on:?}");
    assert_eq!(on[&second_id].len(), 10, "{on:?}");

    let (status, body, _) = send(&fleet, create_event(&tls_body("t19", &rds_host("t19")))).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "tls_names_full"),
        "{body}"
    );
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&first_id) && msg.contains(&second_id), "{msg}");
    let (status, body, _) = send(&fleet, create_event(&tls_body("again", &rds_host("t03")))).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "tls_name_taken"),
        "{body}"
    );
    // The newcomer trial: the router's consumer domain is on the rule already.
    let (status, body, _) =
        send(&fleet, create_event(&tls_body("domain", "db.corp.example"))).await;
    assert_eq!(
        (status, error_code(&body)),
        (409, "tls_name_taken"),
        "{body}"
    );
    bed.set_ip("plain.db.test", [10, 0, 1, 70]);
    let (status, body, _) =
        send(&fleet, create_event(&create_body("plain", "plain.db.test"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["connection"]["consumer_host"], "db.corp.example");

    let rules = |catalog: &Value| -> BTreeMap<String, (Vec<String>, u64)> {
        catalog["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let names = serde_json::from_value(r["domain_names"].clone()).unwrap();
                (
                    r["router"].as_str().unwrap().to_owned(),
                    (names, r["room"].as_u64().unwrap()),
                )
            })
            .collect()
    };
    let catalog_as_admin = || as_caller(catalog_event(&[("limit", "100")]), Some(ADMIN_SESSION));
    let (status, catalog, _) = send(&fleet, catalog_as_admin()).await;
    assert_eq!(status, 200, "{catalog}");
    let before = rules(&catalog);
    let mut first_names: Vec<String> = on[&first_id].iter().map(|n| rds_host(n)).collect();
    first_names.sort();
    first_names.insert(0, "db.corp.example".into());
    assert_eq!(before[&first_id], (first_names.clone(), 0));
    assert_eq!(before[&second_id].0.len(), 10);
    assert_eq!(before[&second_id].1, 0);

    // A name leaves its rule with its route, and the freed slot takes the next TLS name.
    let gone = on[&first_id][0].clone();
    let (status, _, _) = send(&fleet, delete_event(&gone)).await;
    assert_eq!(status, 200);
    let (_, catalog, _) = send(&fleet, catalog_as_admin()).await;
    let after = rules(&catalog);
    assert!(!after[&first_id].0.contains(&rds_host(&gone)), "{after:?}");
    assert_eq!(after[&first_id].1, 1);
    let (status, body, _) = send(&fleet, create_event(&tls_body("t19", &rds_host("t19")))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["router"], json!(first_id));
}

/// Issue #18: the catalog gives each route the address a consumer uses — its TLS name, or
/// the router's consumer domain — with connection strings for its engine (learned from the
/// router's RDS API when not given: verify-full only where the certificate's name matches),
/// health and the NLB IPs; owners see their routes and only their names in the rules,
/// admins everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_gives_each_route_its_consumer_address_and_connection_strings() {
    let bed = bed("api-catalog").await;
    let (fleet, _second, _) = fleet_of_two(
        &bed,
        "api-catalog-b",
        json!({"consumer_domain": "db.corp.example"}),
    )
    .await;
    let orders = router_tests::fixtures::postgres_instance(&bed.sdk, "corders").await;
    bed.set_ip(&orders, [10, 0, 1, 80]);
    bed.set_ip("billing.db.test", [10, 0, 1, 81]);
    bed.set_ip("theirs.db.test", [10, 0, 1, 82]);
    let (status, body, _) = send(&fleet, create_event(&tls_body("corders", &orders))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["engine"], "postgres",
        "learned from the RDS API: {body}"
    );
    let mut billing = create_body("billing", "billing.db.test");
    billing["engine"] = "mysql".into();
    let (status, body, _) = send(&fleet, create_event(&billing)).await;
    assert_eq!(status, 201, "{body}");
    let (status, body, _) = send(
        &fleet,
        as_caller(
            create_event(&tls_body("theirs", "theirs.db.test")),
            Some(OTHER_SESSION),
        ),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    let (status, catalog, _) = send(&fleet, catalog_event(&[])).await;
    assert_eq!(status, 200, "{catalog}");
    let entries: BTreeMap<&str, &Value> = catalog["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["route"].as_str().unwrap(), e))
        .collect();
    assert_eq!(
        entries.keys().copied().collect::<Vec<_>>(),
        ["billing", "corders"]
    );
    let port = |name: &str| bed_route_port(&entries, name);
    let corders = entries["corders"];
    assert_eq!(corders["consumer"]["host"], json!(orders));
    assert_eq!(corders["consumer"]["tls_verified"], true);
    assert_eq!(
        corders["urls"]["jdbc"],
        json!(format!(
            "jdbc:postgresql://{orders}:{}/<database>?sslmode=verify-full",
            port("corders")
        ))
    );
    assert!(corders["health"].is_string(), "{corders}");
    assert_eq!(corders["notes"], json!([]));
    let billing = entries["billing"];
    assert_eq!(billing["consumer"]["host"], "db.corp.example");
    assert_eq!(
        billing["urls"]["jdbc"],
        json!(format!(
            "jdbc:mysql://db.corp.example:{}/<database>?sslMode=REQUIRED",
            port("billing")
        ))
    );
    // The owner sees its own TLS name in the rule, not another owner's database.
    let rule = &catalog["rules"][0];
    assert_eq!(
        rule["domain_names"],
        json!(["db.corp.example", orders]),
        "{rule}"
    );
    assert_eq!(
        rule["room"], 7,
        "three of ten used: the domain and two TLS names"
    );
    assert_eq!(rule["complete"], false, "another owner's name is left out");

    let (_, catalog, _) = send(&fleet, as_caller(catalog_event(&[]), Some(ADMIN_SESSION))).await;
    assert_eq!(catalog["routes"].as_array().unwrap().len(), 3);
    let names = catalog["rules"][0]["domain_names"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(names, 3, "{catalog}");
    assert_eq!(catalog["rules"][0]["complete"], true);
}

/// Issue #18: concurrent `tls_name` creates race for the last domain names of a rule: the
/// allocation's conditional write (not only the read before it) keeps the rule at 10, and
/// every loser gets a 409, never a route whose name the rule cannot carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_tls_names_never_overfill_a_rule() {
    let bed = bed("api-tls-race").await;
    let tasks: Vec<_> = (0..14)
        .map(|i| {
            let ctx = bed.ctx.clone();
            let name = format!("race{i:02}");
            let ev = create_event(&tls_body(&name, &rds_host(&name)));
            tokio::spawn(async move { send(&ctx, ev).await })
        })
        .collect();
    let mut outcomes = BTreeMap::<String, usize>::new();
    for t in tasks {
        let (status, body, _) = t.await.unwrap();
        let key = match status {
            201 => "created".to_owned(),
            _ => format!("{status} {}", error_code(&body)),
        };
        *outcomes.entry(key).or_default() += 1;
    }
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("created".to_owned(), 10),
            ("409 tls_names_full".to_owned(), 4)
        ])
    );
    let (_, catalog, _) = send(&bed.ctx, as_caller(catalog_event(&[]), Some(ADMIN_SESSION))).await;
    assert_eq!(
        catalog["rules"][0]["domain_names"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    assert_eq!(catalog["rules"][0]["room"], 0);
}

fn bed_route_port(entries: &BTreeMap<&str, &Value>, name: &str) -> u64 {
    entries[name]["consumer"]["port"].as_u64().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Authorization
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_see_and_change_only_their_own_routes_and_admins_everything() {
    let bed = bed("api-authz").await;
    bed.set_ip("authz.db.test", [10, 0, 1, 70]);
    let (status, _, _) = send(
        &bed.ctx,
        create_event(&create_body("mine", "authz.db.test")),
    )
    .await;
    assert_eq!(status, 201);
    let before = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;

    for ev in [get_event("mine"), sync_event("mine"), delete_event("mine")] {
        let (status, body, _) = send(&bed.ctx, as_caller(ev, Some(OTHER_SESSION))).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{body}");
        assert_eq!(
            body["error"]["message"], "route mine not found",
            "the same answer as for a name no route has: {body}"
        );
    }
    let (status, listed, _) = send(&bed.ctx, as_caller(list_event(&[]), Some(OTHER_SESSION))).await;
    assert_eq!(status, 200);
    assert_eq!(listed["routes"], json!([]), "others do not even see it");
    assert_eq!(
        world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await,
        before,
        "refused calls change nothing"
    );

    let (status, listed, _) = send(&bed.ctx, as_caller(list_event(&[]), Some(ADMIN_SESSION))).await;
    assert_eq!(status, 200);
    assert_eq!(listed["routes"][0]["id"], "mine");
    let (status, listed, _) = send(&bed.ctx, list_event(&[("owner", OWNER)])).await;
    assert_eq!(
        (status, listed["routes"][0]["id"].clone()),
        (200, json!("mine"))
    );
    let (status, _, _) = send(&bed.ctx, as_caller(get_event("mine"), Some(ADMIN_SESSION))).await;
    assert_eq!(status, 200);
    let (status, _, _) = send(&bed.ctx, as_caller(sync_event("mine"), Some(ADMIN_SESSION))).await;
    assert_eq!(status, 200);

    for ev in [
        create_event(&create_body("anon", "authz.db.test")),
        list_event(&[]),
        get_event("mine"),
        sync_event("mine"),
        delete_event("mine"),
    ] {
        let (status, body, _) = send(&bed.ctx, as_caller(ev.clone(), None)).await;
        assert_eq!((status, error_code(&body)), (401, "unauthenticated"));
        let (status, _, _) = send(&bed.ctx, as_caller(ev, Some("  "))).await;
        assert_eq!(status, 401, "an empty userArn is no identity");
    }

    let (status, _, _) = send(
        &bed.ctx,
        as_caller(delete_event("mine"), Some(ADMIN_SESSION)),
    )
    .await;
    assert_eq!(status, 200, "admins may delete any route");
    assert!(listeners(&bed.ctx, &bed.network.nlb_arn).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_through_every_route_and_filters_by_owner_and_tag() {
    let bed = bed("api-list").await;
    bed.set_ip("list.db.test", [10, 0, 1, 80]);
    for (name, team) in [
        ("l1", "a"),
        ("l2", "b"),
        ("l3", "a"),
        ("l4", "c"),
        ("l5", "a"),
    ] {
        let mut body = create_body(name, "list.db.test");
        body["tags"] = json!({"team": team});
        if name == "l4" {
            body["tags"]["pci"] = "".into();
        }
        let (status, _, _) = send(&bed.ctx, create_event(&body)).await;
        assert_eq!(status, 201);
    }
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut q = vec![("limit", "2")];
        if let Some(n) = next.as_deref() {
            q.push(("next", n));
        }
        let (status, page, _) = send(&bed.ctx, list_event(&q)).await;
        assert_eq!(status, 200, "{page}");
        let routes = page["routes"].as_array().unwrap();
        assert!(routes.len() <= 2);
        seen.extend(routes.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(n) => next = Some(n.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["l1", "l2", "l3", "l4", "l5"]);

    let ids = |page: &Value| -> Vec<String> {
        page["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, page, _) = send(&bed.ctx, list_event(&[("tag", "team=a")])).await;
    assert_eq!(ids(&page), ["l1", "l3", "l5"]);
    let (_, page, _) = send(&bed.ctx, list_event(&[("tag", "pci")])).await;
    assert_eq!(ids(&page), ["l4"]);
    let (_, page, _) = send(&bed.ctx, list_event(&[("tag", "team")])).await;
    assert_eq!(ids(&page).len(), 5);
    let (_, page, _) = send(
        &bed.ctx,
        as_caller(list_event(&[("owner", ADMIN)]), Some(ADMIN_SESSION)),
    )
    .await;
    assert_eq!(ids(&page), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_right_4xx_json_error_and_writes_nothing() {
    let bed = bed("api-bad").await;
    bed.set_ip("ok.db.test", [10, 0, 1, 90]);
    bed.set_ip("public.db.test", [8, 8, 8, 8]);
    let before = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;

    let ok = create_body("bad", "ok.db.test");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = ok.clone();
        f(&mut b);
        create_event(&b)
    };
    let raw = |s: &str| {
        let mut ev = template("apigw-create-route.json");
        set_body(&mut ev, s);
        ev
    };
    let at = |method: &str, path: &str| {
        let mut ev = template("apigw-get-route.json");
        set_target(&mut ev, method, path);
        ev
    };
    let mut b64_bad = create_event(&ok);
    b64_bad["body"] = "not base64 !!".into();
    b64_bad["isBase64Encoded"] = true.into();
    let mut b64_big = create_event(&ok);
    b64_big["body"] = base64::engine::general_purpose::STANDARD
        .encode(vec![b' '; 17 * 1024])
        .into();
    b64_big["isBase64Encoded"] = true.into();
    let mut no_body = template("apigw-create-route.json");
    no_body.as_object_mut().unwrap().remove("body");

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "malformed JSON",
            raw("{\"name\": \"bad\","),
            400,
            "invalid_json",
        ),
        (
            "not JSON at all",
            raw("name=bad&port=1"),
            400,
            "invalid_json",
        ),
        ("no body", no_body, 400, "invalid_body"),
        ("blank body", raw("   "), 400, "invalid_body"),
        ("bad base64", b64_bad, 400, "invalid_body"),
        (
            "unknown field",
            with(&|b| b["owner"] = "me".into()),
            422,
            "unknown_field",
        ),
        (
            "unknown health check field",
            with(&|b| b["health_check"]["path"] = "/".into()),
            422,
            "unknown_field",
        ),
        (
            "missing host",
            with(&|b| {
                b.as_object_mut().unwrap().remove("host");
            }),
            422,
            "validation_failed",
        ),
        (
            "port as string",
            with(&|b| b["port"] = "5432".into()),
            422,
            "validation_failed",
        ),
        ("JSON array", raw("[1,2]"), 422, "validation_failed"),
        (
            "port 0",
            with(&|b| b["port"] = 0.into()),
            422,
            "validation_failed",
        ),
        (
            "port 70000",
            with(&|b| b["port"] = 70000.into()),
            422,
            "validation_failed",
        ),
        (
            "bad name",
            with(&|b| b["name"] = "Orders_DB".into()),
            422,
            "validation_failed",
        ),
        (
            "bad host",
            with(&|b| b["host"] = "-bad-.test".into()),
            422,
            "validation_failed",
        ),
        (
            "IP literal host",
            with(&|b| b["host"] = "10.1.2.3".into()),
            422,
            "validation_failed",
        ),
        (
            "UDP",
            with(&|b| b["protocol"] = "UDP".into()),
            422,
            "unsupported_protocol",
        ),
        (
            "interval 1 s",
            with(&|b| b["health_check"]["interval_seconds"] = 1.into()),
            422,
            "validation_failed",
        ),
        (
            "timeout above interval",
            with(&|b| {
                b["health_check"]["interval_seconds"] = 5.into();
                b["health_check"]["timeout_seconds"] = 10.into();
            }),
            422,
            "validation_failed",
        ),
        (
            "threshold 11",
            with(&|b| b["health_check"]["healthy_threshold"] = 11.into()),
            422,
            "validation_failed",
        ),
        (
            "aws: tag",
            with(&|b| b["tags"]["aws:x"] = "1".into()),
            422,
            "validation_failed",
        ),
        (
            "tag charset",
            with(&|b| b["tags"]["team"] = "a#b".into()),
            422,
            "validation_failed",
        ),
        (
            "public answer",
            with(&|b| b["host"] = "public.db.test".into()),
            422,
            "public_address",
        ),
        (
            "oversized body",
            with(&|b| b["tags"]["pad"] = "x".repeat(17 * 1024).into()),
            413,
            "payload_too_large",
        ),
        ("oversized base64 body", b64_big, 413, "payload_too_large"),
        (
            "upper-case id",
            at("GET", "/routes/Orders"),
            400,
            "invalid_route_id",
        ),
        (
            "encoded slash id",
            at("GET", "/routes/a%2Fb"),
            400,
            "invalid_route_id",
        ),
        (
            "overlong id",
            at("DELETE", &format!("/routes/{}", "a".repeat(65))),
            400,
            "invalid_route_id",
        ),
        (
            "empty id",
            at("POST", "/routes//sync"),
            400,
            "invalid_route_id",
        ),
        (
            "unknown path",
            at("GET", "/databases"),
            404,
            "unknown_endpoint",
        ),
        // Direct invokes only (API Gateway percent-encodes): lambda_http cannot build a URI.
        (
            "query that is no URI",
            {
                let mut ev = at("GET", "/routes");
                ev["rawQueryString"] = "next=a b".into();
                ev
            },
            400,
            "invalid_request",
        ),
        (
            "too deep",
            at("GET", "/routes/a/sync/now"),
            404,
            "unknown_endpoint",
        ),
        (
            "missing route",
            at("GET", "/routes/ghost"),
            404,
            "not_found",
        ),
        (
            "sync of a missing route",
            at("POST", "/routes/ghost/sync"),
            404,
            "not_found",
        ),
        (
            "PUT /routes",
            at("PUT", "/routes"),
            405,
            "method_not_allowed",
        ),
        (
            "PATCH /routes/{id}",
            at("PATCH", "/routes/x"),
            405,
            "method_not_allowed",
        ),
        (
            "GET /routes/{id}/sync",
            at("GET", "/routes/x/sync"),
            405,
            "method_not_allowed",
        ),
        (
            "limit 0",
            list_event(&[("limit", "0")]),
            400,
            "invalid_query",
        ),
        (
            "limit 101",
            list_event(&[("limit", "101")]),
            400,
            "invalid_query",
        ),
        (
            "limit abc",
            list_event(&[("limit", "abc")]),
            400,
            "invalid_query",
        ),
        (
            "bad next",
            list_event(&[("next", "Not An Id")]),
            400,
            "invalid_query",
        ),
        (
            "empty tag key",
            list_event(&[("tag", "=x")]),
            400,
            "invalid_query",
        ),
        (
            "unknown parameter",
            list_event(&[("sort", "name")]),
            400,
            "invalid_query",
        ),
    ];
    for (what, ev, status, code) in cases {
        let (got, body, resp) = send(&bed.ctx, ev).await;
        assert_eq!((got, error_code(&body)), (status, code), "{what}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: message"
        );
        if status == 405 {
            assert!(resp.headers.contains_key("allow"), "{what}: Allow header");
        }
    }
    assert_eq!(
        world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await,
        before,
        "no bad input wrote anything"
    );
}

// ---------------------------------------------------------------------------------------------
// Random input
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct RandomRequest {
    method: &'static str,
    path: String,
    body: Option<String>,
    base64: bool,
    pad: bool,
    caller: Option<&'static str>,
    query: Vec<(String, String)>,
}

const NAMES: [&str; 6] = [
    "p-1",
    "p-2",
    "p-3",
    "orders",
    "x",
    "p-1-long-name-of-a-route",
];

fn arb_id() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(NAMES.to_vec()).prop_map(str::to_owned),
        2 => "[a-z0-9-]{0,10}",
        1 => "\\PC{0,12}",
        1 => Just("%2e%2e".to_owned()),
    ]
    .boxed()
}

/// A required field: usually present.
fn opt(s: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![1 => Just(None), 9 => s.prop_map(Some)].boxed()
}

/// An optional field: usually absent (its default is valid).
fn rarely(s: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    prop_oneof![2 => Just(None), 1 => s.prop_map(Some)].boxed()
}

fn arb_create_json() -> BoxedStrategy<Value> {
    let name = prop_oneof![
        4 => arb_id().prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(Value::Null),
    ]
    .boxed();
    let host = prop_oneof![
        6 => prop::sample::select(vec![
            "ok.db.test", "nx.db.test", "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
        ])
        .prop_map(Value::from),
        2 => prop::sample::select(vec!["public.db.test", "10.1.2.3", "bad_host", "-x.test", "a..b"])
            .prop_map(Value::from),
        1 => "[a-z0-9.-]{0,40}".prop_map(Value::from),
        1 => any::<u8>().prop_map(Value::from),
    ]
    .boxed();
    let port = prop_oneof![
        8 => (1i64..=65535).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => Just(json!("5432")),
        1 => Just(json!(5432.5)),
    ]
    .boxed();
    let protocol = prop::sample::select(vec!["TCP", "tcp", "UDP", "TLS", ""])
        .prop_map(Value::from)
        .boxed();
    let hc_value = prop_oneof![
        4 => (2i64..=30).prop_map(Value::from),
        1 => (0i64..400).prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
    ];
    let health_check = prop_oneof![
        4 => (
            prop::option::of(hc_value.clone()),
            prop::option::of(hc_value.clone()),
            prop::option::of(hc_value.clone()),
            prop::option::of(hc_value),
            any::<bool>(),
        )
            .prop_map(|(i, t, h, u, extra)| {
                let mut m = serde_json::Map::new();
                for (k, v) in [
                    ("interval_seconds", i),
                    ("timeout_seconds", t),
                    ("healthy_threshold", h),
                    ("unhealthy_threshold", u),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                if extra {
                    m.insert("path".into(), "/health".into());
                }
                Value::Object(m)
            }),
        1 => Just(json!("fast")),
    ]
    .boxed();
    let tags = prop_oneof![
        3 => prop::collection::btree_map("[a-z]{1,6}", "[a-z0-9 ]{0,6}", 0..4)
            .prop_map(|m| json!(m)),
        2 => prop::collection::btree_map("\\PC{0,8}", "\\PC{0,8}", 0..4)
            .prop_map(|m| json!(m)),
        1 => Just(json!(["team"])),
    ]
    .boxed();
    let rds = prop_oneof![
        3 => "[a-z][a-z0-9-]{0,11}".prop_map(Value::from),
        1 => "[a-z0-9.-]{0,20}".prop_map(Value::from),
    ]
    .boxed();
    (
        opt(name),
        opt(host),
        opt(port),
        rarely(protocol),
        rarely(health_check),
        rarely(tags),
        rarely(rds),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, host, port, protocol, hc, tags, rds, extra)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [
                ("name", name),
                ("host", host),
                ("port", port),
                ("protocol", protocol),
                ("health_check", hc),
                ("tags", tags),
                ("rds_identifier", rds),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            if extra {
                m.insert("bogus".into(), json!(1));
            }
            Value::Object(m)
        })
        .boxed()
}

/// Mostly `POST /routes` with route-shaped JSON (reaching validation, DNS, allocation and
/// AWS), the rest anything at all.
fn arb_request() -> impl Strategy<Value = RandomRequest> {
    prop_oneof![3 => arb_create_request(), 2 => arb_any_request()]
}

/// Any JSON leaf or small container.
fn arb_json_value() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (0u32..200).prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        Just(json!({"interval_seconds": 30})),
        Just(json!({"a": "b"})),
        Just(json!([1, "x"])),
    ]
    .boxed()
}

/// A valid create body, then (mostly) one field replaced, removed or added.
fn arb_mutated_create_json() -> BoxedStrategy<Value> {
    const FIELDS: [&str; 8] = [
        "name",
        "host",
        "port",
        "protocol",
        "health_check",
        "tags",
        "rds_identifier",
        "extra",
    ];
    (
        prop::sample::select(NAMES.to_vec()),
        prop::sample::select(vec![
            "ok.db.test",
            "nx.db.test",
            "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
        ]),
        1i64..=65535,
        prop::option::weighted(0.7, (prop::sample::select(FIELDS.to_vec()), any::<bool>())),
        arb_json_value(),
    )
        .prop_map(|(name, host, port, mutation, value)| {
            let mut body = json!({"name": name, "host": host, "port": port});
            if let Some((field, remove)) = mutation {
                if remove {
                    body.as_object_mut().unwrap().remove(field);
                } else {
                    body[field] = value;
                }
            }
            body
        })
        .boxed()
}

fn arb_create_request() -> BoxedStrategy<RandomRequest> {
    let body = prop_oneof![
        5 => arb_mutated_create_json().prop_map(|v| Some(v.to_string())),
        4 => arb_create_json().prop_map(|v| Some(v.to_string())),
        1 => "\\PC{0,200}".prop_map(Some),
    ];
    let caller = prop::sample::select(vec![
        Some(OWNER_SESSION),
        Some(OWNER_SESSION),
        Some(OWNER_SESSION),
        Some(ADMIN_SESSION),
        Some(OTHER_SESSION),
    ]);
    (
        body,
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.03),
        caller,
    )
        .prop_map(|(body, base64, pad, caller)| RandomRequest {
            method: "POST",
            path: "/routes".to_owned(),
            body,
            base64,
            pad,
            caller,
            query: vec![],
        })
        .boxed()
}

fn arb_any_request() -> BoxedStrategy<RandomRequest> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
    ]);
    let path = prop_oneof![
        3 => Just("/routes".to_owned()),
        3 => arb_id().prop_map(|i| format!("/routes/{i}")),
        2 => arb_id().prop_map(|i| format!("/routes/{i}/sync")),
        1 => "/[a-z/]{0,20}",
        1 => "\\PC{0,30}",
    ];
    let body = prop_oneof![
        1 => Just(None),
        1 => "\\PC{0,200}".prop_map(Some),
        4 => arb_create_json().prop_map(|v| Some(v.to_string())),
    ];
    let caller = prop::sample::select(vec![
        Some(OWNER_SESSION),
        Some(OWNER_SESSION),
        Some(ADMIN_SESSION),
        Some(OTHER_SESSION),
        None,
    ]);
    let query = prop::collection::vec(
        (
            prop::sample::select(vec!["owner", "tag", "limit", "next", "x"])
                .prop_map(str::to_owned),
            "\\PC{0,10}",
        ),
        0..3,
    );
    (
        method,
        path,
        body,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.05),
        caller,
        query,
    )
        .prop_map(
            |(method, path, body, base64, pad, caller, query)| RandomRequest {
                method,
                path,
                body,
                base64,
                pad,
                caller,
                query,
            },
        )
        .boxed()
}

fn random_event(r: &RandomRequest) -> Value {
    let mut ev = template("apigw-create-route.json");
    set_target(&mut ev, r.method, &r.path);
    match &r.body {
        Some(b) => {
            let b = if r.pad {
                format!("{b}{}", " ".repeat(17 * 1024))
            } else {
                b.clone()
            };
            set_body(&mut ev, &b);
            if r.base64 {
                ev["body"] = base64::engine::general_purpose::STANDARD.encode(&b).into();
                ev["isBase64Encoded"] = true.into();
            }
        }
        None => {
            ev.as_object_mut().unwrap().remove("body");
        }
    }
    if !r.query.is_empty() {
        let map: serde_json::Map<String, Value> = r
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        ev["queryStringParameters"] = Value::Object(map);
    }
    as_caller(ev, r.caller)
}

#[test]
fn random_requests_never_get_a_5xx_nor_leave_a_partial_write() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bed = rt.block_on(bed("api-fuzz"));
    bed.set_ip("ok.db.test", [10, 0, 1, 100]);
    bed.set_ip("public.db.test", [8, 8, 8, 8]);
    bed.set_ip(
        "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
        [10, 0, 2, 100],
    );
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(96);
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let statuses = Mutex::new(BTreeMap::<String, u32>::new());
    runner
        .run(&arb_request(), |r| {
            rt.block_on(async {
                let before = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
                let (status, body, _) = send(&bed.ctx, random_event(&r)).await;
                let key = format!("{status} {}", body["error"]["code"].as_str().unwrap_or(""));
                if std::env::var_os("FUZZ_VERBOSE").is_some() && status == 422 {
                    eprintln!("422: {}", body["error"]["message"]);
                }
                *statuses.lock().unwrap().entry(key).or_default() += 1;
                prop_assert!(status < 500, "{r:?} -> {status} {body}");
                if status >= 400 {
                    prop_assert!(body["error"]["code"].is_string(), "{body}");
                }
                let after = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
                if status >= 400 {
                    prop_assert_eq!(&after, &before, "{:?} -> {} {}", r, status, body);
                }
                assert_consistent(&after, &bed.router_id);
                Ok(())
            })
        })
        .unwrap();
    println!(
        "fuzz: {cases} random requests, by status and code: {:?}",
        statuses.lock().unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// Crash safety
// ---------------------------------------------------------------------------------------------

/// Fails the n-th AWS call (counted from arming): before it is sent, or after AWS acted on it
/// (the response is lost) — the two ways a Lambda dies in the middle of a step.
#[derive(Debug, Clone, Default)]
struct Faults(Arc<FaultState>);

#[derive(Debug, Default)]
struct FaultState {
    calls: AtomicU64,
    fail_at: AtomicU64,
    after_send: AtomicBool,
    ops: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
struct LoseResponse;

impl Storable for LoseResponse {
    type Storer = StoreReplace<Self>;
}

impl Faults {
    fn arm(&self, n: u64, after_send: bool) {
        self.0.ops.lock().unwrap().clear();
        self.0.calls.store(0, Ordering::SeqCst);
        self.0.after_send.store(after_send, Ordering::SeqCst);
        self.0.fail_at.store(n, Ordering::SeqCst);
    }

    fn disarm(&self) {
        self.0.fail_at.store(0, Ordering::SeqCst);
    }

    fn ops(&self) -> Vec<String> {
        self.0.ops.lock().unwrap().clone()
    }
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "Faults"
    }

    // Once per operation, after the operation's `Metadata` is stored (client interceptors see
    // none in `read_before_execution`) and before anything is sent; never retried.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let n = self.0.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let op = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_default();
        self.0.ops.lock().unwrap().push(op.clone());
        if n == self.0.fail_at.load(Ordering::SeqCst) {
            if self.0.after_send.load(Ordering::SeqCst) {
                cfg.interceptor_state().store_put(LoseResponse);
            } else {
                return Err(format!("injected fault: call #{n} ({op}) not sent").into());
            }
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<LoseResponse>() {
            Some(_) => Err("injected fault: AWS acted, the response was lost".into()),
            None => Ok(()),
        }
    }
}

/// A context like the bed's, with the fault injector on every SDK client.
async fn faulty_context(bed: &Bed, faults: &Faults) -> Context {
    Context::with_resolver(
        bed.ctx.config.clone(),
        Clients::from_sdk_config_with(&bed.sdk, faults.clone()),
        bed.ctx.dns.clone(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_cut_at_any_aws_call_converges_when_retried() {
    let bed = bed("api-crash").await;
    bed.set_ip("crash.db.test", [10, 0, 1, 110]);
    let faults = Faults::default();
    let ctx = faulty_context(&bed, &faults).await;
    // A router with a route already: placement then reads its routes' targets (one
    // BatchGetItem), as for every create below, so each makes the same calls.
    faults.arm(0, false);
    let (status, _, _) = send(
        &ctx,
        create_event(&create_body("crash-first", "crash.db.test")),
    )
    .await;
    assert_eq!(status, 201);

    // A clean create, counted: the calls a create makes.
    faults.arm(0, false);
    let (status, _, _) = send(
        &ctx,
        create_event(&create_body("crash-probe", "crash.db.test")),
    )
    .await;
    assert_eq!(status, 201);
    let ops = faults.ops();
    let n_calls = ops.len() as u64;
    println!("crash: a create makes {n_calls} AWS calls: {ops:?}");
    assert!(n_calls >= 8, "{ops:?}");

    // The last call returns the route's apply lease after RegisterTargets: best effort (the
    // targets are right, the lease expires by itself), so cutting it does not fail the create.
    let lease_return = ops
        .iter()
        .rposition(|o| o.ends_with(".RegisterTargets"))
        .filter(|i| ops.get(i + 1).is_some_and(|o| o == "DynamoDB.PutItem"))
        .map(|i| i as u64 + 2);
    assert!(lease_return.is_some(), "{ops:?}");
    // Setting the new listener's idle timeout is best effort too: the route serves with AWS's
    // 350 s until the next audit applies the route's.
    let idle_timeout = ops
        .iter()
        .position(|o| o.ends_with(".ModifyListenerAttributes"))
        .map(|i| i as u64 + 1);
    assert!(idle_timeout.is_some(), "{ops:?}");
    let mut report = Vec::new();
    for after_send in [false, true] {
        for n in 1..=n_calls {
            let name = format!("crash-{}-{n}", if after_send { "lost" } else { "unsent" });
            let ev = create_event(&create_body(&name, "crash.db.test"));
            faults.arm(n, after_send);
            let (status, body, _) = send(&ctx, ev.clone()).await;
            let failed_op = faults
                .ops()
                .get(n as usize - 1)
                .cloned()
                .unwrap_or_default();
            faults.disarm();
            let expected = if Some(n) == lease_return || Some(n) == idle_timeout {
                (201, "<none>")
            } else {
                (502, "upstream_error")
            };
            assert_eq!(
                (status, error_code(&body)),
                expected,
                "{name} ({failed_op}): {body}"
            );
            // One line for people: no Debug dump of the SDK error (raw HTTP response, headers).
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                !message.contains("raw: Response") && !message.contains("{ "),
                "{name}: {message}"
            );
            let (retry, body, _) = send(&ctx, ev).await;
            assert!(retry == 200 || retry == 201, "{name} retry: {retry} {body}");
            assert_converged(&bed, &bed.ctx, &name, "10.0.1.110", 5432).await;
            report.push(format!(
                "{n}:{failed_op}:{}->{retry}",
                if after_send { "lost" } else { "unsent" }
            ));
        }
    }
    let w = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
    assert_consistent(&w, &bed.router_id);
    assert_eq!(w.routes.len() as u64, 2 + 2 * n_calls);
    println!(
        "crash: failed call n for every n in 1..={n_calls}, before sending and after AWS acted: {} cases, all converged on retry: {report:?}",
        2 * n_calls
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_half_created_route_removes_what_was_created() {
    let bed = bed("api-halfdel").await;
    bed.set_ip("half.db.test", [10, 0, 1, 120]);
    let faults = Faults::default();
    let ctx = faulty_context(&bed, &faults).await;
    faults.arm(0, false);
    let (status, _, _) = send(&ctx, create_event(&create_body("probe", "half.db.test"))).await;
    assert_eq!(status, 201);
    let create_listener = faults
        .ops()
        .iter()
        .position(|op| op.ends_with("CreateListener"))
        .expect("a create calls CreateListener") as u64
        + 1;

    // Cut the creation after the target group exists but before its ARN is recorded.
    faults.arm(create_listener, false);
    let (status, _, _) = send(&ctx, create_event(&create_body("half", "half.db.test"))).await;
    faults.disarm();
    assert_eq!(status, 502);
    let half = bed.route("half").await;
    assert_eq!(half.status, RouteStatus::Provisioning);
    assert_eq!(half.target_group_arn, None);
    assert_eq!(
        owned_target_groups(&bed.ctx, &bed.router_id, "half")
            .await
            .len(),
        1
    );

    let (status, body, _) = send(&ctx, delete_event("half")).await;
    assert_eq!(status, 200, "{body}");
    assert!(owned_target_groups(&bed.ctx, &bed.router_id, "half")
        .await
        .is_empty());
    let w = world(&bed.ctx, &bed.router_id, &bed.network.nlb_arn).await;
    assert_consistent(&w, &bed.router_id);
    assert!(w
        .ports
        .iter()
        .any(|p| p.route_id == "half" && p.state == "quarantined"));
}

// ---------------------------------------------------------------------------------------------
// The contract: real answers against the OpenAPI document
// ---------------------------------------------------------------------------------------------

/// `functions/routes-api/openapi.yaml` as JSON.
fn openapi() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../functions/routes-api/openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Issue #17: `openapi.yaml` is the document generated from the handler's Rust types, so it
/// cannot drift from the answers (the contract test below checks real answers against it).
#[test]
fn the_committed_openapi_document_is_the_generated_one() {
    assert!(
        openapi() == routes_api::openapi::document(),
        "functions/routes-api/openapi.yaml is not the generated document; regenerate it:\n  \
         cargo run -q -p routes-api --example openapi > functions/routes-api/openapi.yaml"
    );
}

/// `value`, or what its `$ref` (a local JSON pointer) names.
fn follow<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(r) => doc
            .pointer(r.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {r}")),
        None => value,
    }
}

/// Whether an answer is one the document describes for `method template`: its status is
/// listed, every header it sends (but `content-type`) is declared and every required one is
/// sent, and its body validates against the declared schema (JSON Schema 2020-12, as OpenAPI
/// 3.1 defines it; `$ref`s resolve in the document).
fn conforms(
    doc: &Value,
    method: &str,
    template: &str,
    status: u16,
    resp: &routes_api::aws_lambda_events::apigw::ApiGatewayV2httpResponse,
    body: &Value,
) -> Result<(), String> {
    let op = &doc["paths"][template][method.to_ascii_lowercase()];
    let documented = op["responses"]
        .get(status.to_string())
        .ok_or_else(|| format!("status {status} is not documented"))?;
    let documented = follow(doc, documented);
    let headers = documented["headers"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for name in resp.headers.keys().filter(|n| n.as_str() != "content-type") {
        if !headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case(name.as_str()))
        {
            return Err(format!("header {name} is not documented"));
        }
    }
    for (name, header) in &headers {
        let required = follow(doc, header)["required"].as_bool() == Some(true);
        if required
            && !resp
                .headers
                .contains_key(name.to_ascii_lowercase().as_str())
        {
            return Err(format!("required header {name} is missing"));
        }
    }
    let schema = &documented["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Err("no application/json schema".into());
    }
    let mut root = doc.clone();
    root["allOf"] = json!([schema]);
    let validator = jsonschema::draft202012::new(&root).map_err(|e| format!("schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors.join("; ")),
    }
}

/// Issue #17: every endpoint's real answers — successes and errors, through the handler and
/// moto — are what `openapi.yaml` says: status, headers and body, undocumented fields and
/// `null`s included; each operation is checked with at least one success and one error, and
/// the 500 a corrupt table item gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_the_one_the_openapi_document_describes() {
    let doc = openapi();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "OpenAPI 3.1: schemas are JSON Schema 2020-12"
    );
    let bed = bed("api-contract").await;
    let host = "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(host, [10, 0, 7, 10]);
    bed.set_ip("billing.db.test", [10, 0, 7, 11]);
    let orders = create_body("orders", host);
    let mut pinned = create_body("pinned", "billing.db.test");
    pinned["listener_port"] = 10500.into();
    let mut unknown = create_body("extra", host);
    unknown["colour"] = "blue".into();
    let padded = format!("{}{}", create_body("big", host), " ".repeat(17 * 1024));
    let mut too_big = create_event(&orders);
    set_body(&mut too_big, &padded);
    let mut not_json = create_event(&orders);
    set_body(&mut not_json, "{");
    let mut put = list_event(&[]);
    set_target(&mut put, "PUT", "/routes");

    let create = ("POST", "/routes");
    let list = ("GET", "/routes");
    let get = ("GET", "/routes/{id}");
    let delete = ("DELETE", "/routes/{id}");
    let sync = ("POST", "/routes/{id}/sync");
    let catalog = ("GET", "/catalog");
    let mut cases: Vec<(&str, (&str, &str), Value, u16)> = vec![
        ("create", create, create_event(&orders), 201),
        ("replay", create, create_event(&orders), 200),
        (
            "second route",
            create,
            create_event(&create_body("billing", "billing.db.test")),
            201,
        ),
        ("not JSON", create, not_json, 400),
        (
            "no caller",
            create,
            as_caller(create_event(&orders), None),
            401,
        ),
        ("pin by a non-admin", create, create_event(&pinned), 403),
        (
            "same name, other body",
            create,
            create_event(&create_body("orders", "billing.db.test")),
            409,
        ),
        ("too large", create, too_big, 413),
        (
            "TLS-named route",
            create,
            create_event(&tls_body("tls", &rds_host("tls"))),
            201,
        ),
        ("catalog", catalog, catalog_event(&[]), 200),
        (
            "catalog limit 0",
            catalog,
            catalog_event(&[("limit", "0")]),
            400,
        ),
        ("unknown field", create, create_event(&unknown), 422),
        ("last page", list, list_event(&[]), 200),
        (
            "first of two pages",
            list,
            list_event(&[("limit", "1")]),
            200,
        ),
        ("limit 0", list, list_event(&[("limit", "0")]), 400),
        ("PUT", list, put, 405),
        ("detail", get, get_event("orders"), 200),
        ("bad id", get, get_event("Orders"), 400),
        (
            "another owner's",
            get,
            as_caller(get_event("orders"), Some(OTHER_SESSION)),
            404,
        ),
        ("no such route", get, get_event("nope"), 404),
        ("sync", sync, sync_event("orders"), 200),
        ("sync of no route", sync, sync_event("nope"), 404),
        (
            "delete by another",
            delete,
            as_caller(delete_event("billing"), Some(OTHER_SESSION)),
            404,
        ),
        ("delete", delete, delete_event("billing"), 200),
        ("delete again", delete, delete_event("billing"), 404),
    ];
    // A route item the code cannot read (a version that is no number): 500 internal_error.
    bed.ctx
        .clients
        .dynamodb
        .put_item()
        .table_name(&bed.ctx.config.table)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("ROUTE#broken".into()),
        )
        .item(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("ROUTE".into()),
        )
        .item(
            "version",
            aws_sdk_dynamodb::types::AttributeValue::S("x".into()),
        )
        .send()
        .await
        .unwrap();
    cases.push(("corrupt item", get, get_event("broken"), 500));

    let mut failures = Vec::new();
    let mut checked: BTreeMap<(&str, &str), BTreeSet<u16>> = BTreeMap::new();
    for (what, (method, template), ev, status) in cases {
        let (got, body, resp) = send(&bed.ctx, ev).await;
        assert_eq!(got, status, "{what}: {body}");
        if let Err(e) = conforms(&doc, method, template, got, &resp, &body) {
            failures.push(format!(
                "{what} ({method} {template} → {got}): {e}\n  body: {body}"
            ));
        }
        checked.entry((method, template)).or_default().insert(got);
    }
    assert!(
        failures.is_empty(),
        "answers the document does not describe:\n{}",
        failures.join("\n")
    );
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops
            .as_object()
            .unwrap()
            .keys()
            .filter(|m| *m != "parameters")
        {
            let statuses = checked
                .get(&(method.to_ascii_uppercase().as_str(), path.as_str()))
                .cloned()
                .unwrap_or_default();
            assert!(
                statuses.iter().any(|s| *s < 300) && statuses.iter().any(|s| *s >= 400),
                "{method} {path}: checked only {statuses:?}"
            );
        }
    }
}
