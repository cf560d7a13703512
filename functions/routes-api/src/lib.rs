//! The `routes-api` Lambda's handler: thin glue from an API Gateway HTTP API request (payload
//! format 2.0, IAM authorization) to [`privatelink_router::flows::service`]. `lambda_http` (the
//! runtime project's own crate) turns the event into an `http::Request` and the
//! `http::Response` back into the API Gateway answer; [`serve`] routes by method and path,
//! reads the caller, query and body, and maps every failure to an HTTP status and a stable
//! machine code in one place, [`ApiError::code`]. No business rule lives here.
//!
//! Endpoints (documented in `openapi.yaml` next to this crate):
//! `GET /catalog`, `POST /routes`, `GET /routes`, `GET /routes/{id}`, `POST /routes/{id}/sync`,
//! `DELETE /routes/{id}`.

use std::convert::Infallible;

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpResponse,
};
use base64::Engine as _;
use lambda_http::http::{HeaderValue, Method};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Adapter, Body, LambdaEvent, Request, RequestExt, Response, Service};
use privatelink_router::adapters::aws::metrics;
use privatelink_router::context::Context;
use privatelink_router::domain::log_fields;
use privatelink_router::domain::route::RouteId;
use privatelink_router::flows::service::{self, Caller, CreateRequest, ListFilter, ServiceError};
use serde_json::{json, Value};
use tracing::{error, info, warn};

mod bodies;
mod errors;
pub mod openapi;

pub use bodies::{CatalogPage, Deleted, RoutePage, SyncResult};
pub use errors::{ApiError, ErrorBody, ErrorCode, ErrorDetail};

/// The event and response types, re-exported so tests build requests with the same version.
pub use aws_lambda_events;

/// Largest request body accepted, in bytes (after base64 decoding; the encoded form may be
/// at most 4/3 of it). A route definition is well under 2 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Default and largest page size of `GET /routes`.
pub const DEFAULT_PAGE: usize = 50;
/// Largest page size of `GET /routes`.
pub const MAX_PAGE: usize = 100;

/// A successful answer: status, JSON body, extra headers.
struct Reply {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self::with(200, body)
    }

    fn with(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            headers: vec![],
        }
    }
}

/// Which endpoint a path names.
enum Endpoint {
    Catalog,
    Routes,
    Route(RouteId),
    Sync(RouteId),
}

/// Handles one API Gateway HTTP API event (payload 2.0) the way `lambda_http::run` does —
/// through `lambda_http`'s own adapter, event → `http::Request` → [`serve`] →
/// `http::Response` → API Gateway answer — with guards where `lambda_http` 1.3 panics on
/// events API Gateway never sends but a direct invoke can: a body flagged base64 that does
/// not decode (`Body::from_maybe_encoded` expects valid base64) is a 400 `invalid_body`, and
/// a path or host that makes no URI (`expect("failed to build request")`, `Url::parse`
/// unwrap) is a 400 `invalid_request`. The Lambda's `main` and the tests both enter here.
/// Never fails.
pub async fn handle_event(
    ctx: &Context,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> ApiGatewayV2httpResponse {
    let LambdaEvent {
        payload: mut req,
        context,
    } = event;
    let undecodable = req
        .body
        .as_deref()
        .filter(|_| req.is_base64_encoded)
        .and_then(|raw| base64_error(raw).err());
    if undecodable.is_some() {
        req.body = None;
        req.is_base64_encoded = false;
    }
    let usage_before = ctx.clients.calls.usage();
    let mut adapter = Adapter::from(lambda_http::service_fn(|http: Request| {
        let refused = undecodable.clone();
        async move {
            Ok::<_, Infallible>(match refused {
                Some(e) => error_response(&http, ApiError::InvalidBody(e)),
                None => serve(ctx, http).await,
            })
        }
    }));
    // The conversion to `http::Request` runs inside `call`, before its future: a panic there
    // is the event's fault; [`serve`] runs in the future, outside this guard.
    let event = LambdaEvent::new(LambdaRequest::ApiGatewayV2(req), context);
    let converted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| adapter.call(event)));
    let answer = match converted {
        // The JSON the Lambda runtime sends API Gateway, read back as its type.
        Ok(future) => match future.await.map(serde_json::to_value) {
            Ok(Ok(json)) => serde_json::from_value(json).unwrap_or_else(|_| internal()),
            _ => internal(),
        },
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the event does not convert".into());
            unconvertible(ApiError::InvalidRequest(why))
        }
    };
    let usage = ctx.clients.calls.usage().since(usage_before);
    metrics::emit(
        &ctx.config.metrics_namespace,
        &[
            metrics::count("AwsCalls", usage.calls),
            metrics::count("AwsThrottles", usage.throttles),
        ],
        &[("Function", "routes-api")],
    );
    answer
}

