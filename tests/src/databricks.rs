//! A local Databricks account API for tests: the OAuth token endpoint and an NCC's private
//! endpoint rules, as the API reference documents them — a protocol peer on 127.0.0.1, like
//! moto, never code inside the library.
//!
//! Endpoints (Databricks REST API reference, "Network connectivity"; "OAuth M2M"):
//! - `POST /oidc/accounts/{account}/v1/token`: HTTP basic client id/secret, form
//!   `grant_type=client_credentials` and `scope=all-apis` → `{access_token, token_type,
//!   expires_in}`; a wrong client is 401 `{"error": "invalid_client"}`.
//! - `GET  /api/2.0/accounts/{account}/network-connectivity-configs/{ncc}/private-endpoint-rules`
//!   → `{items, next_page_token}`, pages of [`Server::PAGE`] (`page_token` continues).
//! - `POST …/private-endpoint-rules` `{endpoint_service, domain_names}` → the rule, `PENDING`.
//! - `GET  …/private-endpoint-rules/{rule}` → the rule, or 404 `RESOURCE_DOES_NOT_EXIST`.
//! - `PATCH …/private-endpoint-rules/{rule}?update_mask=domain_names` with the rule's fields
//!   as the body (as the SDKs send `UpdatePrivateEndpointRule`): only the fields the mask names
//!   change; no mask, or a field the API does not update, is 400 `INVALID_PARAMETER_VALUE`;
//!   more than 10 domain names is 400 as well.
//!
//! Every call but the token needs `Authorization: Bearer <a token it issued>` (401
//! `UNAUTHENTICATED`). Errors are `{error_code, message}`. Tests queue faults
//! ([`Server::fail_next`]) that the next API calls answer instead: a status with a body (429
//! with `Retry-After`, 5xx, 409, or JSON that is not JSON).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// A fault the next API call (not the token endpoint) answers instead.
#[derive(Debug, Clone)]
pub struct Fault {
    /// HTTP status.
    pub status: u16,
    /// Raw body.
    pub body: String,
    /// `Retry-After` seconds, when set.
    pub retry_after: Option<u64>,
}

impl Fault {
    /// An API error `{error_code, message}`.
    pub fn api(status: u16, code: &str) -> Self {
        Self {
            status,
            body: json!({"error_code": code, "message": format!("injected {code}")}).to_string(),
            retry_after: None,
        }
    }
}

/// The client secret the server accepts until [`Server::rotate_secret`].
const FIRST_SECRET: &str = "does-not-leak-8f2c";

#[derive(Default)]
struct State {
    rules: BTreeMap<String, Value>,
    /// The client secret the token endpoint accepts now ([`Server::rotate_secret`]).
    secret: String,
    tokens: BTreeSet<String>,
    faults: VecDeque<(Option<String>, Fault)>,
    calls: Vec<String>,
    next_id: u64,
}

/// The server; stops with the test's runtime.
pub struct Server {
    addr: SocketAddr,
    /// The account id it serves.
    pub account_id: String,
    /// The NCC id it serves.
    pub ncc_id: String,
    /// The OAuth client id it accepts.
    pub client_id: String,
    /// The OAuth client secret it accepts.
    pub client_secret: String,
    state: Arc<Mutex<State>>,
}

struct Shared {
    account_id: String,
    ncc_id: String,
    client_id: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    /// Rules per list page: small, so listing always pages.
    pub const PAGE: usize = 2;

    /// Rotates the service principal's OAuth secret: from now on only `secret` gets a token,
    /// and the tokens issued so far are revoked (the account console's "delete secret").
    pub fn rotate_secret(&self, secret: &str) {
        let mut state = self.state.lock().unwrap();
        state.secret = secret.to_owned();
        state.tokens.clear();
    }

