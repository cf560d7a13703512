//! What a route's database is, learned at creation from the router's RDS API: its account,
//! its engine, and which RDS identifier's events concern it when that is not the name's own
//! (a custom endpoint's cluster, a proxy endpoint's proxy, a global database's member
//! clusters).

use tracing::info;

use crate::adapters::aws::rds::GlobalCluster;
use crate::adapters::aws::store::event_aliases::EventAlias;
use crate::context::Context;
use crate::domain::host::{parse_rds_endpoint, RdsEndpoint, RdsEndpointKind};
use crate::domain::route::{Engine, Route, RouteSpec};

/// Fills what the router's own RDS API can tell about a request's database: its account
/// (the router's own, when an instance, cluster, custom endpoint, RDS Proxy endpoint or
/// global database of that identifier exists there **with this very endpoint name**), its
/// engine when not given, and the identifier whose events concern it when that is not the
/// name's own: the cluster of a custom endpoint, the proxy of an added proxy endpoint; a
/// global writer endpoint's member clusters become event aliases ([`learn_global`]). Changes
/// nothing for another account's database the router cannot read, a name that is not an RDS
/// endpoint, or when the RDS API is off or fails (the calls have short timeouts).
pub(super) async fn learn_from_rds(ctx: &Context, spec: &mut RouteSpec, explicit_identifier: bool) {
    let Some(endpoint) = parse_rds_endpoint(spec.host.as_str()) else {
        return;
    };
    let own = ctx.config.own_account();
    let account = spec.account.clone().unwrap_or_else(|| own.clone());
    if !ctx.rds.reads(&account, &endpoint) {
        return;
    }
    if endpoint.kind == RdsEndpointKind::GlobalWriter {
        learn_global(ctx, spec, &account, &endpoint).await;
        return;
    }
    let needs_account = spec.account.is_none();
    let needs_engine = spec.engine.is_none() && account == own;
    let needs_proxy = endpoint.kind == RdsEndpointKind::ProxyEndpoint && !explicit_identifier;
    if needs_account || needs_engine || needs_proxy {
        match ctx
            .rds
            .find_database(&account, spec.host.as_str(), &endpoint)
            .await
        {
            Ok(Some(database)) => {
                spec.account = Some(account.clone());
                if needs_engine {
                    spec.engine = database.engine.as_deref().and_then(Engine::from_rds);
                }
                if let (true, Some(proxy)) = (needs_proxy, database.events_from) {
                    // RDS Proxy events name the proxy, not its added endpoint.
                    spec.rds_identifier = Some(proxy);
                }
            }
            Ok(None) => {}
            Err(e) => {
                info!(route_id = %spec.id, error = %e, "account and engine of the database not learned");
            }
        }
    }
    if endpoint.kind == RdsEndpointKind::ClusterCustom && !explicit_identifier {
        match ctx
            .rds
            .custom_endpoint(&account, &endpoint.identifier)
            .await
        {
            Ok(custom) if custom.endpoint == spec.host.as_str().trim_end_matches('.') => {
                // Cluster events (failover, topology) name the cluster, not the endpoint.
                spec.rds_identifier = Some(custom.cluster);
            }
            Ok(_) => {}
            Err(e) => {
                info!(route_id = %spec.id, error = %e, "cluster of the custom endpoint not learned");
            }
        }
    }
}

