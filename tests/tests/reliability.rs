//! Reliability under AWS faults, DNS faults and races, measured.
//!
//! Every scenario runs the real library (create, sync, audit, RDS event handler) through real
//! SDK clients whose endpoint is the fault proxy (`router_tests::faults`) in front of moto, then
//! stops the faults, runs one more pass, and checks the table's outcomes:
//! - routes lost: a route created (or being created) whose record is gone;
//! - ports doubled: two routes (or two listeners) on one router port, a port record naming
//!   another route, or a router's listener count disagreeing with its port records;
//! - orphans: a target group in the scenario's VPCs, or a listener on its NLBs, that no route
//!   records;
//! - wrongful deregistrations: a DeregisterTargets of an IP the database's DNS still answers
//!   (or, under faults, any deregistration at all: DNS was stable);
//! - flaps: a target deregistered and later registered again in the same target group.
//!
//! Each test prints the results table so far (`--nocapture`); scenarios run one at a time so
//! their timings do not mix. CI runs the short version:
//!
//! ```text
//! cargo test -p router-tests --test reliability -- --nocapture
//! ```
//!
//! The long version (`RELIABILITY_LONG=1`) scales routes, rounds and concurrency up (1,000
//! routes for the storm; several minutes):
//!
//! ```text
//! RELIABILITY_LONG=1 cargo test -p router-tests --test reliability -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::retry::RetryPartition;
use aws_sdk_elasticloadbalancingv2::operation::deregister_targets::DeregisterTargetsInput;
use aws_sdk_elasticloadbalancingv2::operation::register_targets::RegisterTargetsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_types::config_bag::ConfigBag;
use futures::stream::{self, StreamExt};
use privatelink_router::adapters::aws::clients::{CallCounter, Clients};
use privatelink_router::adapters::aws::elb::Targets;
use privatelink_router::adapters::aws::store::RouteStore;
use privatelink_router::adapters::dns::{HickoryResolver, Resolve};
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::domain::plan::Lookup;
use privatelink_router::domain::route::{Route, RouteStatus};
use privatelink_router::flows::audit::{audit, AuditReport, AuditRequest};
use privatelink_router::flows::service::{self, CreateRequest, ServiceError};
use router_tests::dns::Mode;
use router_tests::faults::{Fault, FaultProxy, Rule, Service};
use router_tests::fixtures::{moto, sdk_config, Bed};
use router_tests::network::Network;
use serde_json::Value;
use tokio::sync::Mutex as AsyncMutex;

// ---------------------------------------------------------------------------------------
// Scale, serial execution, results table
// ---------------------------------------------------------------------------------------

/// One scenario at a time: timings stay clean and the 2-core machine is not oversubscribed.
static SERIAL: AsyncMutex<()> = AsyncMutex::const_new(());
static RESULTS: Mutex<Vec<Row>> = Mutex::new(Vec::new());
static SEQ: AtomicU32 = AtomicU32::new(0);

fn long() -> bool {
    std::env::var("RELIABILITY_LONG").is_ok_and(|v| v == "1")
}

fn scale(short: usize, long_run: usize) -> usize {
    if long() {
        long_run
    } else {
        short
    }
}

/// One line of the results table.
#[derive(Debug, Clone)]
struct Row {
    scenario: String,
    faults: String,
    routes: usize,
    outcome: Outcome,
    converge: Duration,
    note: String,
}

fn report(row: Row) {
    let mut rows = RESULTS.lock().unwrap();
    rows.push(row);
    let mut out = String::from(
        "\n| scenario | faults injected | routes | lost | ports doubled | orphans | wrongful deregs | flaps | time to converge | notes |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows.iter() {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s | {} |\n",
            r.scenario,
            r.faults,
            r.routes,
            r.outcome.lost.len(),
            r.outcome.doubled.len(),
            r.outcome.orphans.len(),
            r.outcome.wrongful.len(),
            r.outcome.flaps.len(),
            r.converge.as_secs_f64(),
            r.note
        ));
    }
    println!("{out}");
}

// ---------------------------------------------------------------------------------------
// Recording target changes
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Register,
    Deregister,
}

/// One target in one Register/DeregisterTargets operation (recorded once, before retries).
#[derive(Debug, Clone)]
struct Sent {
    op: Op,
    tg: String,
    ip: IpAddr,
}

#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Recorder {
    fn all(&self) -> Vec<Sent> {
        self.0.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let mut sent = self.0.lock().unwrap();
        let mut push = |op, tg: Option<&str>, id: Option<&str>| {
            if let (Some(tg), Some(Ok(ip))) = (tg, id.map(str::parse)) {
                sent.push(Sent {
                    op,
                    tg: tg.to_owned(),
                    ip,
                });
            }
        };
        if let Some(r) = input.downcast_ref::<RegisterTargetsInput>() {
            for t in r.targets() {
                push(Op::Register, r.target_group_arn(), t.id());
            }
        }
        if let Some(d) = input.downcast_ref::<DeregisterTargetsInput>() {
            for t in d.targets() {
                push(Op::Deregister, d.target_group_arn(), t.id());
            }
        }
        Ok(())
    }
}

/// `(target group, ip)` pairs deregistered and later registered again.
fn flaps(sent: &[Sent]) -> Vec<String> {
    let mut deregistered = BTreeSet::new();
    let mut out = BTreeSet::new();
    for s in sent {
        let key = (s.tg.clone(), s.ip);
        match s.op {
            Op::Deregister => {
                deregistered.insert(key);
            }
            Op::Register if deregistered.contains(&key) => {
                out.insert(format!("{} in {}", s.ip, short_arn(&s.tg)));
            }
            Op::Register => {}
        }
    }
    out.into_iter().collect()
}

fn short_arn(arn: &str) -> &str {
    arn.rsplit('/').nth(1).unwrap_or(arn)
}

// ---------------------------------------------------------------------------------------
// A world: several routers, a proxy, a proxied context
// ---------------------------------------------------------------------------------------

struct World {
    bed: Bed,
    proxy: FaultProxy,
    ctx: Context,
    recorder: Recorder,
    networks: Vec<Network>,
    routers: Vec<String>,
    config: Config,
    /// The SDK config the proxied clients are built from (moto's, with the router's policy).
    sdk: SdkConfig,
}