    /// Starts a server on 127.0.0.1 with no rules.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            secret: FIRST_SECRET.into(),
            ..State::default()
        }));
        let shared = Arc::new(Shared {
            account_id: "0d1e2a3b-acct".into(),
            ncc_id: "9f8e7d6c-ncc".into(),
            client_id: "router-sp".into(),
            state: state.clone(),
        });
        let server = Self {
            addr,
            account_id: shared.account_id.clone(),
            ncc_id: shared.ncc_id.clone(),
            client_id: shared.client_id.clone(),
            client_secret: FIRST_SECRET.into(),
            state,
        };
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(server)
    }

    /// The URL to configure as `ROUTER_DATABRICKS_HOST`.
    pub fn host(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule for `endpoint_service` in `state` (created `age_days` ago); its id.
    pub fn add_rule(&self, endpoint_service: &str, state: &str, age_days: i64) -> String {
        let mut s = self.state.lock().unwrap();
        s.next_id += 1;
        let id = format!("rule-{:04}", s.next_id);
        let vpce = format!("vpce-0{:016x}", s.next_id);
        let created = chrono::Utc::now().timestamp_millis() - age_days * 86_400_000;
        s.rules.insert(
            id.clone(),
            json!({
                "rule_id": id,
                "network_connectivity_config_id": self.ncc_id,
                "account_id": self.account_id,
                "endpoint_service": endpoint_service,
                "domain_names": [],
                "connection_state": state,
                "vpc_endpoint_id": vpce,
                "creation_time": created,
                "updated_time": created,
            }),
        );
        id
    }

    /// A rule as the server holds it.
    pub fn rule(&self, id: &str) -> Value {
        self.state.lock().unwrap().rules[id].clone()
    }

    /// A rule's domain names.
    pub fn domain_names(&self, id: &str) -> Vec<String> {
        serde_json::from_value(self.rule(id)["domain_names"].clone()).unwrap_or_default()
    }

    /// Queues faults for the next API calls.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut state = self.state.lock().unwrap();
        state.faults.extend(faults.into_iter().map(|f| (None, f)));
    }

    /// Queues faults for the next API calls with this method (`PATCH`, `GET`).
    pub fn fail_next_on(&self, method: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut state = self.state.lock().unwrap();
        state
            .faults
            .extend(faults.into_iter().map(|f| (Some(method.to_owned()), f)));
    }

    /// Faults queued and not yet answered.
    pub fn faults_left(&self) -> usize {
        self.state.lock().unwrap().faults.len()
    }

    /// Every call received, as `METHOD path?query`, oldest first.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn reply(status: u16, body: Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    resp
}

