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

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tracing::warn;

use crate::context::Context;
use crate::domain::diagnosis::{
    diagnose, DatabaseView, Diagnosis, NetworkAcl, NlbView, Parameter, SecurityGroup,
};
use crate::domain::health::TargetHealth;
use crate::domain::host::{parse_rds_endpoint, RdsEndpointKind};
use crate::domain::membership::{reader_endpoint_members, writer_endpoint_members};
use crate::domain::route::{Engine, Route};
use crate::domain::router::Router;

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
    facts: &Facts,
) -> Vec<Diagnosis> {
    let diagnosis = diagnose_route(ctx, route, targets, network, facts);
    tokio::time::timeout(DIAGNOSIS_DEADLINE, diagnosis)
        .await
        .unwrap_or_else(|_| {
            warn!(route_id = %route.id(), "diagnosis took longer than its deadline; not shown");
            vec![]
        })
}

/// The causes the APIs show for `route`, whose targets ELB reports as `targets`; empty when
/// nothing is wrong or nothing could be read. `network`: also read the security groups and
/// network ACLs (at creation, and while a target fails its health checks). `facts`: what was
/// read already (an audit run shares one for all its routes).
pub async fn diagnose_route(
    ctx: &Context,
    route: &Route,
    targets: &[TargetHealth],
    network: bool,
    facts: &Facts,
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
    let database = match ctx.rds.instance_network(&account, &instance).await {
        Ok(Some(n)) => n,
        Ok(None) => return vec![],
        Err(e) => {
            warn!(route_id = %route.id(), error = %e, "database not read for its diagnosis");
            return vec![];
        }
    };
    let mut db = DatabaseView {
        id: database.id.clone(),
        engine: database.engine.clone(),
        port: database.port,
        ..Default::default()
    };
    if matches!(
        db.engine.as_deref().and_then(Engine::from_rds),
        Some(Engine::Mysql | Engine::Mariadb)
    ) {
        let group = database.parameter_group.as_deref();
        db.max_connect_errors = facts.max_connect_errors(ctx, &account, group).await;
    }
    let targets_ips: Vec<IpAddr> = targets.iter().map(|t| t.target.ip).collect();
    let Some(router) = ctx.fleet.get(&route.router) else {
        return vec![];
    };
    let in_own_account = account == own;
    let nlb = facts.nlb(ctx, router, network && in_own_account).await;
    if network && in_own_account {
        db.security_groups = facts.security_groups(ctx, &database.security_groups).await;
        db.network_acls = holding(
            facts.network_acls(ctx, &database.subnets).await,
            &targets_ips,
        );
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

/// The network ACLs of the subnets that hold a target's address (all of them when none does,
/// e.g. before the first target).
fn holding(acls: Vec<NetworkAcl>, ips: &[IpAddr]) -> Vec<NetworkAcl> {
    let held = |acl: &NetworkAcl| {
        acl.subnet_cidr
            .is_some_and(|c| ips.iter().any(|ip| c.contains(ip)))
    };
    match acls.iter().any(held) {
        true => acls.into_iter().filter(held).collect(),
        false => acls,
    }
}

/// What a diagnosis has read, kept for the next one: an audit run shares one across its
/// routes, so a change that breaks many routes on one network costs each read once (the NLB's
/// addresses and security groups per router, security groups, subnets' network ACLs and
/// parameter values), not once per route. Reads that fail are not kept.
#[derive(Debug, Default)]
pub struct Facts {
    nlbs: Mutex<HashMap<String, NlbView>>,
    groups: Mutex<HashMap<Vec<String>, Vec<SecurityGroup>>>,
    acls: Mutex<HashMap<Vec<String>, Vec<NetworkAcl>>>,
    parameters: Mutex<HashMap<(String, String), Parameter>>,
}

fn cached<K: std::hash::Hash + Eq, V: Clone>(map: &Mutex<HashMap<K, V>>, key: &K) -> Option<V> {
    map.lock().ok()?.get(key).cloned()
}

fn keep<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    if let Ok(mut m) = map.lock() {
        m.insert(key, value);
    }
}

/// The value `map` keeps for `key`, else what `read` gives (kept; a failed read is logged as
/// `what` not read, gives the empty value and is not kept). `read` is only awaited on a miss.
async fn read_once<K, V, E>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    what: &str,
    read: impl std::future::Future<Output = Result<V, E>>,
) -> V
where
    K: std::hash::Hash + Eq,
    V: Clone + Default,
    E: std::fmt::Display,
{
    if let Some(value) = cached(map, &key) {
        return value;
    }
    match read.await {
        Ok(value) => {
            keep(map, key, value.clone());
            value
        }
        Err(e) => {
            warn!(error = %e, "{what} not read for the diagnosis");
            V::default()
        }
    }
}

