//! Where a new route goes: its record written with a listener port on a router with room (an
//! allocated, pinned or reused port, and a TLS name when asked), in one transaction; and the 409
//! for a route that exists otherwise than asked.

use super::{Caller, ServiceError};
use crate::adapters::aws::elb::{ListenerInfo, TAG_ROUTE};
use crate::adapters::aws::store::ports::{Allocation, OwnerQuota};
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::catalog::{tls_names_capacity, DOMAIN_NAMES_PER_RULE};
use crate::domain::exposure::Denial;
use crate::domain::ports::{free_ports, pick, PortEntry};
use crate::domain::route::PortPin;
use crate::domain::route::{Route, RouteSpec, RouteStatus};
use crate::domain::target_budget::TargetLoad;
use crate::domain::window::Sightings;
use chrono::Utc;
use std::collections::BTreeMap;
use tracing::info;

/// The 409 for a route that exists otherwise than asked: which fields differ (as the API
/// names them), or that it is another principal's.
pub(super) fn conflict(
    ctx: &Context,
    caller: &Caller,
    existing: &Route,
    wanted: &RouteSpec,
) -> ServiceError {
    let id = wanted.id.to_string();
    if existing.owner != caller.principal && !caller.is_admin(ctx) {
        return ServiceError::Conflict {
            id,
            differs: "another owner".into(),
        };
    }
    let fields = |spec: &RouteSpec| match serde_json::to_value(spec) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (have, want) = (fields(&existing.spec), fields(wanted));
    let mut keys: Vec<&String> = have.keys().chain(want.keys()).collect();
    keys.sort();
    keys.dedup();
    let differing: Vec<&str> = keys
        .into_iter()
        .filter(|k| have.get(*k) != want.get(*k))
        .map(|k| {
            if k == "pin" {
                "listener_port"
            } else {
                k.as_str()
            }
        })
        .collect();
    let differs = match differing.is_empty() {
        true => "a different definition".to_owned(),
        false => format!("a different {}", differing.join(", ")),
    };
    ServiceError::Conflict { id, differs }
}

