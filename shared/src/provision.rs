//! A route's AWS resources: its target group (with database attributes) and its listener on
//! the route's fixed port. Every step is idempotent, so a retry or the audit finishes a
//! half-done creation, and a missing or altered resource is rebuilt the same way.

use std::collections::BTreeMap;

use serde::Serialize;
use tracing::info;

use crate::context::Context;
use crate::elb::{
    database_attributes, ElbError, TargetGroupSpec, MANAGED_BY, TAG_MANAGED_BY, TAG_ROUTE,
    TAG_ROUTER,
};
use crate::route::{target_group_name, Route};

/// A structural repair made (or, in dry run, wanted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Repair {
    /// The target group did not exist and was created (or adopted by name).
    TargetGroupCreated,
    /// The listener on the route's port did not exist and was created.
    ListenerCreated,
    /// The listener forwarded elsewhere and was pointed back at the route's target group.
    ListenerRetargeted,
    /// The health check differed from the route's and was restored.
    HealthCheckRestored,
    /// Target group attributes differed and were restored.
    AttributesRestored,
}

/// Ownership tags for a route's resources.
pub fn ownership_tags(route: &Route) -> BTreeMap<String, String> {
    let mut tags = route.spec.tags.clone();
    tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());
    tags.insert(TAG_ROUTER.into(), route.router.clone());
    tags.insert(TAG_ROUTE.into(), route.id().to_string());
    tags
}

/// Makes the route's target group and listener exist and match the route. Returns the route
/// with ARNs filled in and the repairs made. Reads first, so a route whose resources are in
/// order costs no write.
pub async fn ensure_resources(
    ctx: &Context,
    route: &Route,
    dry_run: bool,
) -> Result<(Route, Vec<Repair>), ElbError> {
    let router = ctx.fleet.get(&route.router).ok_or_else(|| {
        ElbError::invalid(
            "provision",
            format!("router {} is not configured", route.router),
        )
    })?;
    let mut route = route.clone();
    let mut repairs = Vec::new();
    let name = target_group_name(&route.router, route.id().as_str());
    let attributes = database_attributes(ctx.config.deregistration_delay_secs);

    let tg = match ctx.elb.target_group_by_name(&name).await? {
        Some(tg) => {
            if tg.health_check != route.spec.health_check {
                repairs.push(Repair::HealthCheckRestored);
                if !dry_run {
                    ctx.elb
                        .set_health_check(&tg.arn, route.spec.health_check)
                        .await?;
                }
            }
            let current = ctx.elb.attributes(&tg.arn).await?;
            if attributes.iter().any(|(k, v)| current.get(k) != Some(v)) {
                repairs.push(Repair::AttributesRestored);
                if !dry_run {
                    ctx.elb.set_attributes(&tg.arn, &attributes).await?;
                }
            }
            tg.arn
        }
        None => {
            repairs.push(Repair::TargetGroupCreated);
            if dry_run {
                return Ok((route, repairs));
            }
            let spec = TargetGroupSpec {
                name,
                vpc_id: router.vpc_id.clone(),
                port: route.spec.port,
                health_check: route.spec.health_check,
                tags: ownership_tags(&route),
            };
            ctx.elb.ensure_target_group(&spec, &attributes).await?
        }
    };
    route.target_group_arn = Some(tg.clone());

    let listeners = ctx.elb.listeners(&router.config.nlb_arn).await?;
    match listeners.iter().find(|l| l.port == route.listener_port) {
        Some(l) if l.forward_to.as_deref() == Some(tg.as_str()) => {
            route.listener_arn = Some(l.arn.clone());
        }
        Some(l) => {
            let tags = ctx.elb.tags_of(std::slice::from_ref(&l.arn)).await?;
            let ours = tags
                .get(&l.arn)
                .and_then(|t| t.get(TAG_ROUTE))
                .is_some_and(|r| r == route.id().as_str());
            if !ours {
                return Err(ElbError {
                    operation: "CreateListener",
                    code: Some("ListenerPortTaken".into()),
                    message: format!(
                        "port {} on router {} is used by a listener the router does not own",
                        route.listener_port, route.router
                    ),
                });
            }
            repairs.push(Repair::ListenerRetargeted);
            if !dry_run {
                ctx.elb.set_listener_target(&l.arn, &tg).await?;
            }
            route.listener_arn = Some(l.arn.clone());
        }
        None => {
            repairs.push(Repair::ListenerCreated);
            if !dry_run {
                let arn = ctx
                    .elb
                    .create_listener(
                        &router.config.nlb_arn,
                        route.listener_port,
                        &tg,
                        &ownership_tags(&route),
                    )
                    .await?;
                route.listener_arn = Some(arn);
            }
        }
    }
    for r in &repairs {
        info!(route_id = %route.id(), repair = ?r, dry_run, "structural repair");
    }
    Ok((route, repairs))
}
