//! `Bed`: one moto server per test binary, plus per test a loopback DNS server, a VPC with an
//! internal NLB, a fresh route table and a router [`Context`] built from environment-shaped
//! configuration — the same path the Lambdas take at cold start.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_config::SdkConfig;
use privatelink_router::adapters::aws::clients::{retry_config, timeout_config, Clients};
use privatelink_router::adapters::aws::elb::Targets;
use privatelink_router::adapters::aws::store::DynamoStore;
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::domain::route::Route;
use privatelink_router::flows::service::{self, Caller, CreateRequest};
use tokio::sync::OnceCell;

use crate::dns::DnsServer;
use crate::moto::Moto;
use crate::network::Network;

static MOTO: OnceCell<Moto> = OnceCell::const_new();
static SEQ: AtomicU32 = AtomicU32::new(0);

/// The principal tests create routes as.
pub const OWNER: &str = "arn:aws:iam::123456789012:role/pipeline";
/// A principal configured as admin.
pub const ADMIN: &str = "arn:aws:iam::123456789012:role/platform-admin";
/// The AWS account of the fixture (moto's default).
pub const ACCOUNT: &str = "123456789012";
/// The beds' default `ROUTER_CALLER_GRANTS`: every caller may publish names under the test
/// domains (RDS names included) without an RDS lookup, and speak for the other account the
/// tests' databases live in.
pub const TEST_GRANTS: &str = r#"{"*": {"accounts": ["210987654321"], "host_suffixes": ["com", "example", "internal", "test", "local"]}}"#;

/// The moto server of this test binary, started on first use.
pub async fn moto() -> &'static Moto {
    MOTO.get_or_init(|| async { Moto::start().await.expect("moto_server starts") })
        .await
}

/// A `POST /routes` body for `name` → `host`, port 5432, every optional field unset.
pub fn create_request(name: &str, host: &str) -> CreateRequest {
    CreateRequest {
        name: name.into(),
        host: host.into(),
        port: 5432,
        protocol: None,
        health_check: None,
        tags: Default::default(),
        rds_identifier: None,
        account_id: None,
        rds_arn: None,
        listener_port: None,
        router: None,
        target_group: None,
        tls_name: false,
        engine: None,
        idle_timeout_seconds: None,
    }
}

/// SDK config for moto with the router's retry and timeout policy.
pub async fn sdk_config() -> SdkConfig {
    let base = moto().await.sdk_config().await;
    base.into_builder()
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .build()
}

/// A test's world: moto, DNS, network, table and a router context.
pub struct Bed {
    /// Loopback DNS server the router resolves with.
    pub dns: DnsServer,
    /// VPC, subnets and NLB.
    pub network: Network,
    /// The router context (what a Lambda builds at cold start).
    pub ctx: Context,
    /// The environment the context was built from.
    pub env: HashMap<String, String>,
    /// Router id of the NLB.
    pub router_id: String,
    /// SDK config pointing at moto.
    pub sdk: SdkConfig,
}

impl Bed {
    /// Starts a bed with default configuration.
    pub async fn start(name: &str) -> Bed {
        Self::start_with(name, &[]).await
    }

    /// Starts a bed with extra `ROUTER_*` variables.
    pub async fn start_with(name: &str, extra: &[(&str, &str)]) -> Bed {
        Self::start_as(name, None, extra).await
    }

    /// [`Bed::start_with`] with a given router id (`None`: one unique to the bed), as two
    /// deployments of the module in one account may both use `r1`.
    pub async fn start_as(name: &str, router_id: Option<&str>, extra: &[(&str, &str)]) -> Bed {
        let sdk = sdk_config().await;
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let unique = format!("{name}-{}-{seq}", std::process::id());
        let dns = DnsServer::start().await.expect("dns server starts");
        let network = Network::create(&sdk, name).await.expect("network created");
        let router_id =
            router_id.map_or_else(|| format!("r{seq}p{}", std::process::id()), str::to_owned);
        let table = format!("routes-{unique}");
        let fleet = serde_json::json!([{
            "id": router_id,
            "nlb_arn": network.nlb_arn,
            "endpoint_service_name": format!("com.amazonaws.vpce.us-east-1.vpce-svc-{seq:017}"),
        }]);
        let mut env: HashMap<String, String> = HashMap::from([
            ("ROUTER_TABLE".into(), table.clone()),
            ("ROUTER_FLEET".into(), fleet.to_string()),
            ("ROUTER_DNS_SERVERS".into(), dns.addr().to_string()),
            ("ROUTER_ADMIN_PRINCIPALS".into(), ADMIN.into()),
            // Every caller may publish the test domains' names without an RDS lookup, so tests
            // of other behaviour need no RDS database per name; the exposure policy's own tests
            // (exposure.rs) set ROUTER_CALLER_GRANTS themselves.
            ("ROUTER_CALLER_GRANTS".into(), TEST_GRANTS.into()),
            ("ROUTER_DNS_POLL_DEADLINE_SECONDS".into(), "10".into()),
            ("ROUTER_EVENT_ACCOUNTS".into(), ACCOUNT.into()),
            // Unpaced: moto answers in milliseconds and most tests audit many routes; the
            // pacing itself is tested in reliability.rs at the default budget.
            ("ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND".into(), "0".into()),
        ]);
        for (k, v) in extra {
            env.insert((*k).into(), (*v).into());
        }
        let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("valid config");
        let clients = Clients::from_sdk_config(&sdk);
        DynamoStore::new(clients.dynamodb.clone(), table)
            .create_table()
            .await
            .expect("table created");
        let ctx = Context::build(config, clients)
            .await
            .expect("context builds");
        Bed {
            dns,
            network,
            ctx,
            env,
            router_id,
            sdk,
        }
    }