/// The answer to an event that is no HTTP request: the JSON error, built directly (there is
/// no `http::Request` to answer).
fn unconvertible(e: ApiError) -> ApiGatewayV2httpResponse {
    let (status, code) = (e.status(), log_fields::tag(&e.code()));
    warn!(
        status,
        code, "request refused: the event is not an HTTP request"
    );
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = i64::from(status);
    resp.headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp.body = Some(Body::Text(to_json(&e.body()).to_string()));
    resp
}

/// A bare 500 (lambda_http's answer did not serialize: cannot happen with these types).
fn internal() -> ApiGatewayV2httpResponse {
    let mut resp = ApiGatewayV2httpResponse::default();
    resp.status_code = 500;
    resp
}

/// [`handle_event`] with an empty Lambda context (tests and the demo).
pub async fn handle(ctx: &Context, req: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
    handle_event(ctx, LambdaEvent::new(req, lambda_http::Context::default())).await
}

/// `Ok` when `raw` is valid base64, else why not.
fn base64_error(raw: &str) -> Result<(), String> {
    base64::engine::general_purpose::STANDARD
        .decode(raw)
        .map(drop)
        .map_err(|e| format!("body is not valid base64: {e}"))
}

/// Answers one HTTP request of the API: routes it by method and path, calls the service as
/// the IAM caller, and renders the reply or the error as JSON. Never fails.
pub async fn serve(ctx: &Context, req: Request) -> Response<Body> {
    let method = req.method().clone();
    let path = request_path(&req);
    let caller = http_api_context(&req)
        .and_then(|c| c.authorizer.as_ref())
        .and_then(|a| a.iam.as_ref())
        .and_then(|iam| iam.user_arn.clone())
        .filter(|arn| !arn.trim().is_empty());
    let outcome = match &caller {
        None => Err(ApiError::Unauthenticated),
        Some(user_arn) => {
            let caller = Caller::from_user_arn(user_arn);
            dispatch(ctx, &caller, &method, &path, &req).await
        }
    };
    match outcome {
        Ok(reply) => {
            info!(%method, %path, status = reply.status, request_id = request_id(&req), caller = caller.as_deref().unwrap_or(""), "request served");
            response(reply.status, &reply.body, &reply.headers)
        }
        Err(e) => error_response(&req, e),
    }
}

/// The HTTP API (payload 2.0) request context `lambda_http` keeps with the request.
fn http_api_context(req: &Request) -> Option<&ApiGatewayV2httpRequestContext> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => Some(c),
        _ => None,
    }
}

/// API Gateway's request id, for log lines.
fn request_id(req: &Request) -> String {
    http_api_context(req)
        .and_then(|c| c.request_id.clone())
        .unwrap_or_default()
}

