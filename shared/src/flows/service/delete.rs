//! Removing a route: its listener and target group go, its port is quarantined.

use chrono::Utc;
use tracing::info;

use crate::adapters::aws::elb::{TAG_DEPLOYMENT, TAG_ROUTE};
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::route::{Route, RouteStatus};
use crate::reconcile::reconcile;

use super::{get, Caller, ServiceError};

/// Deletes a route: targets, listener, target group, then the record; the port is quarantined.
/// Marks the route `Deleting` first, so a crash midway is finished by a retry or the audit.
pub async fn delete(ctx: &Context, caller: &Caller, id: &str) -> Result<(), ServiceError> {
    let route = get(ctx, caller, id).await?;
    teardown(ctx, route).await
}

/// Removes a route's resources and record (used by delete and by the audit for `Deleting`).
pub async fn teardown(ctx: &Context, mut route: Route) -> Result<(), ServiceError> {
    if route.status != RouteStatus::Deleting {
        route.status = RouteStatus::Deleting;
        route.version += 1;
        route.updated_at = Utc::now();
        ctx.store.save(&route).await?;
    }
    discover_resources(ctx, &mut route).await?;
    if let Some(l) = &route.listener_arn {
        ctx.elb.delete_listener(l).await?;
    }
    if let Some(tg) = route.target_group_arn.clone() {
        let outcome = reconcile(ctx, route.clone(), &[], false).await?;
        route = outcome.route;
        ctx.elb.delete_target_group(&tg).await?;
    }
    let until = Utc::now().timestamp() + ctx.config.port_quarantine.as_secs() as i64;
    ctx.store.release(&route, until).await?;
    info!(route_id = %route.id(), port = route.listener_port, until, "route deleted, port quarantined");
    if route.spec.tls_name {
        crate::flows::rules::sync(ctx, false).await;
    }
    Ok(())
}

/// Fills in ARNs that a creation cut short never recorded — the target group by its
/// deterministic name and our ownership tag — and takes the listener as it is now: the one on
/// the route's port forwarding to its target group, whatever ARN the item says (a listener
/// deleted by hand and recreated by `sync` or the audit has a new ARN; deleting the stale one
/// "succeeds" and the target group delete then fails for ever with `ResourceInUse`). So a
/// teardown leaves nothing behind. Costs one DescribeListeners.
pub(super) async fn discover_resources(
    ctx: &Context,
    route: &mut Route,
) -> Result<(), ServiceError> {
    if route.target_group_arn.is_none() {
        let name = route.target_group_name(&ctx.config.deployment);
        if let Some(tg) = ctx.elb.target_group_by_name(&name).await? {
            let tags = ctx.elb.tags_of(std::slice::from_ref(&tg.arn)).await?;
            let ours = tags.get(&tg.arn).is_some_and(|t| {
                t.get(TAG_ROUTE).is_some_and(|r| r == route.id().as_str())
                    && t.get(TAG_DEPLOYMENT) == Some(&ctx.config.deployment)
            });
            if ours {
                route.target_group_arn = Some(tg.arn);
            }
        }
    }
    if let (Some(router), Some(tg)) = (ctx.fleet.get(&route.router), &route.target_group_arn) {
        let listeners = ctx.elb.listeners(&router.config.nlb_arn).await?;
        if let Some(live) = listeners
            .into_iter()
            .find(|l| l.port == route.listener_port && l.forward_to.as_deref() == Some(tg))
        {
            route.listener_arn = Some(live.arn);
        }
    }
    Ok(())
}
