//! Security properties end to end (the API's authorization matrix lives in `routes_api.rs`):
//! - a target is only ever a private address (RFC 1918, RFC 6598, or the router VPC's own
//!   ranges): public, loopback, link-local (the metadata service) and other special addresses
//!   are refused and reported, even when the DNS name of a live route is poisoned to return
//!   them, and the route keeps its last good targets;
//! - no credential and no request body reaches the logs: the routes API handler, sync, the
//!   audit and the RDS event handler run with a tracing subscriber capturing into a buffer,
//!   with a marker and an AWS secret-key-like string in the request, and the buffer is searched.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use aws_sdk_elasticloadbalancingv2::operation::register_targets::RegisterTargetsInput;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::domain::plan::{Note, Reason};
use privatelink_router::flows::audit::{audit, AuditRequest};
use privatelink_router::flows::service::{self, CreateRequest, ServiceError};
use router_tests::fixtures::Bed;
use serde_json::{json, Value};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// Every IP sent in a RegisterTargets call.
#[derive(Debug, Clone, Default)]
struct Registered(Arc<Mutex<Vec<IpAddr>>>);

impl Intercept for Registered {
    fn name(&self) -> &'static str {
        "Registered"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(r) = context.input().downcast_ref::<RegisterTargetsInput>() {
            let mut seen = self.0.lock().unwrap();
            seen.extend(
                r.targets()
                    .iter()
                    .filter_map(|t| t.id()?.parse::<IpAddr>().ok()),
            );
        }
        Ok(())
    }
}

async fn recorded_context(bed: &Bed) -> (Context, Registered) {
    let registered = Registered::default();
    let clients = Clients::from_sdk_config_with(&bed.sdk, registered.clone());
    let config = Config::from_lookup(&|k| bed.env.get(k).cloned()).unwrap();
    (Context::build(config, clients).await.unwrap(), registered)
}

fn request(name: &str, host: &str) -> CreateRequest {
    router_tests::fixtures::create_request(name, host)
}

/// Addresses a poisoned (or publicly accessible) DNS name could answer, none a valid target.
const FORBIDDEN: [Ipv4Addr; 8] = [
    Ipv4Addr::new(8, 8, 8, 8),         // public
    Ipv4Addr::new(52, 94, 1, 10),      // public (an AWS public range)
    Ipv4Addr::new(169, 254, 169, 254), // instance metadata service
    Ipv4Addr::new(127, 0, 0, 1),       // loopback
    Ipv4Addr::new(0, 0, 0, 0),         // unspecified
    Ipv4Addr::new(172, 32, 0, 1),      // just outside 172.16.0.0/12
    Ipv4Addr::new(100, 128, 0, 1),     // just outside 100.64.0.0/10
    Ipv4Addr::new(224, 0, 0, 1),       // multicast
];