/// The JSON error answer (`{"error": {"code", "message"}}`) with its status and headers, and
/// its log line.
fn error_response(req: &Request, e: ApiError) -> Response<Body> {
    let (method, path, request_id) = (req.method(), request_path(req), request_id(req));
    let (status, code) = (e.status(), log_fields::tag(&e.code()));
    if status >= 500 {
        error!(%method, %path, status, code, request_id, error = %e, "request failed");
    } else {
        // Not the error text: for bad bodies it quotes the caller's input (secrets too).
        warn!(%method, %path, status, code, request_id, "request refused");
    }
    let mut headers = vec![];
    if let ApiError::MethodNotAllowed { allow, .. } = &e {
        headers.push(("allow", (*allow).to_owned()));
    }
    if matches!(e, ApiError::Service(ServiceError::Busy(_))) {
        headers.push(("retry-after", "1".to_owned()));
    }
    response(status, &to_json(&e.body()), &headers)
}

/// The request path without the stage prefix (absent for the `$default` stage): the event's
/// `rawPath`, else `requestContext.http.path`.
fn request_path(req: &Request) -> String {
    let context = http_api_context(req);
    let raw = match req.raw_http_path() {
        "" => context
            .and_then(|c| c.http.path.clone())
            .unwrap_or_default(),
        raw => raw.to_owned(),
    };
    match context.and_then(|c| c.stage.as_deref()) {
        Some(stage) if stage != "$default" && !stage.is_empty() => {
            let prefix = format!("/{stage}");
            match raw.strip_prefix(&prefix) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_owned(),
                _ => raw,
            }
        }
        _ => raw,
    }
}

/// Routes a request to its service call by method and path.
async fn dispatch(
    ctx: &Context,
    caller: &Caller,
    method: &Method,
    path: &str,
    req: &Request,
) -> Result<Reply, ApiError> {
    let body = body_bytes(req)?;
    let not_allowed = |allow| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match endpoint(path)? {
        Endpoint::Catalog => match *method {
            Method::GET => {
                let catalog = service::catalog(ctx, caller, &list_filter(req)?).await?;
                Ok(Reply::ok(to_json(&CatalogPage {
                    routes: catalog.routes,
                    rules: catalog.rules,
                    next: catalog.next,
                })))
            }
            _ => Err(not_allowed("GET")),
        },
        Endpoint::Routes => match *method {
            Method::POST => create(ctx, caller, body.as_deref()).await,
            Method::GET => list(ctx, caller, req).await,
            _ => Err(not_allowed("GET, POST")),
        },
        Endpoint::Route(id) => match *method {
            Method::GET => {
                let detail = service::detail(ctx, caller, id.as_str()).await?;
                Ok(Reply::ok(to_json(&detail)))
            }
            Method::DELETE => {
                service::delete(ctx, caller, id.as_str()).await?;
                Ok(Reply::ok(to_json(&Deleted { id, deleted: true })))
            }
            _ => Err(not_allowed("GET, DELETE")),
        },
        Endpoint::Sync(id) => match *method {
            Method::POST => {
                let mut outcome = service::sync(ctx, caller, id.as_str()).await?;
                service::redact(ctx, caller, &mut outcome.route);
                service::redact_plan(ctx, caller, &mut outcome.plan);
                Ok(Reply::ok(to_json(&SyncResult {
                    route_id: outcome.route_id,
                    applied: outcome.applied,
                    conflicts: outcome.conflicts,
                    plan: outcome.plan,
                    route: service::view(ctx, outcome.route),
                })))
            }
            _ => Err(not_allowed("POST")),
        },
    }
}

/// Parses `/routes`, `/routes/{id}` and `/routes/{id}/sync` (one trailing slash tolerated).
fn endpoint(path: &str) -> Result<Endpoint, ApiError> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = trimmed.split('/').collect();
    let id = |raw: &str| RouteId::parse(raw).map_err(|_| ApiError::InvalidRouteId(raw.into()));
    match segments.as_slice() {
        ["", "catalog"] => Ok(Endpoint::Catalog),
        ["", "routes"] => Ok(Endpoint::Routes),
        ["", "routes", raw] => Ok(Endpoint::Route(id(raw)?)),
        ["", "routes", raw, "sync"] => Ok(Endpoint::Sync(id(raw)?)),
        _ => Err(ApiError::UnknownEndpoint(path.chars().take(200).collect())),
    }
}

