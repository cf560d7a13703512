//! Proves the test bed itself: loopback DNS behaviours, moto lifetime, and the network fixture.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use hickory_resolver::{
    config::{ConnectionConfig, NameServerConfig, ResolverConfig},
    net::{runtime::TokioRuntimeProvider, DnsError, NetError},
    proto::{
        op::ResponseCode,
        rr::{RData, RecordType},
    },
    Resolver, TokioResolver,
};
use router_tests::{
    dns::{DnsServer, Mode, TTL},
    moto::Moto,
    network::Network,
};
use tokio::sync::OnceCell;

/// One moto_server for the whole test binary; tests use unique names and never reset it.
static MOTO: OnceCell<Moto> = OnceCell::const_new();

async fn moto() -> &'static Moto {
    MOTO.get_or_init(|| async { Moto::start().await.expect("start moto_server") })
        .await
}

#[derive(Clone, Copy)]
enum Transport {
    Udp,
    Tcp,
}

/// A non-caching resolver that only asks `dns`, over one transport, with a short timeout.
fn resolver(dns: &DnsServer, transport: Transport) -> TokioResolver {
    let mut connection = match transport {
        Transport::Udp => ConnectionConfig::udp(),
        Transport::Tcp => ConnectionConfig::tcp(),
    };
    connection.port = dns.addr().port();
    let server = NameServerConfig::new(dns.addr().ip(), true, vec![connection]);
    let config = ResolverConfig::from_name_servers(vec![server]);
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.cache_size = 0;
    options.timeout = Duration::from_millis(500);
    options.attempts = 1;
    builder.build().expect("build resolver")
}

