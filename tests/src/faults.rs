//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 between the AWS SDK clients and moto.
//!
//! The SDK talks plain HTTP to moto, so the proxy sees every request: it names the service
//! (SigV4 credential scope: `elasticloadbalancing`, `dynamodb`, `ec2`) and the operation
//! (`X-Amz-Target` for DynamoDB, the `Action=` form field for ELBv2 and EC2), then asks its
//! [`Rule`]s, in order, whether to inject a [`Fault`]. The first rule that fires wins; a call
//! no rule fires on is forwarded unchanged. Rules fire by count (every k-th matching call, the
//! n-th, the first n) or by time window, optionally capped.
//!
//! Faults, each in the wire format the SDK parses for that service:
//! - [`Fault::Throttle`]: HTTP 400 `Throttling` (ELBv2 XML), `ThrottlingException` (DynamoDB
//!   JSON) or 503 `RequestLimitExceeded` (EC2 XML) — the SDK retries these as throttling;
//! - [`Fault::ServerError`]: HTTP 500 `InternalFailure` / `InternalServerError`;
//! - [`Fault::Slow`]: the request is forwarded and applied, its response held back for the
//!   given time (beyond the SDK's attempt timeout the SDK gives up and retries: a write that
//!   happened but was not acknowledged);
//! - [`Fault::Drop`]: the connection is closed before the request is forwarded;
//! - [`Fault::LostResponse`]: the request is forwarded and applied, then the connection is
//!   closed instead of answering;
//! - [`Fault::Delay`]: the request is held, then forwarded (later calls overtake it).
//!
//! Beside the rules, [`FaultProxy::throttle_like_aws`] throttles a service the way AWS does
//! (token buckets per API family), and [`FaultProxy::timeline`] lists every call with its
//! arrival time, to check a client's pacing.
//!
//! Point a client at it with `sdk.into_builder().endpoint_url(proxy.endpoint()).build()`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The AWS service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Elastic Load Balancing v2 (awsQuery, XML errors).
    Elb,
    /// DynamoDB (awsJson 1.0).
    Dynamo,
    /// EC2 (ec2Query, XML errors).
    Ec2,
    /// Anything else (moto's own API, unknown).
    Other,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Elb => "elbv2",
            Service::Dynamo => "dynamodb",
            Service::Ec2 => "ec2",
            Service::Other => "other",
        })
    }
}

/// What to do instead of (or on top of) forwarding a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with the service's throttling error.
    Throttle,
    /// Answer HTTP 500 with the service's internal error.
    ServerError,
    /// Forward the call, then hold its response back this long.
    Slow(Duration),
    /// Close the connection without forwarding the call.
    Drop,
    /// Forward the call (it is applied), then close the connection without answering.
    LostResponse,
    /// Hold the call this long, then forward it: a request that reaches the service late (a
    /// slow network path, a paused Lambda), so calls sent after it are applied before it.
    Delay(Duration),
}

/// A fault's kind, the key of the injected-fault counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// [`Fault::Throttle`].
    Throttle,
    /// [`Fault::ServerError`].
    ServerError,
    /// [`Fault::Slow`].
    Slow,
    /// [`Fault::Drop`].
    Drop,
    /// [`Fault::LostResponse`].
    LostResponse,
    /// [`Fault::Delay`].
    Delay,
}

impl Fault {
    /// The counter this fault is counted under.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Throttle => FaultKind::Throttle,
            Fault::ServerError => FaultKind::ServerError,
            Fault::Slow(_) => FaultKind::Slow,
            Fault::Drop => FaultKind::Drop,
            Fault::LostResponse => FaultKind::LostResponse,
            Fault::Delay(_) => FaultKind::Delay,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::Throttle => "throttle",
            FaultKind::ServerError => "5xx",
            FaultKind::Slow => "slow",
            FaultKind::Drop => "drop",
            FaultKind::LostResponse => "lost-response",
            FaultKind::Delay => "delay",
        })
    }
}

/// When a rule fires, among the calls it matches (counted from 1 per rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Every matching call.
    Always,
    /// Calls k, 2k, 3k…
    Every(u64),
    /// Only call n.
    Nth(u64),
    /// Calls 1..=n.
    First(u64),
    /// Calls arriving within this span of wall time.
    Window {
        /// Start (inclusive).
        from: Instant,
        /// End (exclusive).
        until: Instant,
    },
}