/// SDK clients through `endpoint`, with their own retry partition (the SDK's retry token
/// bucket is per process and partition: a fresh one, like a fresh Lambda process) and the
/// recorder.
fn clients(base: &SdkConfig, endpoint: &str, partition: &str, recorder: &Recorder) -> Clients {
    let sdk = base.clone().into_builder().endpoint_url(endpoint).build();
    let calls = CallCounter::default();
    let counted = SharedInterceptor::new(calls.clone());
    let recorded = SharedInterceptor::new(recorder.clone());
    let mut elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&sdk)
        .retry_partition(RetryPartition::new(format!("{partition}-elb")));
    elb.push_interceptor(counted.clone());
    elb.push_interceptor(recorded.clone());
    let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .retry_partition(RetryPartition::new(format!("{partition}-ddb")));
    dynamodb.push_interceptor(counted.clone());
    let mut ec2 = aws_sdk_ec2::config::Builder::from(&sdk)
        .retry_partition(RetryPartition::new(format!("{partition}-ec2")));
    ec2.push_interceptor(counted);
    Clients {
        elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb.build()),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
        ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
        rds: aws_sdk_rds::Client::new(&sdk),
        sdk,
        calls,
    }
}

impl World {
    /// `routers` NLBs (50 listeners each) in one fleet, a route table, a loopback DNS server
    /// and a context whose AWS calls go through a fault proxy.
    async fn start(name: &str, routers: usize, extra: &[(&str, &str)]) -> World {
        Self::start_tuned(name, routers, extra, None).await
    }

    /// [`World::start`] with the proxied clients' timeouts replaced.
    async fn start_tuned(
        name: &str,
        routers: usize,
        extra: &[(&str, &str)],
        timeouts: Option<TimeoutConfig>,
    ) -> World {
        let sdk = sdk_config().await;
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let mut networks = Vec::new();
        let mut fleet = Vec::new();
        let mut ids = Vec::new();
        for i in 0..routers {
            let net = Network::create(&sdk, name).await.expect("network");
            let id = format!("rel{seq}x{i}p{}", std::process::id());
            fleet.push(serde_json::json!({
                "id": id,
                "nlb_arn": net.nlb_arn,
                "endpoint_service_name": format!("com.amazonaws.vpce.us-east-1.vpce-svc-r{seq}x{i}"),
            }));
            ids.push(id);
            networks.push(net);
        }
        let fleet = Value::Array(fleet).to_string();
        let mut env: Vec<(&str, &str)> = vec![("ROUTER_FLEET", fleet.as_str())];
        env.extend_from_slice(extra);
        let bed = Bed::start_with(name, &env).await;
        let proxy = FaultProxy::start(&moto().await.endpoint())
            .await
            .expect("proxy starts");
        // moto's transactions are not isolated (see `FaultProxy::serialize`); DynamoDB's are.
        proxy.serialize(Service::Dynamo);
        let recorder = Recorder::default();
        let sdk = match timeouts {
            Some(t) => sdk.into_builder().timeout_config(t).build(),
            None => sdk,
        };
        let config = Config::from_lookup(&|k| bed.env.get(k).cloned()).expect("config");
        let partition = format!("rel-{name}-{seq}");
        let ctx = Context::build(
            config.clone(),
            clients(&sdk, &proxy.endpoint(), &partition, &recorder),
        )
        .await
        .expect("context");
        World {
            bed,
            proxy,
            ctx,
            recorder,
            networks,
            routers: ids,
            config,
            sdk,
        }
    }

    /// A second context on the same proxy and recorder with another resolver.
    async fn context_with(&self, dns: Arc<dyn Resolve>, partition: &str) -> Context {
        let clients = clients(&self.sdk, &self.proxy.endpoint(), partition, &self.recorder);
        Context::with_resolver(self.config.clone(), clients, dns)
            .await
            .expect("context")
    }

    fn request(name: &str, host: &str) -> CreateRequest {
        router_tests::fixtures::create_request(name, host)
    }

