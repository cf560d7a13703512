//! Diagnosing a route's database: reads what the RDS, EC2 and ELBv2 APIs say about it and its
//! router's NLB, and lets [`crate::domain::diagnosis`] name the causes. Best effort: a fact that
//! cannot be read leaves its check out (logged), never fails the caller.
//!
//! Calls for one route (only for a route worth it, [`wants_diagnosis`]): DescribeDBInstances
//! (DescribeDBClusters first for a cluster endpoint), DescribeDBParameters pages for a MySQL or
//! MariaDB database with a custom parameter group, and — only while a target is `unhealthy` —
//! DescribeNetworkInterfaces (the NLB's addresses), DescribeLoadBalancers (its security
//! groups), DescribeSecurityGroups, DescribeSubnets and DescribeNetworkAcls. EC2 is read in the
//! router's own account only.

use std::net::IpAddr;

use tracing::warn;

use crate::context::Context;
use crate::domain::diagnosis::{diagnose, DatabaseView, Diagnosis, NlbView, Parameter};
use crate::domain::health::TargetHealth;
use crate::domain::host::{parse_rds_endpoint, RdsEndpointKind};
use crate::domain::membership::{reader_endpoint_members, writer_endpoint_members};
use crate::domain::route::{Engine, Route};

/// MySQL's and MariaDB's default `max_connect_errors` (MySQL reference, server system
/// variables; MariaDB server system variables): what a group that does not set it gives.
pub const DEFAULT_MAX_CONNECT_ERRORS: u64 = 100;

/// True when a route is worth diagnosing after its creation: a target fails its health checks
/// (`unhealthy`), or the database is MySQL or MariaDB (whose host cache blocks the NLB while
/// the checks still pass).
pub fn wants_diagnosis(route: &Route, targets: &[TargetHealth]) -> bool {
    names_a_database(route)
        && (fails_health_checks(targets)
            || matches!(route.spec.engine, Some(Engine::Mysql | Engine::Mariadb)))
}

/// True when the route names a database the RDS API can describe: an RDS endpoint host or an
/// `rds_identifier`. Nothing is read for others.
pub fn names_a_database(route: &Route) -> bool {
    route.spec.rds_identifier.is_some() || parse_rds_endpoint(route.spec.host.as_str()).is_some()
}

/// True when a target fails its health checks (`unhealthy`): the network checks then run.
pub fn fails_health_checks(targets: &[TargetHealth]) -> bool {
    targets.iter().any(|t| t.state == "unhealthy")
}

/// The longest a diagnosis may take: it is best effort on a create's and a `GET`'s path, and a
/// slow EC2 or RDS API must not hold those (what was read by then is not kept either).
pub const DIAGNOSIS_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// [`diagnose_route`] within [`DIAGNOSIS_DEADLINE`]; nothing when it takes longer.
pub async fn diagnose_within_deadline(
    ctx: &Context,
    route: &Route,
    targets: &[TargetHealth],
    network: bool,
    nlb_ips: Option<&[String]>,
) -> Vec<Diagnosis> {
    let diagnosis = diagnose_route(ctx, route, targets, network, nlb_ips);
    tokio::time::timeout(DIAGNOSIS_DEADLINE, diagnosis)
        .await
        .unwrap_or_else(|_| {
            warn!(route_id = %route.id(), "diagnosis took longer than its deadline; not shown");
            vec![]
        })
}