/// One fault rule: which calls it looks at, when it fires, what it injects.
#[derive(Debug, Clone)]
pub struct Rule {
    fault: Fault,
    service: Option<Service>,
    operations: Vec<String>,
    trigger: Trigger,
    limit: Option<u64>,
    matched: u64,
    fired: u64,
}

impl Rule {
    /// A rule injecting `fault` into every call of every service (narrow it with the builders).
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            service: None,
            operations: Vec::new(),
            trigger: Trigger::Always,
            limit: None,
            matched: 0,
            fired: 0,
        }
    }

    /// Only calls to this service.
    pub fn service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// Only this operation (e.g. `RegisterTargets`, `PutItem`); repeat to allow several.
    pub fn operation(mut self, operation: &str) -> Self {
        self.operations.push(operation.to_owned());
        self
    }

    /// Fire on matching calls k, 2k, 3k… (k ≥ 1).
    pub fn every(mut self, k: u64) -> Self {
        self.trigger = Trigger::Every(k.max(1));
        self
    }

    /// Fire on the n-th matching call only (n ≥ 1).
    pub fn nth(mut self, n: u64) -> Self {
        self.trigger = Trigger::Nth(n.max(1));
        self
    }

    /// Fire on the first n matching calls (n ≥ the SDK's attempts makes one operation fail).
    pub fn first(mut self, n: u64) -> Self {
        self.trigger = Trigger::First(n);
        self
    }

    /// Fire on matching calls from now for `span`.
    pub fn during(mut self, span: Duration) -> Self {
        let now = Instant::now();
        self.trigger = Trigger::Window {
            from: now,
            until: now + span,
        };
        self
    }

    /// Fire at most `n` times in all.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    fn matches(&self, call: &Call) -> bool {
        self.service.is_none_or(|s| s == call.service)
            && (self.operations.is_empty() || self.operations.contains(&call.operation))
    }

    /// Counts the call and says whether the rule fires on it.
    fn fires(&mut self, call: &Call, now: Instant) -> bool {
        if !self.matches(call) {
            return false;
        }
        self.matched += 1;
        if self.limit.is_some_and(|l| self.fired >= l) {
            return false;
        }
        let n = self.matched;
        let fire = match self.trigger {
            Trigger::Always => true,
            Trigger::Every(k) => n.is_multiple_of(k),
            Trigger::Nth(k) => n == k,
            Trigger::First(k) => n <= k,
            Trigger::Window { from, until } => now >= from && now < until,
        };
        self.fired += u64::from(fire);
        fire
    }
}

/// A call as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Service.
    pub service: Service,
    /// Operation name (`RegisterTargets`, `PutItem`…), empty when unknown.
    pub operation: String,
}

/// What the proxy did so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests received.
    pub requests: u64,
    /// Requests forwarded to moto (including `Slow` and `LostResponse` ones).
    pub forwarded: u64,
    /// Faults injected, by kind.
    pub injected: BTreeMap<FaultKind, u64>,
    /// Faults injected, by `service.Operation` and kind.
    pub injected_by_operation: BTreeMap<(String, FaultKind), u64>,
    /// Requests received, by `service.Operation`.
    pub calls: BTreeMap<String, u64>,
    /// Error codes moto itself answered (e.g. `ConditionalCheckFailedException`), by code.
    pub upstream_errors: BTreeMap<String, u64>,
}

impl Stats {
    /// Faults injected in all.
    pub fn total_injected(&self) -> u64 {
        self.injected.values().sum()
    }

    /// What happened after `before` (an earlier snapshot of the same proxy).
    pub fn since(&self, before: &Stats) -> Stats {
        fn minus<K: Ord + Clone>(a: &BTreeMap<K, u64>, b: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
            a.iter()
                .map(|(k, v)| (k.clone(), v - b.get(k).copied().unwrap_or(0)))
                .filter(|(_, v)| *v > 0)
                .collect()
        }
        Stats {
            requests: self.requests - before.requests,
            forwarded: self.forwarded - before.forwarded,
            injected: minus(&self.injected, &before.injected),
            injected_by_operation: minus(
                &self.injected_by_operation,
                &before.injected_by_operation,
            ),
            calls: minus(&self.calls, &before.calls),
            upstream_errors: minus(&self.upstream_errors, &before.upstream_errors),
        }
    }