    /// Creates routes `{prefix}{i}` → `{prefix}{i}.db.test` (DNS set to `ip(i)`), `parallel` at
    /// a time, through `ctx`; returns the names and the failures.
    async fn create_many(
        &self,
        prefix: &str,
        n: usize,
        parallel: usize,
        ip: impl Fn(usize) -> Ipv4Addr,
    ) -> (Vec<String>, Vec<(String, String)>) {
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            self.bed.dns.set_a(&host(name), &[ip(i)]);
        }
        let failures = stream::iter(names.iter().cloned())
            .map(|name| async move {
                let req = Self::request(&name, &host(&name));
                match service::create(&self.ctx, &Bed::owner(), &req).await {
                    Ok(_) => None,
                    Err(e) => Some((name, e.to_string())),
                }
            })
            .buffer_unordered(parallel)
            .filter_map(|r| async move { r })
            .collect()
            .await;
        (names, failures)
    }

    /// Every route in the table (read directly from moto, not through the proxy).
    async fn routes(&self) -> Vec<Route> {
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .bed
                .ctx
                .store
                .list(next.as_deref(), 100)
                .await
                .expect("list routes");
            out.extend(page.routes);
            match page.next {
                Some(n) => next = Some(n),
                None => return out,
            }
        }
    }

    /// IPs registered in a target group, read directly.
    /// Registered targets of a group, draining ones excluded (they take no new connections).
    async fn targets_of(&self, tg: &str) -> BTreeSet<IpAddr> {
        self.bed
            .ctx
            .elb
            .describe_targets(tg)
            .await
            .expect("describe targets")
            .into_iter()
            .filter(|t| !t.is_draining())
            .map(|t| t.target.ip)
            .collect()
    }

    /// Checks the table's invariants. `expected` names every route that must exist with the
    /// IPs its DNS answers now; `exact` says whether its targets must equal them (otherwise
    /// they must include them: older IPs may still be within the window).
    async fn check(&self, expected: &BTreeMap<String, Vec<Ipv4Addr>>, exact: bool) -> Outcome {
        let routes = self.routes().await;
        let by_id: BTreeMap<String, &Route> =
            routes.iter().map(|r| (r.id().to_string(), r)).collect();
        let mut out = Outcome::default();
        for name in expected.keys() {
            if !by_id.contains_key(name) {
                out.lost.push(name.clone());
            }
        }
        // Ports: route records, port records, listener count, listeners.
        let mut seen = BTreeMap::new();
        for r in &routes {
            if let Some(other) =
                seen.insert((r.router.clone(), r.listener_port), r.id().to_string())
            {
                out.doubled.push(format!(
                    "{}:{} held by {} and {}",
                    r.router,
                    r.listener_port,
                    other,
                    r.id()
                ));
            }
        }
        for router in &self.routers {
            let (entries, active) = self.bed.ctx.store.ports(router).await.expect("ports");
            let allocated: Vec<_> = entries.iter().filter(|e| e.state == "allocated").collect();
            for e in &allocated {
                match seen.get(&(router.clone(), e.port)) {
                    Some(id) if *id == e.route_id => {}
                    other => out.doubled.push(format!(
                        "{router}:{} record names {} but the route is {other:?}",
                        e.port, e.route_id
                    )),
                }
            }
            if active as usize != allocated.len() {
                out.doubled.push(format!(
                    "{router}: listener count {active} but {} ports allocated",
                    allocated.len()
                ));
            }
        }
        let tg_arns: BTreeSet<&str> = routes
            .iter()
            .filter_map(|r| r.target_group_arn.as_deref())
            .collect();
        let listener_arns: BTreeSet<&str> = routes
            .iter()
            .filter_map(|r| r.listener_arn.as_deref())
            .collect();
        let elb = &self.bed.ctx.clients.elb;
        for net in &self.networks {
            let listeners = self
                .bed
                .ctx
                .elb
                .listeners(&net.nlb_arn)
                .await
                .expect("listeners");
            let mut ports = BTreeSet::new();
            for l in &listeners {
                if !ports.insert(l.port) {
                    out.doubled
                        .push(format!("two listeners on port {} of {}", l.port, net.name));
                }
                if !listener_arns.contains(l.arn.as_str()) {
                    out.orphans.push(format!("listener {}", l.arn));
                }
            }
        }
        let vpcs: BTreeSet<&str> = self.networks.iter().map(|n| n.vpc_id.as_str()).collect();
        let mut marker = None;
        loop {
            let page = elb
                .describe_target_groups()
                .set_marker(marker)
                .send()
                .await
                .expect("describe target groups");
            for tg in page.target_groups() {
                let arn = tg.target_group_arn().unwrap_or_default();
                if vpcs.contains(tg.vpc_id().unwrap_or_default()) && !tg_arns.contains(arn) {
                    out.orphans.push(format!("target group {arn}"));
                }
            }
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        // Targets.
        for (name, ips) in expected {
            let Some(route) = by_id.get(name) else {
                continue;
            };
            let want: BTreeSet<IpAddr> = ips.iter().map(|i| IpAddr::V4(*i)).collect();
            let have = match &route.target_group_arn {
                Some(tg) => self.targets_of(tg).await,
                None => BTreeSet::new(),
            };
            let ok = route.status == RouteStatus::Active
                && if exact {
                    have == want
                } else {
                    have.is_superset(&want)
                };
            if !ok {
                out.unconverged.push(format!(
                    "{name}: {:?} targets {have:?}, DNS answers {want:?}",
                    route.status
                ));
            }
        }
        // Deregistrations of IPs DNS still answers.
        let tg_route: BTreeMap<&str, &str> = routes
            .iter()
            .filter_map(|r| Some((r.target_group_arn.as_deref()?, r.id().as_str())))
            .collect();
        let sent = self.recorder.all();
        for s in sent.iter().filter(|s| s.op == Op::Deregister) {
            let answered = tg_route
                .get(s.tg.as_str())
                .and_then(|id| expected.get(*id))
                .is_some_and(|ips| ips.iter().any(|i| IpAddr::V4(*i) == s.ip));
            if answered {
                out.wrongful
                    .push(format!("{} from {}", s.ip, short_arn(&s.tg)));
            }
        }
        out.flaps = flaps(&sent);
        out
    }
}

/// What the invariant check found (all empty = good).
#[derive(Debug, Clone, Default)]
struct Outcome {
    lost: Vec<String>,
    doubled: Vec<String>,
    orphans: Vec<String>,
    wrongful: Vec<String>,
    flaps: Vec<String>,
    unconverged: Vec<String>,
}

impl Outcome {
    fn assert_clean(&self, scenario: &str) {
        assert!(
            self.lost.is_empty(),
            "{scenario}: routes lost {:?}",
            self.lost
        );
        assert!(
            self.doubled.is_empty(),
            "{scenario}: ports doubled {:?}",
            self.doubled
        );
        assert!(
            self.orphans.is_empty(),
            "{scenario}: orphans {:?}",
            self.orphans
        );
        assert!(
            self.wrongful.is_empty(),
            "{scenario}: wrongful deregistrations {:?}",
            self.wrongful
        );
        assert!(self.flaps.is_empty(), "{scenario}: flaps {:?}", self.flaps);
        assert!(
            self.unconverged.is_empty(),
            "{scenario}: not converged {:?}",
            self.unconverged
        );
    }
}

fn host(name: &str) -> String {
    format!("{name}.db.test")
}

fn ip_of(i: usize, net: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, net, (i / 250) as u8, (i % 250) as u8 + 1)
}