impl Facts {
    /// Facts that start with the router's NLB addresses already read (`GET /routes/{id}` shows
    /// them anyway).
    pub fn knowing_nlb_ips(router: &str, ips: &[String]) -> Self {
        let facts = Self::default();
        let view = NlbView {
            private_ips: ips.iter().filter_map(|ip| ip.parse().ok()).collect(),
            security_groups: vec![],
        };
        keep(&facts.nlbs, format!("{router}#ips"), view);
        facts
    }

    /// The router's NLB: its addresses (one DescribeNetworkInterfaces) and, `with_groups`, its
    /// security groups (one DescribeLoadBalancers).
    async fn nlb(&self, ctx: &Context, router: &Router, with_groups: bool) -> NlbView {
        let id = &router.config.id;
        let ips_key = format!("{id}#ips");
        let groups_key = format!("{id}#groups");
        if with_groups {
            if let Some(view) = cached(&self.nlbs, &groups_key) {
                return view;
            }
        }
        let mut view = match cached(&self.nlbs, &ips_key) {
            Some(view) => view,
            None => match ctx.ec2.nlb_private_ips(router).await {
                Ok(ips) => {
                    let view = NlbView {
                        private_ips: ips.iter().filter_map(|ip| ip.parse().ok()).collect(),
                        security_groups: vec![],
                    };
                    keep(&self.nlbs, ips_key, view.clone());
                    view
                }
                Err(e) => {
                    warn!(router = %id, error = %e, "NLB addresses not read for the diagnosis");
                    return NlbView::default();
                }
            },
        };
        if with_groups {
            let arn = &router.config.nlb_arn;
            match ctx.elb.load_balancer_security_groups(arn).await {
                Ok(groups) => {
                    view.security_groups = groups;
                    keep(&self.nlbs, groups_key, view.clone());
                }
                Err(e) => {
                    warn!(router = %id, error = %e, "NLB security groups not read for the diagnosis")
                }
            }
        }
        view
    }

    /// Security groups by id (one DescribeSecurityGroups per distinct set).
    async fn security_groups(&self, ctx: &Context, ids: &[String]) -> Vec<SecurityGroup> {
        let read = ctx.ec2.security_groups(ids);
        read_once(&self.groups, ids.to_vec(), "security groups", read).await
    }

    /// The network ACLs of `subnets` (one DescribeSubnets and one DescribeNetworkAcls per
    /// distinct set).
    async fn network_acls(&self, ctx: &Context, subnets: &[String]) -> Vec<NetworkAcl> {
        let read = ctx.ec2.network_acls(subnets);
        read_once(&self.acls, subnets.to_vec(), "network ACLs", read).await
    }

    /// The database's `max_connect_errors`: its parameter group's value, else the engine
    /// default (one DescribeDBParameters page walk per group; none for a `default.*` group).
    async fn max_connect_errors(
        &self,
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
        let key = (account.to_owned(), group.to_owned());
        if let Some(p) = cached(&self.parameters, &key) {
            return Some(p);
        }
        let found = match ctx
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
                return None;
            }
        };
        if let Some(p) = &found {
            keep(&self.parameters, key, p.clone());
        }
        found
    }
}
