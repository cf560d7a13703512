//! The catalog: each route's consumer address and connection strings, and each router's
//! private endpoint rule domain names (`GET /catalog`, `plr catalog`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::adapters::aws::elb::Targets;
use crate::context::Context;
use crate::domain::catalog::{
    connection_urls, consumer_address, rule_domain_names, tls_names_capacity, ConnectionUrls,
    ConsumerAddress,
};
use crate::domain::health::{summarize, Health};
use crate::domain::route::{Engine, RouteId, RouteStatus};

use super::{list, nlb_private_ips, Caller, ListFilter, ServiceError};

/// One route as a consumer sees it (`GET /catalog`, `plr catalog`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CatalogEntry {
    /// The route.
    pub route: RouteId,
    /// Its router (NLB and endpoint service).
    pub router: String,
    /// The router's VPC endpoint service (a private endpoint rule's `endpoint_service`);
    /// null when the router is not configured here.
    pub endpoint_service_name: Option<String>,
    /// Where a consumer connects; null when there is nowhere yet (see `notes`).
    pub consumer: Option<ConsumerAddress>,
    /// The database engine; null when unknown (see `notes`).
    pub engine: Option<Engine>,
    /// Connection strings for the engine at the consumer address; null without either.
    pub urls: Option<ConnectionUrls>,
    /// Seconds a connection may carry no bytes before the route's listener closes it
    /// (`tcp.idle_timeout.seconds`). Through a PrivateLink endpoint the endpoint's own limit
    /// may be shorter: see the README's "Idle connections".
    #[schemars(range(min = 60, max = 6000))]
    pub idle_timeout_seconds: u32,
    /// Lifecycle state.
    pub status: RouteStatus,
    /// Whether its targets take connections now; null when ELB could not be read.
    pub health: Option<Health>,
    /// The NLB's private IPs: the database's security group must admit them (client IP
    /// preservation is off for IP targets over TCP).
    pub nlb_private_ips: Vec<String>,
    /// What is missing for a working connection, each with the fix. Empty when none.
    pub notes: Vec<String>,
}

/// A router's private endpoint rule as its routes need it: the domain names to give it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RuleNames {
    /// The router.
    pub router: String,
    /// The rule's `endpoint_service`.
    pub endpoint_service_name: String,
    /// The rule's `domain_names`: the consumer domain, then the TLS names of the routes
    /// (for callers who are no admin, of their routes only: see `complete`).
    pub domain_names: Vec<String>,
    /// True when `domain_names` is the rule's whole list (the caller is an admin); false when
    /// other owners' names are left out — then it is no value to give the rule.
    pub complete: bool,
    /// Domain names the rule has room for still (10 per rule).
    pub room: usize,
}

/// A page of the catalog and the rules behind it.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The routes of the page.
    pub routes: Vec<CatalogEntry>,
    /// The private endpoint rules of the routes' routers.
    pub rules: Vec<RuleNames>,
    /// Continue after this route id; `None` on the last page.
    pub next: Option<String>,
}

/// The catalog: every route the caller may see (filtered and paged as [`list`]) with its
/// consumer address, connection strings, health and the NLB IPs its database must admit,
/// and the domain names each of their routers' private endpoint rules must carry. Reads one
/// DescribeTargetHealth per route (eight at a time) and the NLB's network interfaces once
/// per router.
pub async fn catalog(
    ctx: &Context,
    caller: &Caller,
    filter: &ListFilter,
) -> Result<Catalog, ServiceError> {
    use futures::stream::{self, StreamExt};
    let (routes, next) = list(ctx, caller, filter).await?;
    let routers: std::collections::BTreeSet<&str> =
        routes.iter().map(|r| r.router.as_str()).collect();
    let mut nlb_ips: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for id in &routers {
        nlb_ips.insert(id, nlb_private_ips(ctx, id).await);
    }
    // Owned inputs: a future borrowing a route would not be `Send` for every lifetime.
    let inputs: Vec<_> = routes
        .iter()
        .map(|r| {
            (
                r.target_group_arn.clone(),
                r.refused.clone(),
                r.conflict.clone(),
                r.arrivals.clone(),
                r.target_quota_full.clone(),
            )
        })
        .collect();
    let healths: Vec<Result<Health, String>> = stream::iter(inputs)
        .map(|(tg, refused, conflict, arrivals, quota_full)| async move {
            let targets = match tg {
                Some(tg) => ctx
                    .elb
                    .describe_targets(&tg)
                    .await
                    .map_err(|e| e.to_string())?,
                None => vec![],
            };
            Ok(summarize(&targets, &refused, conflict.as_deref())
                .with_arrivals(&targets, &arrivals, chrono::Utc::now())
                .target_quota_full(quota_full.as_deref())
                .health)
        })
        .buffered(8)
        .collect()
        .await;
    let entries = routes
        .iter()
        .zip(healths)
        .map(|(route, health)| {
            let router = ctx.config.router(&route.router);
            let consumer = consumer_address(route, router);
            let engine = route.spec.engine;
            let mut notes = Vec::new();
            if consumer.is_none() {
                notes.push(format!(
                    "no consumer address: router {} has no consumer_domain (set it in ROUTER_FLEET, Terraform variable consumer_domain), and the route has no tls_name",
                    route.router
                ));
            }
            if engine.is_none() {
                notes.push("engine unknown: no connection strings; give the route an engine".into());
            }
            if let Err(e) = &health {
                notes.push(format!("health unknown: {e}"));
            }
            CatalogEntry {
                route: route.id().clone(),
                router: route.router.clone(),
                endpoint_service_name: router.map(|r| r.endpoint_service_name.clone()),
                urls: engine.zip(consumer.as_ref()).map(|(e, a)| connection_urls(e, a)),
                consumer,
                engine,
                idle_timeout_seconds: route.idle_timeout(ctx.config.idle_timeout_secs),
                status: route.status,
                health: health.ok(),
                nlb_private_ips: nlb_ips.get(route.router.as_str()).cloned().unwrap_or_default(),
                notes,
            }
        })
        .collect();
    let ids: Vec<&str> = routers.iter().copied().collect();
    let loads = ctx.store.router_loads(&ids).await?;
    let admin = caller.is_admin(ctx);
    let own_names: std::collections::BTreeSet<String> = routes
        .iter()
        .filter(|r| r.spec.tls_name)
        .map(|r| r.spec.host.to_string())
        .collect();
    let rules = routers
        .iter()
        .filter_map(|id| ctx.config.router(id))
        .map(|router| {
            let held = loads
                .get(&router.id)
                .map(|l| l.tls_names.clone())
                .unwrap_or_default();
            let visible = if admin {
                held.clone()
            } else {
                held.intersection(&own_names).cloned().collect()
            };
            RuleNames {
                router: router.id.clone(),
                endpoint_service_name: router.endpoint_service_name.clone(),
                domain_names: rule_domain_names(router, &visible),
                complete: admin || visible.len() == held.len(),
                room: tls_names_capacity(router).saturating_sub(held.len()),
            }
        })
        .collect();
    Ok(Catalog {
        routes: entries,
        rules,
        next,
    })
}