fn audit_summary(r: &Result<AuditReport, privatelink_router::flows::audit::AuditError>) -> String {
    match r {
        Ok(r) => format!(
            "{}/{} audited, {} errors, {} ms",
            r.routes_audited,
            r.routes_seen,
            r.errors.len(),
            r.duration_ms
        ),
        Err(e) => format!("run failed: {}", first_line(&e.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.chars().take(80).collect()
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_storm_during_an_audit_loses_nothing_and_the_next_audit_converges() {
    let _serial = SERIAL.lock().await;
    let n = scale(200, 1000);
    let w = World::start("storm", n.div_ceil(50), &[]).await;
    let setup = Instant::now();
    let (names, failures) = w.create_many("s", n, 16, |i| ip_of(i, 1)).await;
    assert!(failures.is_empty(), "creation without faults: {failures:?}");
    let setup = setup.elapsed();
    // Work for the audit: every 10th database failed over, every 25th route lost its target.
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let ip = if i % 10 == 0 {
            ip_of(i, 2)
        } else {
            ip_of(i, 1)
        };
        w.bed.dns.set_a(&host(name), &[ip]);
        expected.insert(name.clone(), vec![ip]);
        if i % 25 == 1 {
            let route = w.bed.route(name).await;
            let tg = route.target_group_arn.clone().unwrap();
            w.bed
                .ctx
                .elb
                .deregister(
                    &tg,
                    &[privatelink_router::domain::plan::Target {
                        ip: IpAddr::V4(ip_of(i, 1)),
                        port: 5432,
                        availability_zone: Some("all".into()),
                    }],
                )
                .await
                .unwrap();
        }
    }
    w.recorder.clear();

    let before = w.proxy.stats();
    w.proxy
        .add(Rule::new(Fault::Throttle).service(Service::Elb).every(3));
    w.proxy
        .add(Rule::new(Fault::Throttle).service(Service::Dynamo).every(4));
    let storm = audit(&w.ctx, AuditRequest::default()).await;
    w.proxy.clear();
    let injected = w.proxy.stats().since(&before);
    let during = w.check(&expected, false).await;

    let converge = Instant::now();
    let after = audit(&w.ctx, AuditRequest::default()).await;
    let took = converge.elapsed();
    let after_report = after.as_ref().expect("audit after the storm runs");
    assert!(after_report.errors.is_empty(), "{:?}", after_report.errors);
    let outcome = w.check(&expected, false).await;
    println!(
        "storm: setup {:.1} s; storm audit {}; after {}; mid-storm unconverged {}; calls {}",
        setup.as_secs_f64(),
        audit_summary(&storm),
        audit_summary(&after),
        during.unconverged.len(),
        injected.requests
    );
    // A deregistration at any time would be wrongful: DNS only gained IPs.
    let deregs = w
        .recorder
        .all()
        .iter()
        .filter(|s| s.op == Op::Deregister)
        .count();
    report(Row {
        scenario: format!("throttling storm during audit ({n} routes)"),
        faults: format!(
            "{} of {} calls (ELB every 3rd, DynamoDB every 4th)",
            injected.summary(),
            injected.requests
        ),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "storm audit: {}; {} deregistrations",
            audit_summary(&storm),
            deregs
        ),
    });
    assert!(injected.total_injected() > 0);
    assert_eq!(
        deregs, 0,
        "nothing may be deregistered: DNS only gained IPs"
    );
    outcome.assert_clean("storm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_on_every_kth_call_during_creation_converge_when_the_client_retries() {
    let _serial = SERIAL.lock().await;
    let n = scale(20, 100);
    let w = World::start("fivexx", n.div_ceil(50), &[]).await;
    // A burst first: the first 12 CreateListener calls fail, so creates whose four attempts
    // all land in it die half-way (route stored, target group created, no listener).
    w.proxy.add(
        Rule::new(Fault::ServerError)
            .service(Service::Elb)
            .operation("CreateListener")
            .first(12),
    );
    w.proxy.add(Rule::new(Fault::ServerError).every(4));
    let (names, failures) = w.create_many("c", n, 4, |i| ip_of(i, 3)).await;
    let injected = w.proxy.stats();
    w.proxy.clear();
    let converge = Instant::now();
    // The one more pass: the API client retries what failed (a replay of the same request).
    for (name, _) in &failures {
        let req = World::request(name, &host(name));
        service::create(&w.ctx, &Bed::owner(), &req)
            .await
            .unwrap_or_else(|e| panic!("retry of {name}: {e}"));
    }
    let took = converge.elapsed();
    let expected = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), vec![ip_of(i, 3)]))
        .collect();
    let outcome = w.check(&expected, true).await;
    report(Row {
        scenario: format!("5xx on every 4th call during creation ({n} creates)"),
        faults: format!("{} of {} calls", injected.summary(), injected.requests),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!("{} creates failed, retried once", failures.len()),
    });
    assert!(injected.total_injected() > 0);
    outcome.assert_clean("5xx during creation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_and_lost_responses_during_creation_leave_no_duplicate_or_orphan() {
    let _serial = SERIAL.lock().await;
    let n = scale(16, 80);
    let w = World::start("drops", n.div_ceil(50), &[]).await;
    w.proxy.add(Rule::new(Fault::Drop).every(5));
    // Writes applied by moto whose answer never arrives: the SDK retries them. (Not
    // CreateListener: moto would add a second listener on the port where AWS answers the
    // identical retry with the existing one.)
    for op in [
        "TransactWriteItems",
        "PutItem",
        "CreateTargetGroup",
        "RegisterTargets",
    ] {
        w.proxy
            .add(Rule::new(Fault::LostResponse).operation(op).every(3));
    }
    let (names, failures) = w.create_many("d", n, 4, |i| ip_of(i, 4)).await;
    let injected = w.proxy.stats();
    w.proxy.clear();
    let converge = Instant::now();
    for (name, _) in &failures {
        let req = World::request(name, &host(name));
        service::create(&w.ctx, &Bed::owner(), &req)
            .await
            .unwrap_or_else(|e| panic!("retry of {name}: {e}"));
    }
    let took = converge.elapsed();
    let expected = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), vec![ip_of(i, 4)]))
        .collect();
    let outcome = w.check(&expected, true).await;
    report(Row {
        scenario: format!("dropped connections + lost write responses ({n} creates)"),
        faults: format!("{} of {} calls", injected.summary(), injected.requests),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "{} creates failed, retried once; moto errors {:?}",
            failures.len(),
            injected.upstream_errors
        ),
    });
    assert!(injected.total_injected() > 0);
    outcome.assert_clean("drops during creation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_slower_than_the_attempt_timeout_is_retried_and_applied_once() {
    let _serial = SERIAL.lock().await;
    // The real policy (5 s per attempt) in the long run; 1 s per attempt in CI, to keep it
    // fast. One RegisterTargets answer held past the attempt timeout (applied, unanswered),
    // one DescribeTargetHealth likewise (read, unanswered).
    let attempt = if long() {
        privatelink_router::adapters::aws::clients::timeout_config()
            .operation_attempt_timeout()
            .expect("attempt timeout set")
    } else {
        Duration::from_secs(1)
    };
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(attempt)
        .operation_timeout(Duration::from_secs(25))
        .build();
    let w = World::start_tuned("slow", 1, &[], Some(timeouts)).await;
    for op in ["RegisterTargets", "DescribeTargetHealth"] {
        w.proxy.add(
            Rule::new(Fault::Slow(attempt + Duration::from_secs(1)))
                .service(Service::Elb)
                .operation(op)
                .nth(1),
        );
    }
    let started = Instant::now();
    let (names, failures) = w.create_many("t", 1, 1, |i| ip_of(i, 5)).await;
    let took = started.elapsed();
    let injected = w.proxy.stats();
    w.proxy.clear();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(took >= attempt * 2, "two attempts timed out: {took:?}");
    let expected = BTreeMap::from([(names[0].clone(), vec![ip_of(0, 5)])]);
    let outcome = w.check(&expected, true).await;
    report(Row {
        scenario: format!(
            "responses slower than the {} s attempt timeout (1 create)",
            attempt.as_secs()
        ),
        faults: injected.summary(),
        routes: 1,
        outcome: outcome.clone(),
        converge: Duration::ZERO,
        note: format!("create took {:.1} s, no extra pass", took.as_secs_f64()),
    });
    outcome.assert_clean("slow responses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_syncs_of_one_route_lose_no_update_and_never_flap() {
    let _serial = SERIAL.lock().await;
    let parallel = scale(8, 32);
    let rounds = 3;
    let w = World::start("ddbcond", 1, &[]).await;
    let (names, failures) = w.create_many("u", 1, 1, |i| ip_of(i, 6)).await;
    assert!(failures.is_empty());
    let name = &names[0];
    let old = ip_of(0, 6);
    let new = ip_of(0, 7);
    w.bed.dns.set_a(&host(name), &[new]);
    // Some conditional writes are applied but their answer is lost: the SDK's retry then
    // fails its own condition.
    w.proxy.add(
        Rule::new(Fault::LostResponse)
            .service(Service::Dynamo)
            .operation("PutItem")
            .every(4),
    );
    let before = w.bed.route(name).await;
    let mut busy = 0;
    let mut synced = 0;
    let mut moto_invalid = 0;
    let converge = Instant::now();
    let owner = Bed::owner();
    for _ in 0..rounds {
        let results =
            futures::future::join_all((0..parallel).map(|_| service::sync(&w.ctx, &owner, name)))
                .await;
        for r in results {
            match r {
                Ok(_) => synced += 1,
                Err(ServiceError::Busy(_)) => busy += 1,
                // Two winners deregistering the same old IP: AWS answers the second with
                // success ("a target that does not exist returns successfully"), moto with
                // InvalidTarget.
                Err(ServiceError::Elb(e))
                    if e.operation == "DeregisterTargets"
                        && e.code.as_deref() == Some("InvalidTarget") =>
                {
                    moto_invalid += 1
                }
                Err(e) => panic!("sync failed: {e}"),
            }
        }
    }
    w.proxy.clear();
    // One more pass settles whatever the last round left.
    service::sync(&w.ctx, &Bed::owner(), name).await.unwrap();
    let took = converge.elapsed();
    let injected = w.proxy.stats();
    let after = w.bed.route(name).await;
    let expected = BTreeMap::from([(name.clone(), vec![new])]);
    let outcome = w.check(&expected, true).await;
    let conditional = injected
        .upstream_errors
        .get("ConditionalCheckFailedException")
        .copied()
        .unwrap_or(0);
    report(Row {
        scenario: format!("{parallel} concurrent syncs of one route x {rounds} rounds"),
        faults: format!(
            "{} + {conditional} conditional-write failures",
            injected.summary()
        ),
        routes: 1,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "{synced} syncs ok, {busy} busy (409), {moto_invalid} moto-only InvalidTarget; version {} -> {}",
            before.version, after.version
        ),
    });
    assert!(conditional > 0, "the race produced no conditional failure");
    assert!(after.version > before.version);
    assert!(after.sightings.ips().contains(&IpAddr::V4(new)));
    assert!(!after.sightings.ips().contains(&IpAddr::V4(old)));
    outcome.assert_clean("concurrent syncs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_answer_was_lost_is_not_mistaken_for_a_lost_race() {
    let _serial = SERIAL.lock().await;
    let w = World::start("ownwrite", 1, &[]).await;
    let (names, failures) = w.create_many("o", 1, 1, |i| ip_of(i, 16)).await;
    assert!(failures.is_empty());
    let name = &names[0];
    let old = IpAddr::V4(ip_of(0, 16));
    w.bed.dns.set_a(&host(name), &[ip_of(0, 17)]);
    let before = w.bed.route(name).await;
    // The sync's PutItem is applied, its answer lost; the SDK's retry fails its own condition.
    w.proxy.add(
        Rule::new(Fault::LostResponse)
            .service(Service::Dynamo)
            .operation("PutItem")
            .nth(1),
    );
    let started = Instant::now();
    service::sync(&w.ctx, &Bed::owner(), name).await.unwrap();
    let took = started.elapsed();
    let injected = w.proxy.stats();
    w.proxy.clear();
    let after = w.bed.route(name).await;
    let misses = after
        .sightings
        .iter()
        .find(|(ip, _)| *ip == old)
        .map(|(_, m)| m);
    let expected = BTreeMap::from([(name.clone(), vec![ip_of(0, 17)])]);
    let outcome = w.check(&expected, false).await;
    report(Row {
        scenario: "lost answer to a conditional write (1 sync)".into(),
        faults: format!("{} + {:?}", injected.summary(), injected.upstream_errors),
        routes: 1,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "version {} -> {}, old IP misses {misses:?} (one lookup = one miss)",
            before.version, after.version
        ),
    });
    assert_eq!(
        injected
            .upstream_errors
            .get("ConditionalCheckFailedException"),
        Some(&1)
    );
    // The plan's save (which takes the apply lease) once, and the lease's return once.
    assert_eq!(
        after.version,
        before.version + 2,
        "stored once, lease returned once"
    );
    assert_eq!(misses, Some(1), "the one lookup was counted twice");
    outcome.assert_clean("lost write answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_timeouts_and_servfail_change_nothing_and_the_next_audit_follows_the_move() {
    let _serial = SERIAL.lock().await;
    let n = scale(20, 100);
    let concurrency = n.to_string();
    let w = World::start(
        "dnsfault",
        n.div_ceil(50),
        &[("ROUTER_AUDIT_CONCURRENCY", concurrency.as_str())],
    )
    .await;
    let (names, failures) = w.create_many("n", n, 8, |i| ip_of(i, 8)).await;
    assert!(failures.is_empty());
    w.recorder.clear();
    let queries = w.bed.dns.query_count();
    // While DNS is down, every 5th database moves.
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let ip = if i % 5 == 0 { ip_of(i, 9) } else { ip_of(i, 8) };
        w.bed.dns.set_a(&host(name), &[ip]);
        expected.insert(name.clone(), vec![ip]);
    }
    let mut failed = 0;
    for mode in [Mode::Drop, Mode::ServFail] {
        w.bed.dns.set_mode(mode);
        let r = audit(&w.ctx, AuditRequest::default()).await.unwrap();
        failed += r.dns_failures.len();
        assert!(r.routes.iter().all(|f| f.deregister.is_empty()));
    }
    let dns_queries = w.bed.dns.query_count() - queries;
    w.bed.dns.set_mode(Mode::Normal);
    let converge = Instant::now();
    let r = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    let took = converge.elapsed();
    assert!(r.dns_failures.is_empty(), "{:?}", r.dns_failures);
    let outcome = w.check(&expected, false).await;
    report(Row {
        scenario: format!("DNS timeouts then SERVFAIL during audits ({n} routes)"),
        faults: format!("{failed} failed lookups ({dns_queries} queries unanswered or SERVFAIL)"),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "{} moved databases registered by the next audit; old IPs kept in window",
            n.div_ceil(5)
        ),
    });
    assert_eq!(failed, 2 * n);
    let deregs = w
        .recorder
        .all()
        .iter()
        .filter(|s| s.op == Op::Deregister)
        .count();
    assert_eq!(deregs, 0, "a failed lookup never removes a target");
    outcome.assert_clean("DNS faults");
}