    /// The caller that owns test routes.
    pub fn owner() -> Caller {
        Caller {
            principal: OWNER.into(),
        }
    }

    /// Points `name` at one IPv4 address.
    pub fn set_ip(&self, name: &str, ip: [u8; 4]) {
        self.dns.set_a(name, &[Ipv4Addr::from(ip)]);
    }

    /// Creates a route through the real create path (allocation, resources, first reconcile).
    pub async fn add_route(&self, name: &str, host: &str, port: i64) -> Route {
        self.add_route_in(name, host, port, None).await
    }

    /// [`Bed::add_route`] for a database in `account` (`None`: learned, or unknown).
    pub async fn add_route_in(
        &self,
        name: &str,
        host: &str,
        port: i64,
        account: Option<&str>,
    ) -> Route {
        let req = CreateRequest {
            port,
            account_id: account.map(str::to_owned),
            ..create_request(name, host)
        };
        service::create(&self.ctx, &Self::owner(), &req)
            .await
            .expect("route created")
            .0
    }

    /// Targets registered in a route's target group and not draining, as `ip:port` strings,
    /// sorted.
    pub async fn targets(&self, route: &Route) -> Vec<String> {
        let mut out: Vec<String> = self
            .target_states(route)
            .await
            .into_iter()
            .filter(|(_, state)| !state.ends_with("draining"))
            .map(|(target, _)| target)
            .collect();
        out.sort();
        out
    }

    /// Every target DescribeTargetHealth reports for a route, draining ones included, as
    /// `(ip:port, state)`, sorted.
    pub async fn target_states(&self, route: &Route) -> Vec<(String, String)> {
        let tg = route
            .target_group_arn
            .as_deref()
            .expect("route has a target group");
        let mut out: Vec<(String, String)> = self
            .ctx
            .elb
            .describe_targets(tg)
            .await
            .expect("describe targets")
            .into_iter()
            .map(|t| (format!("{}:{}", t.target.ip, t.target.port), t.state))
            .collect();
        out.sort();
        out
    }

    /// Replaces a route's listener by hand, as someone with console access might: deletes it
    /// and creates an untagged listener on the same port forwarding to a target group of its
    /// own. Returns that target group's ARN.
    pub async fn replace_listener_by_hand(&self, route: &Route) -> String {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk)
            .delete_listener()
            .listener_arn(route.listener_arn.clone().expect("route has a listener"))
            .send()
            .await
            .expect("listener deleted");
        let (tg, _) = self
            .network
            .foreign_listener(
                &self.sdk,
                &format!("foreign-{}", self.router_id),
                route.listener_port,
                route.spec.port,
            )
            .await
            .expect("foreign listener created");
        tg
    }

    /// Reads a route back from the store.
    pub async fn route(&self, name: &str) -> Route {
        use privatelink_router::adapters::aws::store::RouteStore;
        let id = privatelink_router::domain::route::RouteId::parse(name).expect("valid id");
        self.ctx
            .store
            .get(&id)
            .await
            .expect("store read")
            .expect("route exists")
    }
}

/// Creates a PostgreSQL DB instance `id` in moto's RDS; its endpoint address (a name moto
/// makes up, `<id>.<hash>.<region>.rds.amazonaws.com`; it resolves only where a test says).
pub async fn postgres_instance(sdk: &SdkConfig, id: &str) -> String {
    let out = aws_sdk_rds::Client::new(sdk)
        .create_db_instance()
        .db_instance_identifier(id)
        .engine("postgres")
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("password-123")
        .send()
        .await
        .expect("instance");
    out.db_instance()
        .and_then(|i| i.endpoint())
        .and_then(|e| e.address())
        .expect("instance endpoint")
        .to_owned()
}

/// An Aurora PostgreSQL cluster in moto's RDS, with its endpoint names.
pub struct Aurora {
    /// The cluster (writer) endpoint.
    pub writer_endpoint: String,
    /// The reader endpoint.
    pub reader_endpoint: String,
}

/// Creates Aurora PostgreSQL cluster `id` in moto's RDS with one instance per address
/// (`<id>-1`, the first, is the writer), and serves each instance endpoint and the writer
/// endpoint on the bed's DNS server (the reader endpoint is left to the test).
pub async fn aurora(bed: &Bed, id: &str, ips: &[Ipv4Addr]) -> Aurora {
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    let out = rds
        .create_db_cluster()
        .db_cluster_identifier(id)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("password-123")
        .send()
        .await
        .expect("cluster created");
    let cluster = out.db_cluster().expect("cluster");
    let endpoints = Aurora {
        writer_endpoint: cluster.endpoint().expect("writer endpoint").to_owned(),
        reader_endpoint: cluster
            .reader_endpoint()
            .expect("reader endpoint")
            .to_owned(),
    };
    for (k, ip) in ips.iter().enumerate() {
        let out = rds
            .create_db_instance()
            .db_instance_identifier(format!("{id}-{}", k + 1))
            .db_cluster_identifier(id)
            .engine("aurora-postgresql")
            .db_instance_class("db.r6g.large")
            .send()
            .await
            .expect("instance created");
        let address = out
            .db_instance()
            .and_then(|i| i.endpoint())
            .and_then(|e| e.address())
            .expect("instance endpoint");
        bed.dns.set_a(address, &[*ip]);
    }
    bed.dns
        .set_a(&endpoints.writer_endpoint, &ips[..ips.len().min(1)]);
    endpoints
}