/// The request body as bytes (`lambda_http` has decoded base64), within the size cap.
fn body_bytes(req: &Request) -> Result<Option<Vec<u8>>, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => return Ok(None),
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => return Ok(None),
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { size: bytes.len() });
    }
    Ok(Some(bytes.to_vec()))
}

/// `POST /routes`: 201 when created now, 200 for an identical replay.
async fn create(ctx: &Context, caller: &Caller, body: Option<&[u8]>) -> Result<Reply, ApiError> {
    let body = body
        .filter(|b| !b.iter().all(u8::is_ascii_whitespace))
        .ok_or_else(|| ApiError::InvalidBody("a JSON body is required".into()))?;
    let req: CreateRequest = serde_json::from_slice(body).map_err(parse_error)?;
    let (mut route, created) = service::create(ctx, caller, &req)
        .await
        .map_err(|e| service::redact_error(ctx, caller, e))?;
    let diagnoses = match created {
        true => service::diagnose_new(ctx, &route).await,
        false => vec![],
    };
    service::redact(ctx, caller, &mut route);
    let location = format!("/routes/{}", route.id());
    let mut view = service::view(ctx, route);
    view.diagnoses = diagnoses;
    let mut reply = Reply::with(if created { 201 } else { 200 }, to_json(&view));
    reply.headers.push(("location", location));
    Ok(reply)
}

/// Sorts a JSON parse failure into syntax (400) versus shape (422).
fn parse_error(e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::InvalidJson(msg),
        Category::Data if msg.starts_with("unknown field") => ApiError::UnknownField(msg),
        Category::Data => ApiError::InvalidShape(msg),
    }
}

/// `GET /routes?owner=&tag=key[=value]&limit=&next=`.
async fn list(ctx: &Context, caller: &Caller, req: &Request) -> Result<Reply, ApiError> {
    let (routes, next) = service::list(ctx, caller, &list_filter(req)?).await?;
    let routes = routes
        .into_iter()
        .map(|mut r| {
            service::redact(ctx, caller, &mut r);
            service::view(ctx, r)
        })
        .collect();
    Ok(Reply::ok(to_json(&RoutePage { routes, next })))
}

/// The filter and page of `GET /routes` and `GET /catalog`: `owner`, `tag=KEY[=VALUE]`,
/// `limit` (1-100) and `next`, each at most once.
fn list_filter(req: &Request) -> Result<ListFilter, ApiError> {
    let mut filter = ListFilter {
        limit: DEFAULT_PAGE,
        ..ListFilter::default()
    };
    let query = req.query_string_parameters();
    for (key, _) in query.iter() {
        if query.all(key).is_some_and(|v| v.len() > 1) {
            return Err(ApiError::InvalidQuery(format!(
                "{key:?} is given more than once"
            )));
        }
        let value = query.first(key).unwrap_or_default();
        match key {
            "owner" => filter.owner = Some(value.to_owned()),
            "tag" => {
                filter.tag = Some(match value.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (value.to_owned(), None),
                });
                if filter.tag.as_ref().is_some_and(|(k, _)| k.is_empty()) {
                    return Err(ApiError::InvalidQuery(
                        "tag must be KEY or KEY=VALUE with a non-empty KEY".into(),
                    ));
                }
            }
            "limit" => {
                filter.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::InvalidQuery(format!(
                            "limit must be a number from 1 to {MAX_PAGE}, got {value:?}"
                        ))
                    })?;
            }
            "next" => {
                let id = RouteId::parse(value).map_err(|_| {
                    ApiError::InvalidQuery(format!("next {value:?} is not a route id"))
                })?;
                filter.next = Some(id.to_string());
            }
            other => {
                return Err(ApiError::InvalidQuery(format!(
                    "unknown query parameter {:?}; known: owner, tag, limit, next",
                    other.chars().take(64).collect::<String>()
                )))
            }
        }
    }
    Ok(filter)
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_else(|e| json!({"serialization_error": e.to_string()}))
}