// ---------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_creates_fill_one_router_without_doubling_a_port() {
    let _serial = SERIAL.lock().await;
    let n = scale(50, 250);
    let w = World::start("creates", n.div_ceil(50), &[]).await;
    let started = Instant::now();
    // 50 at once (250 in the long run, 50 at a time: more at once only queues in front of
    // moto, whose DynamoDB the proxy serializes, until the SDK's attempt timeout fires).
    let (names, failures) = w.create_many("p", n, 50, |i| ip_of(i, 10)).await;
    let took = started.elapsed();
    assert!(failures.is_empty(), "{failures:?}");
    let expected = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), vec![ip_of(i, 10)]))
        .collect();
    let outcome = w.check(&expected, true).await;
    // The fleet is now full: one more create is refused, not squeezed in.
    w.bed.set_ip("extra.db.test", [10, 11, 0, 1]);
    let refused = service::create(
        &w.ctx,
        &Bed::owner(),
        &World::request("extra", "extra.db.test"),
    )
    .await;
    assert!(
        matches!(refused, Err(ServiceError::CapacityExhausted(_))),
        "{refused:?}"
    );
    report(Row {
        scenario: format!(
            "{n} creates, 50 at a time ({} routers full)",
            w.routers.len()
        ),
        faults: "none (races only)".into(),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: "one more create refused: capacity exhausted".into(),
    });
    outcome.assert_clean("concurrent creates");
}