/// A private alias (a name that is no RDS endpoint, whose CNAME chain leads to `endpoint`):
/// the route's events are the endpoint's — its identifier, or what [`learn_from_rds`] learns
/// for it (a custom endpoint's cluster, a proxy endpoint's proxy) — and its account and engine
/// are the endpoint's database's, so cluster events reach the alias's route. Nothing when the
/// request names its own `rds_identifier` (or `rds_arn`). The events path follows the chain again at each
/// event, and a deletion event ends such a route only once its own name answers NXDOMAIN (the
/// alias may point elsewhere by then).
pub(super) async fn learn_from_alias(ctx: &Context, spec: &mut RouteSpec, endpoint: &str) {
    if spec.rds_identifier.is_some() || parse_rds_endpoint(spec.host.as_str()).is_some() {
        return;
    }
    let Ok(host) = crate::domain::host::HostName::parse(endpoint) else {
        return;
    };
    let mut followed = spec.clone();
    followed.rds_identifier = parse_rds_endpoint(host.as_str()).map(|e| e.identifier);
    followed.host = host.clone();
    learn_from_rds(ctx, &mut followed, false).await;
    spec.follows = Some(host);
    spec.rds_identifier = followed.rds_identifier;
    spec.account = spec.account.take().or(followed.account);
    spec.engine = spec.engine.or(followed.engine);
}

/// A global writer endpoint (`<global>.global-<hash>.global.rds.amazonaws.com`): the global
/// database DescribeGlobalClusters shows with this very writer endpoint gives the account and
/// engine, and each member cluster its event alias ([`alias_member_clusters`]).
async fn learn_global(ctx: &Context, spec: &mut RouteSpec, account: &str, endpoint: &RdsEndpoint) {
    let Some(global) =
        alias_member_clusters(ctx, spec.id.as_str(), spec.host.as_str(), account, endpoint).await
    else {
        return;
    };
    spec.account = Some(account.to_owned());
    if spec.engine.is_none() {
        spec.engine = global.engine.as_deref().and_then(Engine::from_rds);
    }
}

/// Reads the global database of a global writer endpoint `host` in `account` and gives each
/// member cluster (in its own region) an event alias to the global database, so a switchover's
/// or failover's cluster events (RDS-EVENT-0397 "Aurora finished changing the DNS name that
/// the global writer endpoint resolves to", 0185, 0238…), which the member clusters send from
/// their regions naming themselves, reach the route (Aurora user guide, "Using switchover or
/// failover in Amazon Aurora Global Database"). `None` (logged) when the RDS API cannot say or
/// shows another writer endpoint for that name. Cost: one DescribeGlobalClusters and one
/// PutItem per member. Run at creation and by every full audit, which sees members added later.
pub(crate) async fn alias_member_clusters(
    ctx: &Context,
    route_id: &str,
    host: &str,
    account: &str,
    endpoint: &RdsEndpoint,
) -> Option<GlobalCluster> {
    let global = match ctx.rds.global_cluster(account, &endpoint.identifier).await {
        Ok(global) => global,
        Err(e) => {
            info!(route_id, error = %e, "global database not read");
            return None;
        }
    };
    if global.endpoint.as_deref() != Some(host.trim_end_matches('.')) {
        info!(route_id, found = ?global.endpoint, "account {account}'s global database of that name has another writer endpoint");
        return None;
    }
    let aliases: Vec<EventAlias> = global
        .members
        .iter()
        .map(|m| EventAlias {
            account: m.account.clone(),
            region: m.region.clone(),
            identifier: m.cluster.clone(),
            target: endpoint.identifier.clone(),
        })
        .collect();
    if let Err(e) = ctx.store.put_event_aliases(&aliases).await {
        info!(route_id, error = %e, "member clusters' events not aliased to the global database");
    }
    Some(global)
}

/// [`alias_member_clusters`] for a stored route of a global writer endpoint whose account is
/// known and readable; nothing for any other route.
pub(crate) async fn refresh_event_aliases(ctx: &Context, route: &Route) {
    let (Some(endpoint), Some(account)) = (
        parse_rds_endpoint(route.spec.host.as_str()),
        route.spec.account.as_deref(),
    ) else {
        return;
    };
    if endpoint.kind == RdsEndpointKind::GlobalWriter && ctx.rds.reads(account, &endpoint) {
        alias_member_clusters(
            ctx,
            route.id().as_str(),
            route.spec.host.as_str(),
            account,
            &endpoint,
        )
        .await;
    }
}
