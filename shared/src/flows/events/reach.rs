//! Which routes an RDS event reaches, and what it may do to each beyond its table action:
//! the identifiers an event names (its source, a cluster rename's two names, a Blue/Green
//! deployment's databases), a global database's member clusters through their event aliases,
//! and the guards that keep an event from ending a route whose own name still answers.

use std::collections::{btree_map::Entry, BTreeMap, BTreeSet};

use tracing::{info, warn};

use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::host::{parse_rds_endpoint, RdsEndpointKind};
use crate::domain::rds_events::Action;
use crate::domain::route::Route;
use crate::flows::events::{EventError, RdsEvent};
use crate::reconcile::observe::followed_endpoint;

/// The routes an event reaches, by id, and the ids reached only through an event alias (a
/// global database's member cluster → the global writer endpoint's routes,
/// [`crate::adapters::aws::store::event_aliases`]).
pub(super) struct Reached {
    /// Route id → route.
    pub routes: BTreeMap<String, Route>,
    /// Ids reached only through an alias.
    pub aliased: BTreeSet<String>,
}

/// Finds the routes of `identifiers`, and for a cluster event the global writer endpoint
/// routes its cluster's alias leads to (one GetItem per identifier).
pub(super) async fn routes_reached(
    ctx: &Context,
    event: &RdsEvent,
    identifiers: &BTreeSet<String>,
) -> Result<Reached, EventError> {
    let mut routes = BTreeMap::new();
    for identifier in identifiers {
        for route in ctx.store.by_rds_identifier(identifier).await? {
            routes.insert(route.id().to_string(), route);
        }
    }
    let mut aliased = BTreeSet::new();
    if event.detail_type == "RDS DB Cluster Event" {
        for identifier in identifiers {
            let Some(target) = ctx
                .store
                .event_alias(&event.account, &event.region, identifier)
                .await?
            else {
                continue;
            };
            for route in ctx.store.by_rds_identifier(&target).await? {
                if kind_of(&route) != Some(RdsEndpointKind::GlobalWriter) {
                    continue; // a route that merely shares the global database's name
                }
                if let Entry::Vacant(slot) = routes.entry(route.id().to_string()) {
                    aliased.insert(slot.key().clone());
                    slot.insert(route);
                }
            }
        }
    }
    Ok(Reached { routes, aliased })
}

/// For a Blue/Green deployment's own event (`SourceIdentifier` `bgd-…`: RDS-EVENT-0248
/// "Switchover completed on blue/green deployment." names no database), the databases the
/// deployment concerns, cluster instances included, from the RDS API of the event's account
/// where the router reads it ([`crate::adapters::aws::rds::Rds::blue_green_databases`]); empty
/// otherwise, or when the call fails (logged: the per-database events 0251/0260 and the watch
/// still follow). One DescribeBlueGreenDeployments per such event.
pub(super) async fn blue_green_databases(ctx: &Context, event: &RdsEvent) -> BTreeSet<String> {
    let deployment = event.source_identifier.as_str();
    if !event.is_blue_green()
        || !deployment.starts_with("bgd-")
        || !ctx.rds.covers(&event.account, &event.region)
    {
        return BTreeSet::new();
    }
    match ctx
        .rds
        .blue_green_databases(&event.account, deployment)
        .await
    {
        Ok(names) => names,
        Err(e) => {
            warn!(deployment, error = %e, "the Blue/Green deployment's databases not read; its per-database events still follow");
            BTreeSet::new()
        }
    }
}

/// The new name of the cluster a route's name belonged to, when `event` is RDS-EVENT-0172
/// renaming it: only for a route on the cluster's own writer or reader endpoint (or an alias
/// leading to one), whose name carries the cluster's identifier and stops resolving. A custom
/// endpoint keeps its name through a rename.
pub(super) fn renamed_away(event: &RdsEvent, route: &Route) -> Option<String> {
    let (from, to) = event.cluster_renamed()?;
    let own = match parse_rds_endpoint(route.spec.host.as_str()) {
        Some(e) => {
            matches!(
                e.kind,
                RdsEndpointKind::ClusterWriter | RdsEndpointKind::ClusterReader
            ) && e.identifier == from
        }
        None => route.spec.rds_identifier.as_deref() == Some(from.as_str()),
    };
    own.then_some(to)
}

/// For RDS-EVENT-0172, the cluster's new identifier when `route` is a custom endpoint of the
/// renamed cluster: its own name stays (a custom endpoint is named on its own), but the
/// cluster's later events name the new identifier, which the route is indexed by from now on.
pub(super) fn custom_endpoint_renamed(event: &RdsEvent, route: &Route) -> Option<String> {
    let (from, to) = event.cluster_renamed()?;
    (kind_of(route) == Some(RdsEndpointKind::ClusterCustom)
        && route.spec.rds_identifier.as_deref() == Some(from.as_str()))
    .then_some(to)
}

/// Why a deletion event must not end `route` at once, when it must not: its account is
/// unknown (a same-named database elsewhere), it is a global writer endpoint (whose member
/// clusters come and go while the global name answers), or it is a private alias whose
/// events were learned from its chain (`follows`) that leads elsewhere now. The caller then
/// ends it only once its own name answers NXDOMAIN. A name with an explicit identifier (a
/// private A record, an IP literal) is ended at once, as its database is gone. One DNS lookup
/// for an alias.
pub(super) async fn deletion_needs_nxdomain(
    ctx: &Context,
    route: &Route,
    aliased: bool,
) -> Option<&'static str> {
    if aliased {
        return Some("a member cluster of the global database, through its alias");
    }
    if route.spec.account.is_none() {
        return Some("the route's account is unknown");
    }
    if kind_of(route) == Some(RdsEndpointKind::GlobalWriter) {
        return Some("a global writer endpoint");
    }
    // A private alias whose events were learned from its chain: does it still lead there?
    let follows = route.spec.follows.as_ref()?;
    let now = followed_endpoint(ctx, route.spec.host.as_str()).await;
    (now.as_deref() != Some(follows.as_str()))
        .then_some("a private alias that leads to another database now")
}

/// A member cluster's creation neither creates the global database nor brings it back:
/// through an alias, created and deleted events only re-resolve.
pub(super) fn through_alias(action: Action, aliased: bool) -> Action {
    match action {
        Action::Created | Action::Deleted if aliased => Action::Reresolve,
        other => other,
    }
}

fn kind_of(route: &Route) -> Option<RdsEndpointKind> {
    parse_rds_endpoint(route.spec.host.as_str()).map(|e| e.kind)
}

/// Logs why a deletion event only re-resolves a route.
pub(super) fn log_not_deleted(route: &Route, event: &RdsEvent, why: &str) {
    info!(route_id = %route.id(), event_account = %event.account, why, "deletion event for a route whose name still resolves: re-resolved, not deleted");
}