/// An HTTP response with a JSON body.
fn response(status: u16, body: &Value, extra: &[(&'static str, String)]) -> Response<Body> {
    let mut resp = Response::new(Body::Text(body.to_string()));
    *resp.status_mut() = lambda_http::http::StatusCode::from_u16(status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            headers.insert(*k, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use privatelink_router::domain::exposure::Denial;
    use privatelink_router::domain::net::Refusal;
    use privatelink_router::domain::validation::ValidationError;

    #[test]
    fn paths_map_to_endpoints_and_bad_ids_are_refused() {
        assert!(matches!(endpoint("/routes"), Ok(Endpoint::Routes)));
        assert!(matches!(endpoint("/routes/"), Ok(Endpoint::Routes)));
        assert!(matches!(
            endpoint("/routes/orders-1"),
            Ok(Endpoint::Route(_))
        ));
        assert!(matches!(
            endpoint("/routes/orders/sync"),
            Ok(Endpoint::Sync(_))
        ));
        for bad in [
            "/routes/Orders",
            "/routes/a%2Fb",
            "/routes/-x",
            "/routes//sync",
        ] {
            assert!(
                matches!(endpoint(bad), Err(ApiError::InvalidRouteId(_))),
                "{bad}"
            );
        }
        for unknown in ["/", "", "/route", "/routes/a/b", "/routes/a/sync/x"] {
            assert!(
                matches!(endpoint(unknown), Err(ApiError::UnknownEndpoint(_))),
                "{unknown}"
            );
        }
    }

    #[test]
    fn every_error_code_is_reached_and_only_aws_and_stored_data_are_5xx() {
        use privatelink_router::adapters::aws::elb::ElbError;
        use privatelink_router::adapters::aws::store::StoreError;
        let elb = |code: &str| ElbError {
            operation: "X",
            code: Some(code.into()),
            message: String::new(),
        };
        let errors = vec![
            ApiError::Unauthenticated,
            ApiError::PayloadTooLarge { size: 1 },
            ApiError::InvalidBody(String::new()),
            ApiError::InvalidRequest(String::new()),
            ApiError::InvalidJson(String::new()),
            ApiError::UnknownField(String::new()),
            ApiError::InvalidShape(String::new()),
            ApiError::InvalidQuery(String::new()),
            ApiError::InvalidRouteId(String::new()),
            ApiError::UnknownEndpoint(String::new()),
            ApiError::MethodNotAllowed {
                method: "PUT".into(),
                allow: "GET",
            },
            ServiceError::Invalid(ValidationError::Protocol("UDP".into())).into(),
            ServiceError::Invalid(ValidationError::RouteName("X".into())).into(),
            ServiceError::PublicAddress {
                host: "h".into(),
                ips: vec![],
            }
            .into(),
            ServiceError::NotFound("x".into()).into(),
            ServiceError::Denied(Denial::Port {
                port: 22,
                allowed: "5432".into(),
            })
            .into(),
            ServiceError::Denied(Denial::Addresses {
                host: "h".into(),
                ips: "10.20.30.40".into(),
                why: "x".into(),
                refusal: Refusal::OutsideDatabaseCidrs,
            })
            .into(),
            ServiceError::Denied(Denial::Addresses {
                host: "h".into(),
                ips: "10.0.1.250".into(),
                why: "x".into(),
                refusal: Refusal::RouterAddress,
            })
            .into(),
            ServiceError::Denied(Denial::Quota {
                what: "routes_per_owner",
                limit: 1,
                detail: "x".into(),
            })
            .into(),
            ServiceError::Denied(Denial::NotOwner {
                principal: "p".into(),
                accounts: "1".into(),
                reason: "x".into(),
            })
            .into(),
            ServiceError::Conflict {
                id: "x".into(),
                differs: "a different host".into(),
            }
            .into(),
            ServiceError::PortPinned {
                router: "r1".into(),
                port: 1,
                holder: "x".into(),
            }
            .into(),
            ServiceError::PortServed {
                router: "r1".into(),
                port: 1,
                listener: "arn".into(),
            }
            .into(),
            ServiceError::PinNotAllowed {
                principal: "p".into(),
            }
            .into(),
            ServiceError::CapacityExhausted("x".into()).into(),
            ServiceError::Busy("x".into()).into(),
            ServiceError::TlsNamesFull("r1".into()).into(),
            ServiceError::TlsNameTaken {
                host: "h".into(),
                router: "r1".into(),
            }
            .into(),
            ServiceError::Elb(elb("ListenerPortTaken")).into(),
            ServiceError::Elb(elb("TargetGroupNotOurs")).into(),
            ServiceError::Elb(elb("TooManyTargets")).into(),
            ServiceError::Elb(elb("Throttling")).into(),
            ServiceError::Store(StoreError::Codec("x".into())).into(),
            ServiceError::Store(StoreError::Aws {
                operation: "Query",
                code: None,
                message: String::new(),
            })
            .into(),
        ];
        let mut reached = std::collections::BTreeSet::new();
        for e in errors {
            let (status, code) = (e.status(), e.code());
            assert!(
                (400..500).contains(&status)
                    || matches!(code, ErrorCode::UpstreamError | ErrorCode::InternalError),
                "{code:?}: only AWS failures and unreadable stored data are 5xx"
            );
            reached.insert(privatelink_router::domain::log_fields::tag(&code));
        }
        let documented = crate::openapi::error_codes();
        assert_eq!(
            reached.iter().cloned().collect::<Vec<_>>(),
            documented,
            "every documented code is one an error gives"
        );
    }

    /// Case 8 of issue #28: a 5xx body carried AWS's error text, with the role and resource
    /// ARNs in it. It names the service, operation and error code only.
    #[test]
    fn an_aws_failure_answers_without_aws_text_or_arns() {
        use privatelink_router::adapters::aws::store::StoreError;
        let leaky = "User: arn:aws:sts::123456789012:assumed-role/router-api/x is not authorized to perform: elasticloadbalancing:DescribeTargetHealth on resource: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/plr-r1-orders/abc";
        let errors: Vec<ApiError> = vec![
            ServiceError::Elb(privatelink_router::adapters::aws::elb::ElbError {
                operation: "DescribeTargetHealth",
                code: Some("AccessDenied".into()),
                message: leaky.into(),
            })
            .into(),
            ServiceError::Store(StoreError::Aws {
                operation: "Query",
                code: Some("AccessDeniedException".into()),
                message: leaky.into(),
            })
            .into(),
        ];
        for e in errors {
            assert!(e.status() >= 500);
            let message = e.body().error.message;
            assert!(!message.contains("arn:"), "{message}");
            assert!(message.contains("AccessDenied"), "{message}");
        }
    }

    #[test]
    fn every_sample_event_parses_with_method_path_and_caller() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("apigw-") {
                continue;
            }
            // As lambda_http reads the event.
            let req =
                lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert!(endpoint(&request_path(&req)).is_ok(), "{name}");
            let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref() else {
                panic!("{name}: not an HTTP API payload 2.0 event");
            };
            let iam = context.authorizer.as_ref().and_then(|a| a.iam.as_ref());
            assert!(iam.and_then(|i| i.user_arn.as_ref()).is_some(), "{name}");
            seen += 1;
        }
        assert_eq!(seen, 5, "one sample per endpoint");
    }

    #[test]
    fn json_syntax_errors_are_400_and_shape_errors_422() {
        let syntax = serde_json::from_str::<CreateRequest>("{").unwrap_err();
        assert_eq!(parse_error(syntax).code(), ErrorCode::InvalidJson);
        let unknown = serde_json::from_str::<CreateRequest>(
            r#"{"name":"a","host":"h.test","port":1,"extra":1}"#,
        )
        .unwrap_err();
        assert_eq!(parse_error(unknown).code(), ErrorCode::UnknownField);
        let shape = serde_json::from_str::<CreateRequest>(r#"{"name":"a"}"#).unwrap_err();
        assert_eq!(parse_error(shape).code(), ErrorCode::ValidationFailed);
    }
}