/// The A addresses, CNAME targets and TTLs answered for `name`, or the response code on failure.
async fn lookup(
    resolver: &TokioResolver,
    name: &str,
) -> Result<(Vec<Ipv4Addr>, Vec<String>, Vec<u32>), ResponseCode> {
    match resolver.lookup(name, RecordType::A).await {
        Ok(lookup) => {
            let (mut ips, mut cnames, mut ttls) = (vec![], vec![], vec![]);
            for record in lookup.answers() {
                ttls.push(record.ttl);
                match &record.data {
                    RData::A(a) => ips.push(a.0),
                    RData::CNAME(target) => cnames.push(target.0.to_ascii()),
                    other => panic!("unexpected record {other:?}"),
                }
            }
            Ok((ips, cnames, ttls))
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(no))) => Err(no.response_code),
        Err(NetError::Dns(DnsError::ResponseCode(code))) => Err(code),
        Err(other) => panic!("lookup of {name} failed: {other}"),
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[tokio::test]
async fn dns_server_answers_a_records_and_follows_record_changes() {
    let dns = DnsServer::start().await.unwrap();
    let resolver = resolver(&dns, Transport::Udp);
    let name = "db1.cluster-abc.us-east-1.rds.amazonaws.com";

    dns.set_a(name, &[ip("10.0.1.10"), ip("10.0.2.20")]);
    let (ips, _, ttls) = lookup(&resolver, name).await.unwrap();
    assert_eq!(ips, [ip("10.0.1.10"), ip("10.0.2.20")]);
    assert!(ttls.iter().all(|ttl| *ttl == TTL), "TTLs {ttls:?}");

    // Case-insensitive, with or without the trailing dot.
    let (ips, ..) = lookup(&resolver, "DB1.Cluster-ABC.us-east-1.rds.amazonaws.com.")
        .await
        .unwrap();
    assert_eq!(ips.len(), 2);

    dns.set_a(&format!("{name}."), &[ip("100.64.0.7")]);
    assert_eq!(lookup(&resolver, name).await.unwrap().0, [ip("100.64.0.7")]);

    dns.set_empty(name);
    assert_eq!(lookup(&resolver, name).await, Err(ResponseCode::NoError));

    dns.remove(name);
    assert_eq!(lookup(&resolver, name).await, Err(ResponseCode::NXDomain));
    assert!(dns.query_count() >= 5, "count {}", dns.query_count());
}

#[tokio::test]
async fn dns_server_answers_over_tcp_on_the_same_port() {
    let dns = DnsServer::start().await.unwrap();
    dns.set_a("tcp.example.internal", &[ip("10.0.1.5")]);
    let tcp = resolver(&dns, Transport::Tcp);
    let (ips, ..) = lookup(&tcp, "tcp.example.internal").await.unwrap();
    assert_eq!(ips, [ip("10.0.1.5")]);
    assert_eq!(dns.query_count(), 1);
}

#[tokio::test]
async fn dns_server_chases_cname_chains() {
    let dns = DnsServer::start().await.unwrap();
    let resolver = resolver(&dns, Transport::Udp);
    dns.set_cname("app.example.internal", "db.example.internal");
    dns.set_cname(
        "db.example.internal.",
        "Instance-1.xyz.us-east-1.rds.amazonaws.com",
    );
    dns.set_a(
        "instance-1.xyz.us-east-1.rds.amazonaws.com",
        &[ip("10.0.2.9")],
    );

    let (ips, cnames, _) = lookup(&resolver, "app.example.internal").await.unwrap();
    assert_eq!(ips, [ip("10.0.2.9")]);
    assert_eq!(
        cnames,
        [
            "db.example.internal.",
            "Instance-1.xyz.us-east-1.rds.amazonaws.com."
        ]
    );

    // A dangling chain ends in NXDOMAIN, and a loop does not hang the server.
    dns.remove("instance-1.xyz.us-east-1.rds.amazonaws.com");
    assert_eq!(
        lookup(&resolver, "app.example.internal").await,
        Err(ResponseCode::NXDomain)
    );
    dns.set_cname("loop.example.internal", "loop.example.internal");
    assert!(lookup(&resolver, "loop.example.internal").await.is_err());
}

#[tokio::test]
async fn round_robin_name_answers_one_ip_per_query() {
    let dns = DnsServer::start().await.unwrap();
    let resolver = resolver(&dns, Transport::Udp);
    let readers = [ip("10.0.1.11"), ip("10.0.1.12"), ip("10.0.2.13")];
    let name = "db.cluster-ro-abc.us-east-1.rds.amazonaws.com";
    dns.set_round_robin(name, &readers);

    let mut seen = Vec::new();
    for _ in 0..6 {
        let (ips, ..) = lookup(&resolver, name).await.unwrap();
        assert_eq!(ips.len(), 1, "one IP per answer, got {ips:?}");
        seen.push(ips[0]);
    }
    assert_eq!(seen[..3], readers);
    assert_eq!(seen[3..], readers);
}

#[tokio::test]
async fn servfail_mode_fails_lookups() {
    let dns = DnsServer::start().await.unwrap();
    let resolver = resolver(&dns, Transport::Udp);
    dns.set_a("db.example.internal", &[ip("10.0.1.10")]);

    dns.set_mode(Mode::ServFail);
    assert_eq!(
        lookup(&resolver, "db.example.internal").await,
        Err(ResponseCode::ServFail)
    );

    dns.set_mode(Mode::Normal);
    assert!(lookup(&resolver, "db.example.internal").await.is_ok());
}

#[tokio::test]
async fn drop_mode_times_out() {
    let dns = DnsServer::start().await.unwrap();
    dns.set_a("db.example.internal", &[ip("10.0.1.10")]);
    dns.set_mode(Mode::Drop);

    for transport in [Transport::Udp, Transport::Tcp] {
        let started = Instant::now();
        let result = resolver(&dns, transport)
            .lookup("db.example.internal", RecordType::A)
            .await;
        assert!(result.is_err(), "expected a timeout, got {result:?}");
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
    assert!(dns.query_count() >= 2, "the server saw the queries");
}

#[tokio::test]
async fn moto_starts_and_serves_elbv2_and_dynamodb() {
    let config = moto().await.sdk_config().await;
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    elb.describe_load_balancers()
        .send()
        .await
        .expect("ELBv2 answers");

    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("testbed-{}", std::process::id());
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("DynamoDB answers");
    let tables = dynamodb.list_tables().send().await.unwrap();
    assert!(tables.table_names().contains(&table));
}

#[tokio::test]
async fn moto_reset_clears_state_and_drop_kills_the_process() {
    let moto = Moto::start().await.unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk_config().await);
    let vpc_count = || async {
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        vpcs.vpcs().len()
    };
    let before = vpc_count().await;
    ec2.create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap();
    assert_eq!(vpc_count().await, before + 1);
    moto.reset().await.unwrap();
    assert_eq!(
        vpc_count().await,
        before,
        "reset drops the VPC (default VPC comes back)"
    );

    let proc_dir = format!("/proc/{}", moto.pid());
    assert!(std::path::Path::new(&proc_dir).exists());
    drop(moto);
    assert!(
        !std::path::Path::new(&proc_dir).exists(),
        "moto_server still running"
    );
}

#[tokio::test]
async fn network_fixture_creates_vpc_subnets_and_internal_nlb() {
    let config = moto().await.sdk_config().await;
    let a = Network::create(&config, "testbed").await.unwrap();
    let b = Network::create(&config, "testbed").await.unwrap();
    assert_ne!(a.name, b.name);
    assert_ne!(a.vpc_id, b.vpc_id);

    let cidrs: Vec<String> = a.subnets.iter().map(|s| s.cidr.to_string()).collect();
    assert_eq!(cidrs, ["10.0.1.0/24", "10.0.2.0/24"]);
    let zones: Vec<&str> = a
        .subnets
        .iter()
        .map(|s| s.availability_zone.as_str())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b"]);

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let described = elb
        .describe_load_balancers()
        .load_balancer_arns(&a.nlb_arn)
        .send()
        .await
        .unwrap();
    let nlb = &described.load_balancers()[0];
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum};
    assert_eq!(nlb.r#type(), Some(&LoadBalancerTypeEnum::Network));
    assert_eq!(nlb.scheme(), Some(&LoadBalancerSchemeEnum::Internal));
    assert_eq!(nlb.vpc_id(), Some(a.vpc_id.as_str()));
    assert_eq!(nlb.dns_name(), Some(a.nlb_dns_name.as_str()));
    let mut subnet_ids: Vec<&str> = nlb
        .availability_zones()
        .iter()
        .filter_map(|zone| zone.subnet_id())
        .collect();
    subnet_ids.sort();
    let mut expected: Vec<&str> = a.subnets.iter().map(|s| s.id.as_str()).collect();
    expected.sort();
    assert_eq!(subnet_ids, expected);
}

#[tokio::test]
async fn random_name_answers_every_ip_over_many_queries_and_the_cache_repeats_one() {
    let dns = DnsServer::start().await.unwrap();
    let resolver = resolver(&dns, Transport::Udp);
    let name = "billing.cluster-ro-abc.us-east-1.rds.amazonaws.com";
    let readers = [ip("10.2.0.21"), ip("10.2.0.22"), ip("10.2.0.23")];
    dns.set_random(name, &readers);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let (ips, ..) = lookup(&resolver, name).await.unwrap();
        assert_eq!(ips.len(), 1, "one reader per query");
        seen.insert(ips[0]);
    }
    assert_eq!(seen.len(), 3, "every reader answered in 60 queries");

    // The caching mode repeats one answer for the TTL, then asks again.
    dns.set_cache_ttl(Some(Duration::from_millis(300)));
    let first = lookup(&resolver, name).await.unwrap().0;
    for _ in 0..10 {
        assert_eq!(lookup(&resolver, name).await.unwrap().0, first);
    }
    dns.set_a(name, &[ip("10.9.9.9")]);
    assert_eq!(lookup(&resolver, name).await.unwrap().0, first, "cached");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(lookup(&resolver, name).await.unwrap().0, [ip("10.9.9.9")]);
}