/// Finds or writes the route record with a port on a router with room: a free listener
/// (at most 50 per NLB) and, unless the port is pinned, room for `targets_needed` targets
/// within the NLB's target budget ([`TargetLoad::has_room_for`]).
pub(super) async fn allocate(
    ctx: &Context,
    caller: &Caller,
    spec: RouteSpec,
    owner_quota: Option<OwnerQuota>,
    targets_needed: usize,
) -> Result<(Route, bool), ServiceError> {
    for attempt in 0..200u32 {
        if let Some(existing) = ctx.store.get(&spec.id).await? {
            if existing.spec != spec || existing.owner != caller.principal && !caller.is_admin(ctx)
            {
                return Err(conflict(ctx, caller, &existing, &spec));
            }
            return Ok((existing, false));
        }
        let now = Utc::now();
        let mut full = Vec::new();
        let mut tls_full = Vec::new();
        let mut targets_full = Vec::new();
        let budget = ctx.config.targets_per_nlb;
        // One read of every router's load (listeners, TLS names); only a router with room has
        // its port table and listeners read, so a full fleet costs no more than its loads.
        let ids: Vec<&str> = ctx.fleet.keys().map(String::as_str).collect();
        let loads = ctx.store.router_loads(&ids).await?;
        let host = spec.host.as_str();
        if spec.tls_name {
            // A name resolves to one private endpoint: a TLS name already on a rule — as
            // another route's, or as a router's consumer domain — cannot be added again.
            let held = loads
                .iter()
                .find(|(_, l)| l.tls_names.contains(host))
                .map(|(router, _)| router.clone())
                .or_else(|| {
                    ctx.config
                        .fleet
                        .iter()
                        .find(|r| r.consumer_domain.as_deref() == Some(host))
                        .map(|r| r.id.clone())
                });
            if let Some(router) = held {
                return Err(ServiceError::TlsNameTaken {
                    host: host.to_owned(),
                    router,
                });
            }
        }
        let tls_room = |id: &str| {
            !spec.tls_name
                || loads.get(id).map_or(0, |l| l.tls_names.len()) < tls_names_cap(ctx, id)
        };
        let mut chosen = None;
        if let Some(pin) = &spec.pin {
            let (router, port) = pinned(ctx, pin, &spec, now.timestamp()).await?;
            if !tls_room(&router) {
                return Err(ServiceError::TlsNamesFull(format!(
                    "router {router}, the pinned port's"
                )));
            }
            chosen = Some((router, port));
        }
        for router in ctx.fleet.values().filter(|_| chosen.is_none()) {
            let id = &router.config.id;
            let listeners = loads.get(id).map_or(0, |l| l.listeners);
            if listeners >= crate::domain::ports::MAX_LISTENERS_PER_NLB {
                full.push(id.clone());
                continue;
            }
            if !tls_room(id) {
                tls_full.push(id.clone());
                continue;
            }
            let (entries, active): (Vec<PortEntry>, u32) = ctx.store.ports(id).await?;
            if active >= crate::domain::ports::MAX_LISTENERS_PER_NLB {
                full.push(id.clone());
                continue;
            }
            let load = target_load(ctx, &entries).await?;
            if !load.has_room_for(targets_needed, budget) {
                targets_full.push(format!("{id} ({} of {budget} targets)", load.registered));
                continue;
            }
            let live = live_listeners(ctx, &router.config.id).await?;
            let mut free = free_ports(ctx.config.port_range, &entries, now.timestamp());
            free.retain(|p| !live.contains_key(p));
            match pick(&free, spec.id.as_str(), attempt) {
                Some(port) => {
                    chosen = Some((router.config.id.clone(), port));
                    break;
                }
                None => full.push(router.config.id.clone()),
            }
        }
        let Some((router, port)) = chosen else {
            if !tls_full.is_empty() {
                return Err(ServiceError::TlsNamesFull(tls_full.join(", ")));
            }
            if !targets_full.is_empty() {
                let listeners_full = match full.is_empty() {
                    true => String::new(),
                    false => format!("; at 50 listeners: {}", full.join(", ")),
                };
                return Err(ServiceError::CapacityExhausted(format!(
                    "no router has room for {} more target(s) and a failover of its largest route within the NLB's {budget} targets (ROUTER_TARGETS_PER_NLB: the quota with cross-zone load balancing; a target in N target groups counts N times): {}{listeners_full}; remove routes, add a router to ROUTER_FLEET, or have AWS raise the quota and set ROUTER_TARGETS_PER_NLB",
                    targets_needed.max(1),
                    targets_full.join(", ")
                )));
            }
            return Err(ServiceError::CapacityExhausted(format!(
                "every router is full (50 listeners per NLB, ports {}-{}): {}",
                ctx.config.port_range.0,
                ctx.config.port_range.1,
                full.join(", ")
            )));
        };
        let route = Route {
            spec: spec.clone(),
            owner: caller.principal.clone(),
            router,
            listener_port: port,
            status: RouteStatus::Provisioning,
            target_group_arn: None,
            listener_arn: None,
            sightings: Sightings::default(),
            resolutions: vec![],
            arrivals: vec![],
            refused: vec![],
            conflict: None,
            target_quota_full: None,
            unapplied: false,
            applying_until: None,
            name_gone_since: None,
            renamed_to: None,
            answers_sampled: false,
            ceded: Default::default(),
            deployment_tagged: true,
            quota_counted: owner_quota.is_some(),
            last_event_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let cap = tls_names_cap(ctx, &route.router);
        match ctx.store.allocate(&route, cap, owner_quota).await? {
            Allocation::Done => {
                info!(route_id = %route.id(), router = %route.router, port, "port allocated");
                return Ok((route, true));
            }
            Allocation::PortTaken if spec.pin.is_some() => continue,
            Allocation::RouterFull
                if spec.pin.is_some()
                    && loads.get(&route.router).map_or(0, |l| l.listeners)
                        >= crate::domain::ports::MAX_LISTENERS_PER_NLB - 1 =>
            {
                return Err(ServiceError::CapacityExhausted(format!(
                    "router {} has 50 listeners (the NLB limit): the pinned port cannot be added",
                    route.router
                )))
            }
            Allocation::OwnerQuotaReached => {
                let q = ctx.config.exposure.quotas;
                let (what, limit) = match owner_quota {
                    Some(o)
                        if spec.tls_name
                            && o.tls_names_limit > 0
                            && o.tls_names_held + 1 >= o.tls_names_limit =>
                    {
                        ("tls_names_per_owner", q.tls_names_per_owner)
                    }
                    _ => ("routes_per_owner", q.routes_per_owner),
                };
                return Err(Denial::Quota {
                    what,
                    limit,
                    detail: format!(
                        "{} reached it with a create running at the same time",
                        caller.principal
                    ),
                }
                .into());
            }
            Allocation::TlsNameTaken(holder) => {
                return Err(ServiceError::TlsNameTaken {
                    host: spec.host.to_string(),
                    router: holder.unwrap_or_else(|| "another".into()),
                })
            }
            Allocation::RouteExists | Allocation::PortTaken | Allocation::RouterFull => continue,
            Allocation::Contended => {
                tokio::time::sleep(std::time::Duration::from_millis(
                    10 + u64::from(attempt % 7) * 15,
                ))
                .await;
            }
        }
    }
    Err(ServiceError::Busy(spec.id.to_string()))
}

/// A router's targets as its routes keep them (one BatchGetItem of their `sightings` per 100
/// routes; none for a router with no route). Cheaper than ELB's own count (a
/// DescribeTargetHealth per target group, which grows with the router and would make every
/// create of a bulk import throttle the ELBv2 API), and enough for placement: what it misses
/// (draining targets, other deployments' target groups on the same NLB) ELB still refuses
/// safely (`TooManyTargets`: the route keeps its targets and says why).
async fn target_load(ctx: &Context, entries: &[PortEntry]) -> Result<TargetLoad, ServiceError> {
    let routes: Vec<&str> = entries
        .iter()
        .filter(|e| e.state == "allocated")
        .map(|e| e.route_id.as_str())
        .collect();
    let mut load = TargetLoad::default();
    if !routes.is_empty() {
        for n in ctx.store.route_target_counts(&routes).await? {
            load.add_group(n);
        }
    }
    Ok(load)
}

/// How many TLS names a router's private endpoint rule has room for ([`tls_names_capacity`];
/// a router not configured here has the whole rule).
pub(super) fn tls_names_cap(ctx: &Context, router: &str) -> usize {
    ctx.config
        .router(router)
        .map_or(DOMAIN_NAMES_PER_RULE, tls_names_capacity)
}

/// The router a pinned port is on: the pin's, else the fleet's first (also where a route
/// without a pin is previewed).
pub(super) fn pin_router(ctx: &Context, pin: Option<&PortPin>) -> String {
    match pin.and_then(|p| p.router.clone()) {
        Some(r) => r,
        None => ctx
            .config
            .fleet
            .first()
            .map(|r| r.id.clone())
            .unwrap_or_default(),
    }
}

/// The router and port of a pin, or why it cannot have them: the port is held by another route,
/// or quarantined after a route released it.
pub(super) async fn pinned(
    ctx: &Context,
    pin: &PortPin,
    spec: &RouteSpec,
    now: i64,
) -> Result<(String, u16), ServiceError> {
    let route_id = spec.id.as_str();
    let router = pin_router(ctx, Some(pin));
    let (entries, _) = ctx.store.ports(&router).await?;
    if let Some(e) = entries.iter().find(|e| e.port == pin.port) {
        let held = e.state == "allocated" && e.route_id != route_id;
        let quarantined = e.state == "quarantined" && e.until.is_none_or(|u| u >= now);
        if held || quarantined {
            return Err(ServiceError::PortPinned {
                router,
                port: pin.port,
                holder: if held {
                    e.route_id.clone()
                } else {
                    format!("quarantine (released by {})", e.route_id)
                },
            });
        }
    }
    if let Some(listener) = live_listeners(ctx, &router).await?.remove(&pin.port) {
        if !listener_is_the_routes(ctx, &listener, spec).await? {
            return Err(ServiceError::PortServed {
                router,
                port: pin.port,
                listener: listener.arn,
            });
        }
    }
    Ok((router, pin.port))
}

/// The router's live listeners by port (one DescribeListeners): a port a listener serves is not
/// free, whatever the port table says (a seed deployment's listeners are in no table).
pub(super) async fn live_listeners(
    ctx: &Context,
    router: &str,
) -> Result<BTreeMap<u16, ListenerInfo>, ServiceError> {
    let Some(r) = ctx.fleet.get(router) else {
        return Ok(BTreeMap::new());
    };
    Ok(ctx
        .elb
        .listeners(&r.config.nlb_arn)
        .await?
        .into_iter()
        .map(|l| (l.port, l))
        .collect())
}

/// True when a live listener on a route's pinned port is the route's own: tagged with its id
/// (an earlier attempt), or forwarding to the target group it adopts (`plr adopt`).
pub(super) async fn listener_is_the_routes(
    ctx: &Context,
    listener: &ListenerInfo,
    spec: &RouteSpec,
) -> Result<bool, ServiceError> {
    if let (Some(adopted), Some(forward)) = (&spec.target_group, &listener.forward_to) {
        if let Some(tg) = ctx.elb.target_group_by_name(adopted).await? {
            if &tg.arn == forward {
                return Ok(true);
            }
        }
    }
    let tags = ctx.elb.tags_of(std::slice::from_ref(&listener.arn)).await?;
    Ok(tags
        .get(&listener.arn)
        .and_then(|t| t.get(TAG_ROUTE))
        .is_some_and(|r| r == spec.id.as_str()))
}