fn api_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(status, json!({"error_code": code, "message": message}))
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query: BTreeMap<String, String> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    shared
        .state
        .lock()
        .unwrap()
        .calls
        .push(match req_query(&query) {
            q if q.is_empty() => format!("{method} {path}"),
            q => format!("{method} {path}?{q}"),
        });

    let token_path = format!("/oidc/accounts/{}/v1/token", shared.account_id);
    if path == token_path && method == hyper::Method::POST {
        return Ok(token(&shared, &auth, &body));
    }
    let bearer = auth.strip_prefix("Bearer ").unwrap_or_default();
    if !shared.state.lock().unwrap().tokens.contains(bearer) {
        return Ok(api_error(401, "UNAUTHENTICATED", "no valid bearer token"));
    }
    let fault = {
        let mut state = shared.state.lock().unwrap();
        let at = state
            .faults
            .iter()
            .position(|(m, _)| m.as_deref().is_none_or(|m| m == method.as_str()));
        at.and_then(|i| state.faults.remove(i)).map(|(_, f)| f)
    };
    if let Some(fault) = fault {
        let mut resp = Response::new(Full::new(Bytes::from(fault.body)));
        *resp.status_mut() = StatusCode::from_u16(fault.status).unwrap();
        if let Some(s) = fault.retry_after {
            resp.headers_mut()
                .insert("retry-after", s.to_string().parse().unwrap());
        }
        return Ok(resp);
    }
    let rules_path = format!(
        "/api/2.0/accounts/{}/network-connectivity-configs/{}/private-endpoint-rules",
        shared.account_id, shared.ncc_id
    );
    let Some(rest) = path.strip_prefix(&rules_path) else {
        return Ok(api_error(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "no such account or NCC",
        ));
    };
    let mut state = shared.state.lock().unwrap();
    Ok(match (method.as_str(), rest.trim_start_matches('/')) {
        ("GET", "") => {
            let start: usize = query
                .get("page_token")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let items: Vec<Value> = state
                .rules
                .values()
                .skip(start)
                .take(Server::PAGE)
                .cloned()
                .collect();
            let more = start + Server::PAGE < state.rules.len();
            let mut page = json!({"items": items});
            if more {
                page["next_page_token"] = json!((start + Server::PAGE).to_string());
            }
            reply(200, page)
        }
        ("POST", "") => {
            let Ok(wanted) = serde_json::from_slice::<Value>(&body) else {
                return Ok(api_error(400, "MALFORMED_REQUEST", "body is not JSON"));
            };
            state.next_id += 1;
            let id = format!("rule-{:04}", state.next_id);
            let now = chrono::Utc::now().timestamp_millis();
            let rule = json!({
                "rule_id": id, "network_connectivity_config_id": shared.ncc_id,
                "endpoint_service": wanted["endpoint_service"],
                "domain_names": wanted.get("domain_names").cloned().unwrap_or(json!([])),
                "connection_state": "PENDING", "creation_time": now, "updated_time": now,
            });
            state.rules.insert(id, rule.clone());
            reply(200, rule)
        }
        ("GET", id) => match state.rules.get(id) {
            Some(rule) => reply(200, rule.clone()),
            None => api_error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                &format!("rule {id} does not exist"),
            ),
        },
        ("PATCH", id) => {
            let Some(mask) = query.get("update_mask").filter(|m| !m.is_empty()) else {
                return Ok(api_error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "update_mask is required",
                ));
            };
            let fields: Vec<&str> = mask.split(',').map(str::trim).collect();
            if let Some(bad) = fields
                .iter()
                .find(|f| !["domain_names", "enabled", "resource_names"].contains(f))
            {
                return Ok(api_error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    &format!("field {bad} cannot be updated"),
                ));
            }
            let Ok(update) = serde_json::from_slice::<Value>(&body) else {
                return Ok(api_error(400, "MALFORMED_REQUEST", "body is not JSON"));
            };
            if update["domain_names"]
                .as_array()
                .is_some_and(|n| n.len() > 10)
            {
                return Ok(api_error(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "at most 10 domain names",
                ));
            }
            let Some(rule) = state.rules.get_mut(id) else {
                return Ok(api_error(
                    404,
                    "RESOURCE_DOES_NOT_EXIST",
                    &format!("rule {id} does not exist"),
                ));
            };
            for field in fields {
                if let Some(v) = update.get(field) {
                    rule[field] = v.clone();
                }
            }
            rule["updated_time"] = json!(chrono::Utc::now().timestamp_millis());
            reply(200, rule.clone())
        }
        _ => api_error(404, "ENDPOINT_NOT_FOUND", "no such endpoint"),
    })
}

fn req_query(query: &BTreeMap<String, String>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish()
}

/// The token endpoint: basic client credentials and the documented form.
fn token(shared: &Shared, auth: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let secret = shared.state.lock().unwrap().secret.clone();
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", shared.client_id, secret));
    let good = auth.strip_prefix("Basic ") == Some(expected.as_str())
        && form.get("grant_type").map(String::as_str) == Some("client_credentials")
        && form.get("scope").map(String::as_str) == Some("all-apis");
    if !good {
        return reply(
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        );
    }
    let mut state = shared.state.lock().unwrap();
    state.next_id += 1;
    let token = format!("dapi-token-{}", state.next_id);
    state.tokens.insert(token.clone());
    reply(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": "all-apis"}),
    )
}