/// The strict ELBv2 of `tests/moto/strict_elbv2.py`, through the SDK: the behaviours the
/// router's rules depend on (ELBv2 API reference: RegisterTargets, DeregisterTargets,
/// TargetHealth; NLB user guide "Target health status").
#[tokio::test]
async fn strict_moto_drains_matches_id_and_port_echoes_the_zone_and_reports_unused() {
    use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
    let config = moto().await.sdk_config().await;
    let net = Network::create(&config, "strict").await.unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let (tg, _) = forwarded_group(&net, "strict").await;
    elb.modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("20")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let target = |ip: &str, port: i32, az: Option<&str>| {
        TargetDescription::builder()
            .id(ip)
            .port(port)
            .set_availability_zone(az.map(str::to_owned))
            .build()
    };
    let health = || async {
        let out = elb
            .describe_target_health()
            .target_group_arn(&tg)
            .send()
            .await
            .unwrap();
        let mut v: Vec<(String, i32, String, String, String)> = out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let t = d.target().unwrap();
                let h = d.target_health().unwrap();
                (
                    t.id().unwrap().to_owned(),
                    t.port().unwrap(),
                    t.availability_zone().unwrap_or("").to_owned(),
                    h.state().unwrap().as_str().to_owned(),
                    h.reason()
                        .map(|r| r.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        v.sort();
        v
    };
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(target("10.0.1.7", 5432, None))
        .targets(target("10.0.1.7", 6543, None))
        .targets(target("10.0.3.5", 5432, None))
        .targets(target("10.20.0.4", 5432, Some("all")))
        .send()
        .await
        .unwrap();
    let h = health().await;
    assert_eq!(h.len(), 4, "the same IP on two ports is two targets: {h:?}");
    assert_eq!(
        (h[0].2.as_str(), h[0].3.as_str(), h[0].4.as_str()),
        ("us-east-1a", "initial", "Elb.RegistrationInProgress")
    );
    assert_eq!(
        (
            h[2].0.as_str(),
            h[2].2.as_str(),
            h[2].3.as_str(),
            h[2].4.as_str()
        ),
        ("10.0.3.5", "us-east-1c", "unused", "Target.NotInUse"),
        "a zone the NLB is not enabled in"
    );
    assert_eq!(h[3].2, "all");

    // `all` for an address inside a subnet is refused, as AWS does.
    let err = elb
        .register_targets()
        .target_group_arn(&tg)
        .targets(target("10.0.2.9", 5432, Some("all")))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&err),
        Some("ValidationError")
    );

    // A wrong port deregisters nothing and succeeds; the right one starts draining.
    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(target("10.20.0.4", 3306, None))
        .send()
        .await
        .unwrap();
    assert_eq!(health().await[3].3, "initial");
    elb.deregister_targets()
        .target_group_arn(&tg)
        .targets(target("10.20.0.4", 5432, Some("all")))
        .send()
        .await
        .unwrap();
    let h = health().await;
    assert_eq!(
        (h[3].3.as_str(), h[3].4.as_str()),
        ("draining", "Target.DeregistrationInProgress")
    );
    // Registering it again cancels the drain.
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(target("10.20.0.4", 5432, Some("all")))
        .send()
        .await
        .unwrap();
    assert_eq!(health().await[3].3, "initial");
}