    /// `throttle=12 5xx=3`-style summary of the injected faults.
    pub fn summary(&self) -> String {
        if self.injected.is_empty() {
            return "none".into();
        }
        self.injected
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct Shared {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    serialized: Mutex<Vec<Service>>,
    one_at_a_time: tokio::sync::Mutex<()>,
    stats: Mutex<Stats>,
    buckets: Mutex<BTreeMap<(Service, &'static str), DefaultDirectRateLimiter>>,
    throttled: Mutex<BTreeMap<Service, Quota>>,
    timeline: Mutex<Vec<(Instant, Call)>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Shared {
    fn rules(&self) -> MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a token from the call's bucket; false when the service's token-bucket throttle
    /// ([`FaultProxy::throttle_like_aws`]) is on and the bucket is empty.
    fn within_rate(&self, call: &Call) -> bool {
        let quota = self
            .throttled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&call.service)
            .copied();
        let Some(quota) = quota else {
            return true;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .entry((call.service, api_family(&call.operation)))
            .or_insert_with(|| RateLimiter::direct(quota))
            .check()
            .is_ok()
    }
}

/// The token bucket an operation draws from: ELBv2 keeps separate buckets for its
/// non-mutating (`Describe*`), registration (`RegisterTargets`, `DeregisterTargets`) and other
/// mutating actions ("Request throttling for the ELB API", Elastic Load Balancing user guide).
pub fn api_family(operation: &str) -> &'static str {
    if operation.starts_with("Describe") {
        "describe"
    } else if matches!(operation, "RegisterTargets" | "DeregisterTargets") {
        "registration"
    } else {
        "mutating"
    }
}

/// The proxy: listens on 127.0.0.1, forwards to one upstream (moto); stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy in front of `upstream` (e.g. `http://127.0.0.1:41234`), no rules yet.
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let upstream = upstream
            .trim_end_matches('/')
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("upstream {upstream:?} is not http://host:port"))?
            .to_owned();
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Vec::new()),
            serialized: Mutex::new(Vec::new()),
            one_at_a_time: tokio::sync::Mutex::new(()),
            stats: Mutex::new(Stats::default()),
            buckets: Mutex::new(BTreeMap::new()),
            throttled: Mutex::new(BTreeMap::new()),
            timeline: Mutex::new(Vec::new()),
            client,
        });
        let accept = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accept.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    // A dropped connection ends here with an error: that is the point of it.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The URL to give the SDK as `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule after the existing ones.
    pub fn add(&self, rule: Rule) {
        self.shared.rules().push(rule);
    }

    /// Forwards the calls to `service` one at a time. moto's DynamoDB transactions are not
    /// isolated: a cancelled TransactWriteItems restores a copy of the whole table taken when
    /// it started, undoing writes other requests made meanwhile (moto 5.2.1,
    /// `dynamodb/models/__init__.py`, `transact_write_items`). DynamoDB itself serializes
    /// conflicting transactions, so tests racing many writers serialize DynamoDB here to
    /// measure the router rather than moto.
    pub fn serialize(&self, service: Service) {
        let mut s = self
            .shared
            .serialized
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !s.contains(&service) {
            s.push(service);
        }
    }

    /// Throttles `service` as AWS does: one token bucket per API family ([`api_family`]), each
    /// holding up to `burst` tokens and refilled at `per_second` tokens a second; a call that
    /// finds its bucket empty gets the service's throttling error (counted as
    /// [`FaultKind::Throttle`]). ELBv2's documented `Describe*` bucket is 40 tokens refilled at
    /// 10 a second ("Request throttling for the ELB API", Elastic Load Balancing user guide).
    /// Rules are asked first; [`FaultProxy::clear`] does not lift the throttle.
    pub fn throttle_like_aws(&self, service: Service, per_second: u32, burst: u32) {
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(nz(per_second)).allow_burst(nz(burst));
        self.shared
            .throttled
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(service, quota);
        self.shared
            .buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(s, _), _| *s != service);
    }

    /// Every call `service` received so far (throttled and faulted ones included): when, and
    /// which operation, in arrival order.
    pub fn timeline(&self, service: Service) -> Vec<(Instant, String)> {
        self.shared
            .timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, c)| c.service == service)
            .map(|(t, c)| (*t, c.operation.clone()))
            .collect()
    }

    /// Removes every rule: from now on every call is forwarded unchanged.
    pub fn clear(&self) {
        self.shared.rules().clear();
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }

    /// Faults injected so far, in all.
    pub fn injected(&self) -> u64 {
        self.shared.stats().total_injected()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Names the service and operation of a request from its headers and form body.
pub fn classify(headers: &hyper::HeaderMap, body: &[u8]) -> Call {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(target) = header("x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let service = if target.starts_with("DynamoDB") {
            Service::Dynamo
        } else {
            Service::Other
        };
        return Call { service, operation };
    }
    let scope = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or_default();
    let form = String::from_utf8_lossy(body);
    let field = |name: &str| {
        form.split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let version = field("Version").unwrap_or_default();
    let service = match scope {
        "elasticloadbalancing" => Service::Elb,
        "ec2" => Service::Ec2,
        "dynamodb" => Service::Dynamo,
        _ if version == "2015-12-01" => Service::Elb,
        _ if version == "2016-11-15" => Service::Ec2,
        _ => Service::Other,
    };
    Call {
        service,
        operation: field("Action").unwrap_or_default(),
    }
}

/// The service's own error reply for a throttling or internal fault.
fn error_response(service: Service, fault: Fault) -> Response<Full<Bytes>> {
    let throttle = fault == Fault::Throttle;
    let (status, content_type, body) = match service {
        Service::Dynamo => {
            let kind = if throttle {
                "ThrottlingException"
            } else {
                "InternalServerError"
            };
            (
                if throttle { 400 } else { 500 },
                "application/x-amz-json-1.0",
                format!(
                    r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"injected by the fault proxy"}}"#
                ),
            )
        }
        Service::Ec2 => {
            let code = if throttle {
                "RequestLimitExceeded"
            } else {
                "InternalError"
            };
            (
                if throttle { 503 } else { 500 },
                "text/xml",
                format!(
                    "<Response><Errors><Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"
                ),
            )
        }
        Service::Elb | Service::Other => {
            let (code, kind) = if throttle {
                ("Throttling", "Sender")
            } else {
                ("InternalFailure", "Receiver")
            };
            (
                if throttle { 400 } else { 500 },
                "text/xml",
                format!(
                    "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>{kind}</Type><Code>{code}</Code><Message>Rate exceeded (injected by the fault proxy)</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                ),
            )
        }
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).expect("valid status");
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Why a connection is closed without an answer (hyper closes it when the service fails).
#[derive(Debug)]
struct Hangup(&'static str);

impl fmt::Display for Hangup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault proxy hung up: {}", self.0)
    }
}