/// Looks up at once but answers only after `delay`: a lookup made before DNS moved and
/// applied after (a slow resolver, a slow Lambda, or a stale schedule).
struct LateResolver {
    inner: HickoryResolver,
    delay: Duration,
}

#[async_trait]
impl Resolve for LateResolver {
    async fn lookup(&self, host: &str) -> Lookup {
        let answer = self.inner.lookup(host).await;
        tokio::time::sleep(self.delay).await;
        answer
    }
}

fn rds_event(sample: &str) -> Value {
    let path = format!("{}/../events/{sample}", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    event["time"] = Value::String(now.clone());
    event["detail"]["Date"] = Value::String(now);
    event
}

const ORDERS: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rds_event_and_a_stale_sync_of_the_same_route_do_not_flap_targets() {
    let _serial = SERIAL.lock().await;
    let w = World::start("evsync", 1, &[]).await;
    let old = Ipv4Addr::new(10, 12, 0, 1);
    let new = Ipv4Addr::new(10, 12, 0, 2);
    w.bed.dns.set_a(ORDERS, &[old]);
    service::create(&w.ctx, &Bed::owner(), &World::request("orders", ORDERS))
        .await
        .unwrap();
    let late = Arc::new(LateResolver {
        inner: HickoryResolver::new(&[w.bed.dns.addr()], Duration::from_secs(2), 2).unwrap(),
        delay: Duration::from_secs(2),
    });
    let late_ctx = w.context_with(late, "evsync-late").await;
    w.recorder.clear();

    let started = Instant::now();
    // The sync reads the route and looks up (old IP) now, but acts 2 s later; DNS moves at
    // 0.3 s; the failover event arrives at once, waits for the move and converges first.
    let owner = Bed::owner();
    let sync = service::sync(&late_ctx, &owner, "orders");
    let dns = w.bed.dns.clone();
    let flip = async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        dns.set_a(ORDERS, &[new]);
    };
    let failover = rds_event("rds-instance-failover-completed-0049.json");
    let event = privatelink_router::flows::events::handle(&w.ctx, &failover);
    let (sync, (), event) = tokio::join!(sync, flip, event);
    let event = event.expect("event handled");
    assert_eq!(event.routes.len(), 1, "{event:?}");
    let sync_result = sync.map(|o| o.plan.is_noop());
    // One more pass (the schedule) with a timely lookup.
    let audit_report = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    let took = started.elapsed();
    let expected = BTreeMap::from([("orders".to_string(), vec![new])]);
    let outcome = w.check(&expected, true).await;
    report(Row {
        scenario: "RDS failover event + stale sync + audit, one route".into(),
        faults: "race: sync's lookup made before DNS moved, applied after the event".into(),
        routes: 1,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "event moved {:?} -> {:?}; stale sync noop: {sync_result:?}; audit errors {}",
            event.routes[0].deregistered,
            event.routes[0].registered,
            audit_report.errors.len()
        ),
    });
    outcome.assert_clean("event + stale sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_event_racing_a_sync_never_registers_the_deleted_database() {
    let _serial = SERIAL.lock().await;
    let w = World::start("evdel", 1, &[]).await;
    let ip = Ipv4Addr::new(10, 13, 0, 1);
    w.bed.dns.set_a(ORDERS, &[ip]);
    // The route names its database's account, so the deletion event ends it at once.
    let mut request = World::request("orders", ORDERS);
    request.account_id = Some(router_tests::fixtures::ACCOUNT.into());
    service::create(&w.ctx, &Bed::owner(), &request)
        .await
        .unwrap();
    let route = w.bed.route("orders").await;
    let tg = route.target_group_arn.clone().unwrap();
    let late = Arc::new(LateResolver {
        inner: HickoryResolver::new(&[w.bed.dns.addr()], Duration::from_secs(2), 2).unwrap(),
        delay: Duration::from_secs(1),
    });
    let late_ctx = w.context_with(late, "evdel-late").await;
    w.recorder.clear();
    let started = Instant::now();
    // The sync reads the active route now and acts 1 s later; the deletion event lands first.
    let owner = Bed::owner();
    let sync = service::sync(&late_ctx, &owner, "orders");
    let event = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        privatelink_router::flows::events::handle(
            &w.ctx,
            &rds_event("rds-instance-deleted-0003.json"),
        )
        .await
    };
    let (sync, event) = tokio::join!(sync, event);
    event.expect("event handled");
    let took = started.elapsed();
    let after = w.bed.route("orders").await;
    let registered_after_deletion = w
        .recorder
        .all()
        .iter()
        .skip_while(|s| s.op != Op::Deregister)
        .filter(|s| s.op == Op::Register)
        .count();
    let outcome = Outcome {
        flaps: flaps(&w.recorder.all()),
        ..Outcome::default()
    };
    report(Row {
        scenario: "RDS deletion event + stale sync, one route".into(),
        faults: "race: sync read the route before the event marked it deleted".into(),
        routes: 1,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "status {:?}, targets {:?}, sync {:?}",
            after.status,
            w.targets_of(&tg).await,
            sync.as_ref()
                .map(|o| o.plan.is_noop())
                .map_err(|e| e.to_string())
        ),
    });
    assert_eq!(after.status, RouteStatus::SourceDeleted, "lost update");
    assert!(w.targets_of(&tg).await.is_empty());
    assert_eq!(
        registered_after_deletion, 0,
        "the deleted database's IP was registered again"
    );
    outcome.assert_clean("deletion + stale sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_audits_at_once_converge_without_flapping_or_lost_updates() {
    let _serial = SERIAL.lock().await;
    let n = scale(30, 150);
    let w = World::start("twoaudits", n.div_ceil(50), &[]).await;
    let (names, failures) = w.create_many("a", n, 8, |i| ip_of(i, 14)).await;
    assert!(failures.is_empty());
    let mut moved = BTreeSet::new();
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let ip = if i % 3 == 0 {
            moved.insert(name.clone());
            ip_of(i, 15)
        } else {
            ip_of(i, 14)
        };
        w.bed.dns.set_a(&host(name), &[ip]);
        expected.insert(name.clone(), vec![ip]);
    }
    w.recorder.clear();
    let second = w
        .context_with(
            Arc::new(HickoryResolver::new(&[w.bed.dns.addr()], Duration::from_secs(2), 2).unwrap()),
            "twoaudits-b",
        )
        .await;
    let converge = Instant::now();
    let (a, b) = tokio::join!(
        audit(&w.ctx, AuditRequest::default()),
        audit(&second, AuditRequest::default())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    // One full audit at a time (the run lease): the second run either found the lease held and
    // did nothing (`skipped`), or started after the first had finished.
    let ran = [&a, &b].iter().filter(|r| r.skipped.is_none()).count() as u32;
    assert!(ran >= 1, "at least one audit ran");
    let failed: BTreeSet<String> = a
        .errors
        .iter()
        .chain(&b.errors)
        .map(|e| e.route_id.clone())
        .collect();
    // No lost update: each moved route's old IP was missed by every audit that ran (unless
    // one of them reported that route as failed).
    for name in &moved {
        let route = w.bed.route(name).await;
        let i: usize = name[1..].parse().unwrap();
        let old_misses = route
            .sightings
            .iter()
            .find(|(ip, _)| *ip == IpAddr::V4(ip_of(i, 14)))
            .map(|(_, m)| m);
        if !failed.contains(name) {
            assert_eq!(old_misses, Some(ran), "{name}: one audit's lookup was lost");
        }
    }
    // The third lookup ages the old IPs out.
    let mut c = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    for _ in ran..2 {
        c = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    }
    let took = converge.elapsed();
    let outcome = w.check(&expected, true).await;
    report(Row {
        scenario: format!("two audits at once ({n} routes, {} moved)", moved.len()),
        faults: "races only".into(),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "errors {}+{}, {} of 2 ran (the other found the lease held), last audit errors {}",
            a.errors.len(),
            b.errors.len(),
            ran,
            c.errors.len()
        ),
    });
    outcome.assert_clean("two audits");
}