/// The causes the APIs show for `route`, whose targets ELB reports as `targets`; empty when
/// nothing is wrong or nothing could be read. `network`: also read the security groups and
/// network ACLs (at creation, and while a target fails its health checks). `nlb_ips`: the
/// router's NLB addresses when the caller has read them already (else one
/// DescribeNetworkInterfaces).
pub async fn diagnose_route(
    ctx: &Context,
    route: &Route,
    targets: &[TargetHealth],
    network: bool,
    nlb_ips: Option<&[String]>,
) -> Vec<Diagnosis> {
    if !names_a_database(route) {
        return vec![];
    }
    let own = ctx.config.own_account();
    // A route of unknown account may name a same-named database of another account: the
    // router's own would then be described instead. Only a known account is read.
    let Some(account) = route.spec.account.clone() else {
        return vec![];
    };
    let region = route.region().unwrap_or_default();
    if !region.is_empty() && !ctx.rds.covers(&account, &region) {
        return vec![];
    }
    let Some(instance) = instance_of(ctx, route, &account).await else {
        return vec![];
    };
    let facts = match ctx.rds.instance_network(&account, &instance).await {
        Ok(Some(n)) => n,
        Ok(None) => return vec![],
        Err(e) => {
            warn!(route_id = %route.id(), error = %e, "database not read for its diagnosis");
            return vec![];
        }
    };
    let mut db = DatabaseView {
        id: facts.id.clone(),
        engine: facts.engine.clone(),
        port: facts.port,
        ..Default::default()
    };
    if matches!(
        db.engine.as_deref().and_then(Engine::from_rds),
        Some(Engine::Mysql | Engine::Mariadb)
    ) {
        db.max_connect_errors =
            max_connect_errors(ctx, &account, facts.parameter_group.as_deref()).await;
    }
    let mut nlb = NlbView::default();
    let targets_ips: Vec<IpAddr> = targets.iter().map(|t| t.target.ip).collect();
    if let Some(router) = ctx.fleet.get(&route.router) {
        let read = match nlb_ips {
            Some(ips) => ips.to_vec(),
            None => ctx.ec2.nlb_private_ips(router).await.unwrap_or_default(),
        };
        nlb.private_ips = read.iter().filter_map(|ip| ip.parse().ok()).collect();
        if network && account == own {
            nlb.security_groups = ctx
                .elb
                .load_balancer_security_groups(&router.config.nlb_arn)
                .await
                .unwrap_or_default();
            match ctx.ec2.security_groups(&facts.security_groups).await {
                Ok(groups) => db.security_groups = groups,
                Err(e) => {
                    warn!(route_id = %route.id(), error = %e, "security groups not read for the diagnosis")
                }
            }
            match ctx.ec2.network_acls(&facts.subnets, &targets_ips).await {
                Ok(acls) => db.network_acls = acls,
                Err(e) => {
                    warn!(route_id = %route.id(), error = %e, "network ACLs not read for the diagnosis")
                }
            }
        }
    }
    diagnose(
        route.spec.port,
        route.spec.health_check.interval_seconds,
        &db,
        &nlb,
    )
}

/// The DB instance the route's targets are: the instance of an instance endpoint, the
/// writer of a cluster endpoint, a reader of a reader endpoint (members share the cluster's
/// security groups and subnets), else the route's `rds_identifier` as an instance.
async fn instance_of(ctx: &Context, route: &Route, account: &str) -> Option<String> {
    let endpoint = parse_rds_endpoint(route.spec.host.as_str());
    let cluster_kind = endpoint.as_ref().map(|e| e.kind);
    match (endpoint, route.spec.rds_identifier.clone()) {
        (Some(e), _) if e.kind == RdsEndpointKind::Instance => Some(e.identifier),
        (Some(e), _)
            if matches!(
                cluster_kind,
                Some(RdsEndpointKind::ClusterWriter | RdsEndpointKind::ClusterReader)
            ) =>
        {
            let cluster = ctx.rds.cluster(account, &e.identifier).await.ok()?;
            let members = match e.kind {
                RdsEndpointKind::ClusterWriter => writer_endpoint_members(&cluster.members),
                _ => reader_endpoint_members(&cluster.members),
            };
            members.first().map(|m| m.id.clone())
        }
        (Some(_), _) => None,
        (None, id) => id,
    }
}

/// The database's `max_connect_errors`: its parameter group's value, else the engine default.
async fn max_connect_errors(
    ctx: &Context,
    account: &str,
    group: Option<&str>,
) -> Option<Parameter> {
    let default = Parameter {
        value: DEFAULT_MAX_CONNECT_ERRORS,
        source: "engine default".into(),
    };
    let Some(group) = group else {
        return Some(default);
    };
    match ctx
        .rds
        .parameter(account, group, "max_connect_errors")
        .await
    {
        Ok(Some(value)) => value.parse().ok().map(|value| Parameter {
            value,
            source: format!("parameter group {group}"),
        }),
        Ok(None) => Some(Parameter {
            source: format!("engine default; parameter group {group} does not set it"),
            ..default
        }),
        Err(e) => {
            warn!(group, error = %e, "parameter group not read for the diagnosis");
            None
        }
    }
}