fn refused(notes: &[Note]) -> Vec<IpAddr> {
    notes
        .iter()
        .filter_map(|n| match n {
            Note::Refused { ip, .. } => Some(*ip),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_answering_only_public_addresses_is_refused_at_creation() {
    let bed = Bed::start("sec-public").await;
    let (ctx, registered) = recorded_context(&bed).await;
    bed.dns.set_a("public.db.test", &FORBIDDEN);
    let err = service::create(&ctx, &Bed::owner(), &request("public", "public.db.test"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::PublicAddress { ips, .. } if ips.len() == FORBIDDEN.len()),
        "{err:?}"
    );
    // A mixed answer registers only its private address.
    let good = Ipv4Addr::new(10, 40, 0, 1);
    let mut mixed = FORBIDDEN.to_vec();
    mixed.push(good);
    bed.dns.set_a("mixed.db.test", &mixed);
    let route = bed.add_route("mixed", "mixed.db.test", 5432).await;
    assert_eq!(bed.targets(&route).await, vec!["10.40.0.1:5432"]);
    let sent = registered.0.lock().unwrap().clone();
    assert!(
        sent.iter().all(|ip| *ip == IpAddr::V4(good)),
        "registered: {sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poisoned_dns_mid_life_never_registers_forbidden_ips_and_keeps_the_last_good_targets() {
    let bed = Bed::start("sec-poison").await;
    let (ctx, registered) = recorded_context(&bed).await;
    let good = Ipv4Addr::new(10, 41, 0, 1);
    bed.dns.set_a("orders.db.test", &[good]);
    let route = service::create(&ctx, &Bed::owner(), &request("orders", "orders.db.test"))
        .await
        .unwrap()
        .0;
    // The name is poisoned: every answer is forbidden, for longer than the K=3 window.
    bed.dns.set_a("orders.db.test", &FORBIDDEN);
    for round in 0..5 {
        let out = service::sync(&ctx, &Bed::owner(), "orders").await.unwrap();
        assert!(
            out.plan.register.is_empty(),
            "round {round}: {:?}",
            out.plan
        );
        assert!(
            out.plan.deregister.is_empty(),
            "round {round}: {:?}",
            out.plan
        );
        let reported = refused(&out.plan.notes);
        assert_eq!(
            reported.len(),
            FORBIDDEN.len(),
            "round {round}: {:?}",
            out.plan.notes
        );
        assert_eq!(bed.targets(&route).await, vec!["10.41.0.1:5432"]);
    }
    // The audit reports the same and changes nothing either.
    let report = audit(&ctx, AuditRequest::default()).await.unwrap();
    assert!(report
        .routes
        .iter()
        .all(|f| f.register.is_empty() && f.deregister.is_empty()));
    assert_eq!(bed.targets(&route).await, vec!["10.41.0.1:5432"]);
    // Poisoned with a public address next to the real one: the real one stays, nothing else.
    let mut mixed = FORBIDDEN.to_vec();
    mixed.push(good);
    bed.dns.set_a("orders.db.test", &mixed);
    service::sync(&ctx, &Bed::owner(), "orders").await.unwrap();
    assert_eq!(bed.targets(&route).await, vec!["10.41.0.1:5432"]);
    let sent = registered.0.lock().unwrap().clone();
    assert!(
        sent.iter().all(|ip| *ip == IpAddr::V4(good)),
        "registered: {sent:?}"
    );
    // DNS heals to a new private address: followed as usual.
    bed.set_ip("orders.db.test", [10, 41, 0, 2]);
    service::sync(&ctx, &Bed::owner(), "orders").await.unwrap();
    assert_eq!(
        bed.targets(&route).await,
        vec!["10.41.0.1:5432", "10.41.0.2:5432"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_target_added_by_hand_is_removed_as_not_allowed() {
    let bed = Bed::start("sec-stranger").await;
    bed.set_ip("pay.db.test", [10, 42, 0, 1]);
    let route = bed.add_route("pay", "pay.db.test", 5432).await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk);
    elb.register_targets()
        .target_group_arn(route.target_group_arn.clone().unwrap())
        .targets(
            TargetDescription::builder()
                .id("8.8.8.8")
                .port(5432)
                .availability_zone("all")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let out = service::sync(&bed.ctx, &Bed::owner(), "pay").await.unwrap();
    let removed: Vec<_> = out
        .plan
        .deregister
        .iter()
        .map(|c| (c.target.ip.to_string(), c.reason))
        .collect();
    assert_eq!(removed, vec![("8.8.8.8".to_string(), Reason::NotAllowed)]);
    assert_eq!(bed.targets(&route).await, vec!["10.42.0.1:5432"]);
}

// ---------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------

/// A `MakeWriter` appending every log line to a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// An AWS secret access key lookalike (AWS documentation's example key, reversed).
const SECRET: &str = "YEKELPMAXEYCiFRxPb/GNEDM7K/IMEFNtUXlaJw";
/// A marker that only ever appears inside request bodies.
const MARKER: &str = "BODY-MARKER-5d41402abc4b2a76";
/// Values of the API event's credential headers (`x-amz-security-token`, SigV4 access key).
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKEN";
const ACCESS_KEY: &str = "ASIAQ3EGRVEXAMPLE7ZS";

fn api_event(method: &str, path: &str, body: Option<String>) -> Value {
    let file = format!(
        "{}/../events/apigw-create-route.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut ev: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    ev["routeKey"] = json!(format!("{method} {path}"));
    ev["rawPath"] = json!(path);
    ev["requestContext"]["http"]["method"] = json!(method);
    ev["requestContext"]["http"]["path"] = json!(path);
    ev["requestContext"]["routeKey"] = json!(format!("{method} {path}"));
    match body {
        Some(b) => {
            ev["headers"]["content-length"] = json!(b.len().to_string());
            ev["body"] = json!(b);
        }
        None => {
            ev["body"] = Value::Null;
        }
    }
    ev
}

async fn api(ctx: &Context, method: &str, path: &str, body: Option<String>) -> i64 {
    let req = serde_json::from_value(api_event(method, path, body)).expect("API event");
    routes_api::handle(ctx, req).await.status_code
}

/// Runs the router's entry points with request bodies that carry [`MARKER`] and [`SECRET`]
/// (valid ones, and invalid ones whose error messages could echo them), capturing every log
/// line at the Lambdas' level (`info`) and at `debug` for the router's own crates.
#[test]
fn logs_never_contain_credentials_or_request_bodies() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(EnvFilter::new(
            "info,privatelink_router=debug,routes_api=debug,rds_events=debug",
        ))
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let statuses = rt.block_on(async {
        let bed = Bed::start("sec-logs").await;
        bed.set_ip("logs.db.test", [10, 43, 0, 1]);
        let ctx = &bed.ctx;
        let mut statuses = Vec::new();
        // A valid create whose tags carry the marker and the secret (user data, stored as
        // tags: allowed, but never logged).
        let body = json!({
            "name": "logs",
            "host": "logs.db.test",
            "port": 5432,
            "tags": {"note": MARKER, "leaked-key": SECRET},
        });
        statuses.push((
            "create",
            api(ctx, "POST", "/routes", Some(body.to_string())).await,
        ));
        // A replay with a different definition (409), and malformed bodies whose parse
        // errors are logged (400/422).
        let conflict = json!({"name": "logs", "host": "logs.db.test", "port": 5433,
            "tags": {"note": MARKER}});
        statuses.push((
            "conflict",
            api(ctx, "POST", "/routes", Some(conflict.to_string())).await,
        ));
        let unknown = json!({"name": "x", "host": "logs.db.test", "port": 5432,
            "password": SECRET, "note": MARKER});
        statuses.push((
            "unknown field",
            api(ctx, "POST", "/routes", Some(unknown.to_string())).await,
        ));
        // Not JSON at all (a missing comma): a syntax error, 400.
        let broken = format!("{{\"name\": \"{MARKER}\" \"{SECRET}\": 1}}");
        statuses.push((
            "broken json",
            api(ctx, "POST", "/routes", Some(broken)).await,
        ));
        let mut bad_tags = serde_json::Map::new();
        bad_tags.insert("note".into(), json!(format!("{MARKER} {SECRET}\u{7}")));
        let bad_tag = json!({"name": "y", "host": "logs.db.test", "port": 5432, "tags": bad_tags});
        statuses.push((
            "bad tag",
            api(ctx, "POST", "/routes", Some(bad_tag.to_string())).await,
        ));
        statuses.push(("get", api(ctx, "GET", "/routes/logs", None).await));
        statuses.push(("sync", api(ctx, "POST", "/routes/logs/sync", None).await));
        statuses.push(("list", api(ctx, "GET", "/routes", None).await));
        audit(ctx, AuditRequest::default()).await.unwrap();
        let event: Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/../events/rds-instance-failover-completed-0049.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        privatelink_router::flows::events::handle(ctx, &event)
            .await
            .unwrap();
        statuses.push(("delete", api(ctx, "DELETE", "/routes/logs", None).await));
        statuses
    });
    let logs = captured.text();
    assert_eq!(
        statuses.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        vec![201, 409, 422, 400, 422, 200, 200, 200, 200],
        "{statuses:?}"
    );
    assert!(
        logs.lines().count() >= statuses.len(),
        "the subscriber captured nothing: {logs}"
    );
    for (what, needle) in [
        ("secret key", SECRET),
        ("security token", TOKEN),
        ("access key id", ACCESS_KEY),
        ("request body marker", MARKER),
    ] {
        let hits: Vec<&str> = logs.lines().filter(|l| l.contains(needle)).collect();
        assert!(hits.is_empty(), "{what} in logs:\n{}", hits.join("\n"));
    }
}

/// A secret pasted into a field of the wrong type: the JSON error (serde's "invalid type:
/// string \"…\"") echoes the value, so the handler logs only the error code of a 4xx.
#[test]
fn a_secret_in_a_wrongly_typed_field_is_not_echoed_into_the_logs() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new("info"))
        .with_writer(captured.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        let bed = Bed::start("sec-echo").await;
        let body = json!({"name": "z", "host": "z.db.test", "port": SECRET});
        api(&bed.ctx, "POST", "/routes", Some(body.to_string())).await
    });
    assert_eq!(status, 422);
    let logs = captured.text();
    let hits: Vec<&str> = logs.lines().filter(|l| l.contains(SECRET)).collect();
    assert!(hits.is_empty(), "secret in logs:\n{}", hits.join("\n"));
}