impl std::error::Error for Hangup {}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Hangup> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(Hangup("request body unreadable")),
    };
    let call = classify(&parts.headers, &body);
    let now = Instant::now();
    shared
        .timeline
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((now, call.clone()));
    let fault = {
        let mut rules = shared.rules();
        // Every rule sees (and counts) the call until one fires.
        rules
            .iter_mut()
            .find_map(|r| r.fires(&call, now).then_some(r.fault))
    }
    .or_else(|| (!shared.within_rate(&call)).then_some(Fault::Throttle));
    {
        let mut stats = shared.stats();
        stats.requests += 1;
        let op = format!("{}.{}", call.service, call.operation);
        *stats.calls.entry(op.clone()).or_default() += 1;
        if let Some(f) = fault {
            *stats.injected.entry(f.kind()).or_default() += 1;
            *stats
                .injected_by_operation
                .entry((op, f.kind()))
                .or_default() += 1;
        }
    }
    match fault {
        Some(f @ (Fault::Throttle | Fault::ServerError)) => {
            return Ok(error_response(call.service, f))
        }
        Some(Fault::Drop) => return Err(Hangup("dropped before forwarding")),
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let serialized = shared
        .serialized
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(&call.service);
    let response = if serialized {
        let _one = shared.one_at_a_time.lock().await;
        forward(&shared, parts, body).await
    } else {
        forward(&shared, parts, body).await
    };
    match fault {
        Some(Fault::LostResponse) => Err(Hangup("response lost after forwarding")),
        Some(Fault::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(response)
        }
        _ => Ok(response),
    }
}