// ---------------------------------------------------------------------------------------
// Pacing under AWS's own throttle, and the order of two reconciles of one route
// ---------------------------------------------------------------------------------------

/// The most calls in any `window` of a timeline.
fn peak(times: &[Instant], window: Duration) -> usize {
    let mut peak = 0;
    let mut from = 0;
    for (i, t) in times.iter().enumerate() {
        while times[from] + window <= *t {
            from += 1;
        }
        peak = peak.max(i + 1 - from);
    }
    peak
}

/// ELBv2 throttles like AWS (token buckets of 40, refilled at 10 a second, per API family)
/// and the full audit runs at its default budget (5 calls a second) over drift: it is never
/// throttled, no second holds more paced calls (all but target changes) than the budget
/// allows, and the drift is repaired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_audit_keeps_to_its_elbv2_budget_and_aws_never_throttles_it() {
    let _serial = SERIAL.lock().await;
    let rate = privatelink_router::config::DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND;
    let rate_var = rate.to_string();
    let n = scale(12, 40);
    let w = World::start(
        "paced",
        1,
        &[("ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND", rate_var.as_str())],
    )
    .await;
    let (names, failures) = w.create_many("p", n, 4, |i| ip_of(i, 20)).await;
    assert!(failures.is_empty(), "{failures:?}");
    // Drift: every 3rd database moved, every 4th route lost its target by hand.
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let ip = if i % 3 == 0 {
            ip_of(i, 21)
        } else {
            ip_of(i, 20)
        };
        w.bed.dns.set_a(&host(name), &[ip]);
        expected.insert(name.clone(), vec![ip]);
        if i % 4 == 1 {
            let tg = w.bed.route(name).await.target_group_arn.unwrap();
            let target = privatelink_router::domain::plan::Target {
                ip: IpAddr::V4(ip_of(i, 20)),
                port: 5432,
                availability_zone: Some("all".into()),
            };
            w.bed.ctx.elb.deregister(&tg, &[target]).await.unwrap();
        }
    }
    w.proxy.throttle_like_aws(Service::Elb, 10, 40);
    let before = w.proxy.stats();
    let started = Instant::now();
    let report_ = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    let took = started.elapsed();
    let during = w.proxy.stats().since(&before);
    // Target changes inside a route's apply lease are not paced (and ELBv2 buckets them
    // apart from reads): the budget is checked on every other call.
    let times: Vec<Instant> = w
        .proxy
        .timeline(Service::Elb)
        .into_iter()
        .filter(|(t, op)| *t >= started && !op.ends_with("egisterTargets"))
        .map(|(t, _)| t)
        .collect();
    let calls = times.len();
    let busiest = peak(&times, Duration::from_secs(1));
    let outcome = w.check(&expected, false).await;
    report(Row {
        scenario: format!("full audit at {rate} ELBv2 calls/s under AWS throttling ({n} routes)"),
        faults: format!("ELBv2 token buckets 10/s, burst 40: {}", during.summary()),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "{calls} ELBv2 calls in {:.1} s, busiest second {busiest}; repaired {:?}",
            took.as_secs_f64(),
            report_.repaired
        ),
    });
    assert_eq!(during.total_injected(), 0, "the audit was throttled");
    assert!(report_.errors.is_empty(), "{:?}", report_.errors);
    assert_eq!(report_.elbv2_calls_per_second, rate);
    assert!(
        calls as u64 >= 2 * n as u64,
        "{calls} ELBv2 calls for {n} routes"
    );
    // A burst of one: in any second at most rate + 1 calls (and one more for arrival jitter).
    assert!(
        busiest <= rate as usize + 2,
        "{busiest} ELBv2 calls in one second (budget {rate}/s)"
    );
    let floor = Duration::from_secs_f64((calls - 1) as f64 / rate as f64 * 0.9);
    assert!(
        took >= floor,
        "{calls} calls in {took:?}: faster than {rate}/s"
    );
    outcome.assert_clean("paced audit");
}

