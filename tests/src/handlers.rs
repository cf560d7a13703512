//! The three Lambda handlers as tests call them: the real `handler`/`handle` functions of the
//! function crates, fed with the real-shaped samples in `events/`.

use std::path::PathBuf;

use dns_audit::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use privatelink_router::context::Context;
use routes_api::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use routes_api::aws_lambda_events::encodings::Body;
use serde_json::{json, Value};

/// A sample event from `events/`, parsed.
pub fn sample(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// An RDS event sample with its event time moved (envelope `time` and `detail.Date`).
pub fn rds_event_at(name: &str, time: &str) -> Value {
    let mut event = sample(name);
    event["time"] = json!(time);
    event["detail"]["Date"] = json!(time);
    event
}

/// Delivers an RDS event to the real `rds-events` handler; its JSON summary.
pub async fn rds_event(ctx: &Context, event: Value) -> Value {
    rds_events::handler(
        ctx,
        rds_events::lambda_runtime::LambdaEvent::new(
            event,
            rds_events::lambda_runtime::Context::default(),
        ),
    )
    .await
    .expect("rds-events handler succeeds")
}

/// One scheduled run of the real `dns-audit` handler; its JSON report.
pub async fn audit(ctx: &Context) -> Value {
    dns_audit::handler(
        ctx,
        LambdaEvent::new(sample("audit-scheduled.json"), LambdaContext::default()),
    )
    .await
    .expect("dns-audit handler succeeds")
}

/// Runs `runs` scheduled audits, each with no error, and counts the targets they
/// deregistered (`repaired.targets_deregistered`): a live target must never be among them.
pub async fn deregistrations_in_audits(ctx: &Context, runs: usize) -> u64 {
    let mut removed = 0;
    for _ in 0..runs {
        let report = audit(ctx).await;
        assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
        removed += report["repaired"]["targets_deregistered"]
            .as_u64()
            .unwrap_or(0);
    }
    removed
}

/// `GET /routes/{id}` through the real `routes-api` handler, as the owner of the fixture's
/// routes; status and JSON body.
pub async fn get_route(ctx: &Context, id: &str) -> (u16, Value) {
    on_route(ctx, "apigw-get-route.json", &format!("/routes/{id}"), id).await
}

/// `GET /routes/{id}` through the real `routes-api` handler as `user_arn`; status and JSON body.
pub async fn get_route_as(ctx: &Context, id: &str, user_arn: &str) -> (u16, Value) {
    let path = format!("/routes/{id}");
    let mut ev = sample("apigw-get-route.json");
    ev["rawPath"] = path.as_str().into();
    ev["requestContext"]["http"]["path"] = path.as_str().into();
    ev["pathParameters"]["id"] = id.into();
    ev["requestContext"]["authorizer"]["iam"]["userArn"] = user_arn.into();
    call_api(ctx, ev).await
}

/// `POST /routes/{id}/sync` through the real `routes-api` handler, as the owner of the
/// fixture's routes; status and JSON body.
pub async fn sync_route(ctx: &Context, id: &str) -> (u16, Value) {
    on_route(
        ctx,
        "apigw-sync-route.json",
        &format!("/routes/{id}/sync"),
        id,
    )
    .await
}

/// `DELETE /routes/{id}` through the real `routes-api` handler, as the owner of the fixture's
/// routes; status and JSON body.
pub async fn delete_route(ctx: &Context, id: &str) -> (u16, Value) {
    on_route(ctx, "apigw-delete-route.json", &format!("/routes/{id}"), id).await
}

/// The API Gateway sample `file` re-aimed at `path` for route `id`, through the handler.
async fn on_route(ctx: &Context, file: &str, path: &str, id: &str) -> (u16, Value) {
    let mut ev = sample(file);
    ev["rawPath"] = path.into();
    ev["requestContext"]["http"]["path"] = path.into();
    ev["pathParameters"]["id"] = id.into();
    call_api(ctx, ev).await
}

/// `POST /routes` with `body` through the real `routes-api` handler, as `user_arn` (an IAM
/// principal or an assumed-role session); status and JSON body.
pub async fn post_route(ctx: &Context, body: &Value, user_arn: &str) -> (u16, Value) {
    let mut ev = sample("apigw-create-route.json");
    let raw = body.to_string();
    ev["headers"]["content-length"] = raw.len().to_string().into();
    ev["body"] = raw.into();
    ev["isBase64Encoded"] = false.into();
    ev["requestContext"]["authorizer"]["iam"]["userArn"] = user_arn.into();
    call_api(ctx, ev).await
}

/// One API Gateway v2 event through the real `routes-api` handler; status and JSON body.
pub async fn call_api(ctx: &Context, ev: Value) -> (u16, Value) {
    let req: ApiGatewayV2httpRequest =
        serde_json::from_value(ev).expect("a valid API Gateway v2 event");
    let resp = routes_api::handle(ctx, req).await;
    let body = match &resp.body {
        Some(Body::Text(t)) => serde_json::from_str(t).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (resp.status_code as u16, body)
}

/// One minute-watch run of the real `dns-audit` handler (`{"mode": "watch"}`); its report.
pub async fn watch(ctx: &Context) -> Value {
    dns_audit::handler(
        ctx,
        LambdaEvent::new(json!({"mode": "watch"}), LambdaContext::default()),
    )
    .await
    .expect("dns-audit handler succeeds")
}

/// `GET /catalog` through the real `routes-api` handler, as `user_arn`; status and JSON body.
pub async fn get_catalog(ctx: &Context, user_arn: &str) -> (u16, Value) {
    let mut ev = sample("apigw-list-routes.json");
    ev["rawPath"] = "/catalog".into();
    ev["requestContext"]["http"]["path"] = "/catalog".into();
    ev["routeKey"] = "GET /catalog".into();
    ev["rawQueryString"] = "".into();
    ev.as_object_mut()
        .expect("an event object")
        .remove("queryStringParameters");
    ev["requestContext"]["authorizer"]["iam"]["userArn"] = user_arn.into();
    call_api(ctx, ev).await
}