/// The strict ELBv2 keeps a listener's `tcp.idle_timeout.seconds` inside 60-6000 and answers
/// InvalidConfigurationRequest outside (ELBv2 API reference, ListenerAttribute and
/// ModifyListenerAttributes); plain moto took any value.
#[tokio::test]
async fn strict_moto_refuses_an_idle_timeout_outside_60_to_6000() {
    use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
    use aws_sdk_elasticloadbalancingv2::types::ListenerAttribute;
    let config = moto().await.sdk_config().await;
    let net = Network::create(&config, "idle").await.unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let (_, listener) = forwarded_group(&net, "idle").await;
    let set = |v: &str| {
        elb.modify_listener_attributes()
            .listener_arn(&listener)
            .attributes(
                ListenerAttribute::builder()
                    .key("tcp.idle_timeout.seconds")
                    .value(v)
                    .build(),
            )
            .send()
    };
    for bad in ["59", "6001", "x"] {
        let err = set(bad).await.expect_err(bad);
        assert_eq!(err.code(), Some("InvalidConfigurationRequest"), "{bad}");
    }
    set("60").await.unwrap();
    set("6000").await.unwrap();
}

/// A new IP target group (port 5432) in the network's VPC and a TCP listener on port 10000 of
/// its NLB forwarding to it ([`Network::foreign_listener`]): (target group ARN, listener ARN).
async fn forwarded_group(net: &Network, prefix: &str) -> (String, String) {
    let config = moto().await.sdk_config().await;
    let name = format!("{prefix}-{}", &net.name[net.name.len() - 8..]);
    net.foreign_listener(&config, name.trim_matches('-'), 10000, 5432)
        .await
        .unwrap()
}

/// The strict ELBv2's target quota (NLB load-balancer-limits page): with cross-zone load
/// balancing off, 500 targets per enabled Availability Zone (a target in zone `all` counts in
/// every zone); on, 500 for the whole load balancer. Plain moto had none.
#[tokio::test]
async fn strict_moto_enforces_the_nlb_target_quota_per_zone_or_per_load_balancer() {
    use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerAttribute, TargetDescription};
    let config = moto().await.sdk_config().await;
    let net = Network::create(&config, "quota").await.unwrap();
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let (tg, _) = forwarded_group(&net, "quota").await;
    let target = |ip: String, az: Option<&str>| {
        TargetDescription::builder()
            .id(ip)
            .port(5432)
            .set_availability_zone(az.map(str::to_owned))
            .build()
    };
    let register = |targets: Vec<TargetDescription>| {
        elb.register_targets()
            .target_group_arn(&tg)
            .set_targets(Some(targets))
            .send()
    };
    // 300 outside the VPC (zone `all`), 200 in each of the NLB's two zones: 500 per zone.
    let all: Vec<_> = (0..300)
        .map(|i| target(format!("10.200.{}.{}", i / 200, i % 200 + 1), Some("all")))
        .collect();
    register(all).await.unwrap();
    // 199 in the first zone, 200 in the second.
    for (net24, end) in [(1, 209), (2, 210)] {
        let zone: Vec<_> = (10..end)
            .map(|i| target(format!("10.0.{net24}.{i}"), None))
            .collect();
        register(zone).await.unwrap();
    }
    // One target named twice in one request is one registration: the 500th.
    register(vec![
        target("10.0.1.250".into(), None),
        target("10.0.1.250".into(), None),
    ])
    .await
    .expect("a key repeated in one request counts once");
    let err = register(vec![target("10.0.1.251".into(), None)])
        .await
        .expect_err("a 501st target in us-east-1a");
    assert_eq!(err.code(), Some("TooManyTargets"));
    // Cross-zone on: 700 registered is past the load balancer's 500 already.
    elb.modify_load_balancer_attributes()
        .load_balancer_arn(&net.nlb_arn)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("load_balancing.cross_zone.enabled")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let err = register(vec![target("10.200.9.9".into(), Some("all"))])
        .await
        .expect_err("past 500 for the load balancer");
    assert_eq!(err.code(), Some("TooManyTargets"));
}