/// Sends the request on to moto and reads the whole answer; a 502 if moto cannot be reached.
async fn forward(
    shared: &Shared,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let uri = format!("http://{}{}", shared.upstream, path);
    match uri.parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => return bad_gateway("unparsable upstream URI"),
    }
    shared.stats().forwarded += 1;
    let upstream = match shared
        .client
        .request(Request::from_parts(parts, Full::new(body)))
        .await
    {
        Ok(r) => r,
        Err(e) => return bad_gateway(&e.to_string()),
    };
    let (mut parts, body) = upstream.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return bad_gateway(&e.to_string()),
    };
    if parts.status.as_u16() >= 400 {
        let code = error_code(&bytes).unwrap_or_else(|| parts.status.as_str().to_owned());
        *shared.stats().upstream_errors.entry(code).or_default() += 1;
    }
    parts.headers.remove(hyper::header::TRANSFER_ENCODING);
    parts.headers.remove(hyper::header::CONNECTION);
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(bytes))
}

/// The error code of an AWS error body: DynamoDB's `__type` (after `#`) or XML `<Code>`.
fn error_code(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        let t = json.get("__type")?.as_str()?;
        return Some(t.rsplit('#').next().unwrap_or(t).to_owned());
    }
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].to_owned())
}

fn bad_gateway(why: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(format!(
        "fault proxy could not reach moto: {why}"
    ))));
    *resp.status_mut() = StatusCode::BAD_GATEWAY;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> hyper::HeaderMap {
        let mut h = hyper::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn calls_are_named_from_target_header_credential_scope_or_form_version() {
        let c = classify(
            &headers(&[("x-amz-target", "DynamoDB_20120810.TransactWriteItems")]),
            b"{}",
        );
        assert_eq!(
            (c.service, c.operation.as_str()),
            (Service::Dynamo, "TransactWriteItems")
        );
        let auth = "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=0";
        let c = classify(
            &headers(&[("authorization", auth)]),
            b"Action=RegisterTargets&Version=2015-12-01&TargetGroupArn=x",
        );
        assert_eq!(
            (c.service, c.operation.as_str()),
            (Service::Elb, "RegisterTargets")
        );
        let c = classify(&headers(&[]), b"Action=DescribeSubnets&Version=2016-11-15");
        assert_eq!(
            (c.service, c.operation.as_str()),
            (Service::Ec2, "DescribeSubnets")
        );
    }

    #[test]
    fn triggers_fire_on_the_counted_calls_and_respect_the_limit() {
        let call = Call {
            service: Service::Elb,
            operation: "RegisterTargets".into(),
        };
        let now = Instant::now();
        // 1-based positions, among nine matching calls, on which the rule fires.
        let fired = |mut r: Rule| -> Vec<u64> { (1..=9).filter(|_| r.fires(&call, now)).collect() };
        assert_eq!(fired(Rule::new(Fault::Throttle).every(3)), vec![3, 6, 9]);
        assert_eq!(fired(Rule::new(Fault::Throttle).nth(4)), vec![4]);
        assert_eq!(fired(Rule::new(Fault::Throttle).first(4)), vec![1, 2, 3, 4]);
        assert_eq!(fired(Rule::new(Fault::Throttle).limit(2)), vec![1, 2]);
        assert!(fired(Rule::new(Fault::Throttle).service(Service::Dynamo)).is_empty());
        assert!(fired(Rule::new(Fault::Throttle).operation("PutItem")).is_empty());
        let window = Rule::new(Fault::Slow(Duration::from_secs(1))).during(Duration::ZERO);
        assert!(fired(window).is_empty());
        let positions = fired(Rule::new(Fault::Drop).every(3));
        assert_eq!(positions, vec![3, 6, 9]);
    }
}
