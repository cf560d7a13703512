//! Databases in moto's RDS with the network around them (security groups, subnet groups), for
//! the diagnosis of unhealthy targets (issue #29, case 4).

use aws_sdk_ec2::types::{IpPermission, IpRange};

use aws_config::SdkConfig;

use crate::fixtures::Bed;
use crate::network::Network;

/// A database [`database`] created.
pub struct Db {
    /// Its instance endpoint (`<id>.<hash>.<region>.rds.amazonaws.com`).
    pub address: String,
    /// Its security group.
    pub security_group: String,
}

/// A database in the bed's VPC: a security group admitting TCP `port` from `cidr` only, a DB
/// subnet group of the bed's subnets, and the instance (engine, port, parameter group).
pub async fn database(
    bed: &Bed,
    id: &str,
    engine: &str,
    port: i32,
    cidr: &str,
    parameter_group: Option<&str>,
) -> Db {
    database_in(
        &bed.sdk,
        &bed.network,
        id,
        engine,
        port,
        cidr,
        parameter_group,
    )
    .await
}

/// [`database`] in any fixture network (benches build their own).
pub async fn database_in(
    sdk: &SdkConfig,
    network: &Network,
    id: &str,
    engine: &str,
    port: i32,
    cidr: &str,
    parameter_group: Option<&str>,
) -> Db {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let sg = ec2
        .create_security_group()
        .group_name(format!("{id}-db"))
        .description("database")
        .vpc_id(&network.vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    admit_in(sdk, &sg, port, cidr).await;
    let rds = aws_sdk_rds::Client::new(sdk);
    rds.create_db_subnet_group()
        .db_subnet_group_name(format!("{id}-subnets"))
        .db_subnet_group_description("database subnets")
        .set_subnet_ids(Some(network.subnets.iter().map(|s| s.id.clone()).collect()))
        .send()
        .await
        .unwrap();
    let out = rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine(engine)
        .db_instance_class("db.t4g.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("password-123")
        .port(port)
        .vpc_security_group_ids(&sg)
        .db_subnet_group_name(format!("{id}-subnets"))
        .set_db_parameter_group_name(parameter_group.map(str::to_owned))
        .send()
        .await
        .unwrap();
    Db {
        address: out
            .db_instance()
            .and_then(|i| i.endpoint())
            .and_then(|e| e.address())
            .unwrap()
            .to_owned(),
        security_group: sg,
    }
}

/// Admits TCP `port` from `cidr` in security group `sg`.
pub async fn admit(bed: &Bed, sg: &str, port: i32, cidr: &str) {
    admit_in(&bed.sdk, sg, port, cidr).await
}

async fn admit_in(sdk: &SdkConfig, sg: &str, port: i32, cidr: &str) {
    aws_sdk_ec2::Client::new(sdk)
        .authorize_security_group_ingress()
        .group_id(sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// ELB's verdict on the route's target, as the strict moto gives it for a target tagged
/// unhealthy (the emulator does not connect anywhere: the tag is the failing check).
pub async fn fail_health_checks(bed: &Bed, route: &str, ip: &str) {
    let stored = bed.route(route).await;
    let tg = stored
        .target_group_arn
        .clone()
        .expect("the route has a target group");
    mark_unhealthy(&bed.sdk, &tg, ip).await;
    for _ in 0..100 {
        if bed
            .target_states(&stored)
            .await
            .iter()
            .any(|(_, s)| s == "unhealthy")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the target never became unhealthy");
}

/// Makes the strict moto report `ip` in target group `tg` as `unhealthy`
/// (`Target.FailedHealthChecks`) once past `initial`: its `strict-moto:unhealthy` tag.
pub async fn mark_unhealthy(sdk: &SdkConfig, tg: &str, ip: &str) {
    aws_sdk_elasticloadbalancingv2::Client::new(sdk)
        .add_tags()
        .resource_arns(tg)
        .tags(
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key("strict-moto:unhealthy")
                .value(ip)
                .build(),
        )
        .send()
        .await
        .expect("tagged");
}

/// An RDS Proxy [`proxy`] created: its default endpoint and, when asked, an added read-only
/// endpoint (`<endpoint>.endpoint.proxy-<id>…`).
pub struct Proxy {
    /// The default (read/write) endpoint, `<proxy>.proxy-<id>.<region>.rds.amazonaws.com`.
    pub endpoint: String,
    /// The added read-only endpoint, when one was asked for.
    pub read_only: Option<String>,
}

/// An RDS Proxy `name` (PostgreSQL) in the bed's subnets in front of DB instance `target`, and
/// a read-only endpoint `read_only` when given. Nothing resolves until the test says.
pub async fn proxy(bed: &Bed, name: &str, target: &str, read_only: Option<&str>) -> Proxy {
    use aws_sdk_rds::types::{AuthScheme, EngineFamily, UserAuthConfig};
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    let subnets: Vec<String> = bed.network.subnets.iter().map(|s| s.id.clone()).collect();
    let out = rds
        .create_db_proxy()
        .db_proxy_name(name)
        .engine_family(EngineFamily::Postgresql)
        .auth(
            UserAuthConfig::builder()
                .auth_scheme(AuthScheme::Secrets)
                .secret_arn(format!(
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
                ))
                .build(),
        )
        .role_arn(format!("arn:aws:iam::123456789012:role/{name}"))
        .set_vpc_subnet_ids(Some(subnets.clone()))
        .send()
        .await
        .expect("proxy created");
    let endpoint = out
        .db_proxy()
        .and_then(|p| p.endpoint())
        .expect("proxy endpoint")
        .to_owned();
    rds.register_db_proxy_targets()
        .db_proxy_name(name)
        .db_instance_identifiers(target)
        .send()
        .await
        .expect("proxy target registered");
    let mut read_only_endpoint = None;
    if let Some(ro) = read_only {
        let out = rds
            .create_db_proxy_endpoint()
            .db_proxy_name(name)
            .db_proxy_endpoint_name(ro)
            .target_role(aws_sdk_rds::types::DbProxyEndpointTargetRole::ReadOnly)
            .set_vpc_subnet_ids(Some(subnets))
            .send()
            .await
            .expect("proxy endpoint created");
        read_only_endpoint = out
            .db_proxy_endpoint()
            .and_then(|e| e.endpoint())
            .map(str::to_owned);
    }
    Proxy {
        endpoint,
        read_only: read_only_endpoint,
    }
}