/// A storm of unpaced syncs against a busy account's ELBv2 (a small token bucket) is throttled;
/// the SDK retries what it can, nothing is lost, and the next full audit at the default budget
/// (AWS's documented bucket back) converges every route without one throttle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_sync_storm_loses_nothing_and_the_paced_audit_converges() {
    let _serial = SERIAL.lock().await;
    let rate = privatelink_router::config::DEFAULT_AUDIT_ELBV2_CALLS_PER_SECOND.to_string();
    let n = scale(12, 40);
    let w = World::start(
        "tstorm",
        1,
        &[("ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND", rate.as_str())],
    )
    .await;
    let (names, failures) = w.create_many("t", n, 4, |i| ip_of(i, 22)).await;
    assert!(failures.is_empty(), "{failures:?}");
    let mut expected = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        w.bed.dns.set_a(&host(name), &[ip_of(i, 23)]);
        expected.insert(name.clone(), vec![ip_of(i, 23)]);
    }
    // A busy account: 2 tokens a second, burst 4, for every API family.
    w.proxy.throttle_like_aws(Service::Elb, 2, 4);
    let before = w.proxy.stats();
    let usage_before = w.ctx.clients.calls.usage();
    let owner = Bed::owner();
    let storm =
        futures::future::join_all(names.iter().map(|name| service::sync(&w.ctx, &owner, name)))
            .await;
    let storm_failed = storm.iter().filter(|r| r.is_err()).count();
    let injected = w.proxy.stats().since(&before);
    assert!(
        injected.total_injected() > 0,
        "the storm was never throttled"
    );
    // The router counts each throttled attempt (the `AwsThrottles` metric) as AWS sent them.
    assert_eq!(
        w.ctx.clients.calls.usage().since(usage_before).throttles,
        injected.total_injected()
    );

    w.proxy.throttle_like_aws(Service::Elb, 10, 40);
    let after_storm = w.proxy.stats();
    let converge = Instant::now();
    let paced = audit(&w.ctx, AuditRequest::default()).await.unwrap();
    let took = converge.elapsed();
    let audit_throttles = w.proxy.stats().since(&after_storm).total_injected();
    let outcome = w.check(&expected, false).await;
    report(Row {
        scenario: format!("{n} concurrent syncs on a throttled account, then the paced audit"),
        faults: format!(
            "ELBv2 buckets 2/s burst 4 during the storm: {}",
            injected.summary()
        ),
        routes: n,
        outcome: outcome.clone(),
        converge: took,
        note: format!(
            "{storm_failed} of {n} syncs failed (throttled past the SDK's retries); audit throttled {audit_throttles} times, repaired {:?}",
            paced.repaired
        ),
    });
    assert_eq!(audit_throttles, 0, "the paced audit was throttled");
    assert_eq!(paced.aws_throttles, 0);
    assert!(paced.errors.is_empty(), "{:?}", paced.errors);
    // Failed syncs left no apply lease behind and no change unapplied after the audit.
    for route in w.routes().await {
        assert!(route.applying_until.is_none(), "lease left: {route:?}");
        assert!(!route.unapplied, "unapplied after the audit: {route:?}");
    }
    outcome.assert_clean("throttled storm");
}

/// Two reconciles of one route whose applies would land in the wrong order: a failover event
/// stores its plan (register the new IP, deregister the old) and its DeregisterTargets reaches
/// ELBv2 late; meanwhile the database fails back and a sync reconciles the route. Without the
/// apply lease the sync plans from targets the event is still changing (the old IP still
/// registered: nothing to do), and the event's late deregistration then leaves the route
/// without the IP DNS answers. With it, the sync waits for the event's apply and registers the
/// IP again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reconciles_of_one_route_apply_in_the_order_they_were_stored() {
    let _serial = SERIAL.lock().await;
    let w = World::start("fence", 1, &[]).await;
    let first = Ipv4Addr::new(10, 12, 1, 1);
    let second = Ipv4Addr::new(10, 12, 1, 2);
    w.bed.dns.set_a(ORDERS, &[first]);
    service::create(&w.ctx, &Bed::owner(), &World::request("orders", ORDERS))
        .await
        .unwrap();
    w.proxy.add(
        Rule::new(Fault::Delay(Duration::from_secs(2)))
            .service(Service::Elb)
            .operation("DeregisterTargets")
            .first(1),
    );
    let started = Instant::now();
    // The failover: DNS moves, the event reconciles (its deregistration is held 2 s).
    w.bed.dns.set_a(ORDERS, &[second]);
    let failover = rds_event("rds-instance-failover-completed-0049.json");
    let event = privatelink_router::flows::events::handle(&w.ctx, &failover);
    // The failback while the event's deregistration is in flight, then a sync.
    let proxy = &w.proxy;
    let dns = w.bed.dns.clone();
    let owner = Bed::owner();
    let failback = async {
        while !proxy
            .timeline(Service::Elb)
            .iter()
            .any(|(t, op)| *t >= started && op == "DeregisterTargets")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        dns.set_a(ORDERS, &[first]);
        service::sync(&w.ctx, &owner, "orders").await
    };
    let (event, sync) = tokio::join!(event, failback);
    let event = event.expect("event handled");
    let sync = sync.expect("sync");
    let took = started.elapsed();
    let route = w.bed.route("orders").await;
    let targets = w
        .targets_of(route.target_group_arn.as_deref().unwrap())
        .await;
    let timeline = w.proxy.timeline(Service::Elb);
    let at = |op: &str| {
        timeline
            .iter()
            .filter(|(t, o)| *t >= started && o == op)
            .map(|(t, _)| t.duration_since(started).as_millis())
            .collect::<Vec<_>>()
    };
    let note = format!(
        "event moved {:?} -> {:?}; sync plan {:?}; ELBv2 at ms: describe {:?}, register {:?}, deregister {:?}; targets {targets:?}",
        event.routes[0].deregistered,
        event.routes[0].registered,
        sync.plan,
        at("DescribeTargetHealth"),
        at("RegisterTargets"),
        at("DeregisterTargets")
    );
    report(Row {
        scenario: "failover event + failback sync, one route, event's apply late".into(),
        faults: "DeregisterTargets held 2 s".into(),
        routes: 1,
        outcome: Outcome::default(),
        converge: took,
        note: note.clone(),
    });
    assert!(
        targets.contains(&IpAddr::V4(first)),
        "DNS answers {first} but the route's targets are {targets:?}: {note}"
    );
    assert!(
        route.applying_until.is_none(),
        "apply lease left: {route:?}"
    );
}
