//! A route's AWS resources: its target group (with database attributes) and its listener on
//! the route's fixed port. Every step is idempotent, so a retry or the audit finishes a
//! half-done creation, and a missing or altered resource is rebuilt the same way.

use std::collections::BTreeMap;

use serde::Serialize;
use tracing::{info, warn};

use crate::adapters::aws::elb::{
    ElbError, ListenerInfo, TargetGroupInfo, TargetGroupSpec, MANAGED_BY, TAG_DEPLOYMENT,
    TAG_MANAGED_BY, TAG_ROUTE, TAG_ROUTER,
};
use crate::context::Context;
use crate::domain::log_fields::tag;
use crate::domain::route::{database_attributes, Route};
use crate::domain::router::Router;

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
    /// The listener's idle timeout (`tcp.idle_timeout.seconds`) differed from the route's and
    /// was restored.
    IdleTimeoutRestored,
    /// The listener had AWS's default idle timeout (350 s) and got the route's: a listener
    /// made before routes had one (a one-time migration, not drift), or set back by hand.
    IdleTimeoutApplied,
}

/// AWS's default TCP idle timeout of a listener (NLB user guide, "Update the TCP idle
/// timeout": 350 s).
const AWS_DEFAULT_IDLE_TIMEOUT: u32 = 350;

/// Ownership tags for a route's resources in `deployment`.
pub fn ownership_tags(deployment: &str, route: &Route) -> BTreeMap<String, String> {
    ownership_tags_of(
        deployment,
        &route.router,
        route.id().as_str(),
        &route.spec.tags,
    )
}

/// Ownership tags for the resources of route `route_id` on `router` of `deployment`, beside
/// its own `tags`: managed-by, deployment, router and route.
pub fn ownership_tags_of(
    deployment: &str,
    router: &str,
    route_id: &str,
    tags: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut tags = tags.clone();
    tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());
    tags.insert(TAG_DEPLOYMENT.into(), deployment.to_owned());
    tags.insert(TAG_ROUTER.into(), router.to_owned());
    tags.insert(TAG_ROUTE.into(), route_id.to_owned());
    tags
}

/// ELBv2 state one audit run reads once and shares among all its routes, so a route in order
/// costs no DescribeTargetGroups or DescribeListeners of its own: every target group (by
/// name, DescribeTargetGroups pages) and every router's listeners (one DescribeListeners per
/// router, all pages).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Every target group of the account and region, by name.
    pub target_groups: BTreeMap<String, TargetGroupInfo>,
    /// Listeners of each router's NLB, by router id.
    pub listeners: BTreeMap<String, Vec<ListenerInfo>>,
}

impl Snapshot {
    /// Reads every target group and, concurrently, the listeners of every router in the fleet.
    pub async fn read(ctx: &Context) -> Result<Self, ElbError> {
        let listeners = futures::future::try_join_all(ctx.fleet.values().map(|router| async {
            let found = ctx.elb.listeners(&router.config.nlb_arn).await?;
            Ok::<_, ElbError>((router.config.id.clone(), found))
        }));
        let (target_groups, listeners) =
            futures::future::try_join(ctx.elb.all_target_groups(), listeners).await?;
        Ok(Self {
            target_groups: target_groups
                .into_iter()
                .map(|tg| (tg.name.clone(), tg))
                .collect(),
            listeners: listeners.into_iter().collect(),
        })
    }
}

fn router_of<'a>(ctx: &'a Context, route: &Route) -> Result<&'a Router, ElbError> {
    ctx.fleet.get(&route.router).ok_or_else(|| {
        ElbError::invalid(
            "provision",
            format!("router {} is not configured", route.router),
        )
    })
}

/// Makes the route's target group and listener exist and match the route. Returns the route
/// with ARNs filled in and the repairs made. Reads first, so a route whose resources are in
/// order costs no write.
pub async fn ensure_resources(
    ctx: &Context,
    route: &Route,
    dry_run: bool,
) -> Result<(Route, Vec<Repair>), ElbError> {
    let router = router_of(ctx, route)?;
    let name = route.target_group_name(&ctx.config.deployment);
    let found = ctx.elb.target_group_by_name(&name).await?;
    let mut route = route.clone();
    let mut repairs = Vec::new();
    let Some(tg) =
        ensure_target_group(ctx, router, &route, found, true, &mut repairs, dry_run).await?
    else {
        return Ok((route, repairs));
    };
    route.target_group_arn = Some(tg.clone());
    let listeners = ctx.elb.listeners(&router.config.nlb_arn).await?;
    let listener = ensure_listener(
        ctx,
        router,
        &mut route,
        Some(&tg),
        &listeners,
        &mut repairs,
        dry_run,
    )
    .await;
    note_conflict(&mut route, listener)?;
    log_repairs(&route, &repairs, dry_run);
    Ok((route, repairs))
}

/// [`ensure_resources`] against a [`Snapshot`] read once per audit run: the target group and
/// listener are looked up in the snapshot, so a route in order costs one
/// DescribeTargetGroupAttributes (ELBv2 has no batch read). In a dry run, a missing target group is
/// reported and the returned route has no target group ARN (there is nothing to reconcile).
pub async fn ensure_resources_with(
    ctx: &Context,
    route: &Route,
    snapshot: &Snapshot,
    dry_run: bool,
) -> Result<(Route, Vec<Repair>), ElbError> {
    let router = router_of(ctx, route)?;
    let name = route.target_group_name(&ctx.config.deployment);
    let found = snapshot.target_groups.get(&name).cloned();
    let mut route = route.clone();
    let mut repairs = Vec::new();
    let tg = ensure_target_group(ctx, router, &route, found, true, &mut repairs, dry_run).await?;
    route.target_group_arn = tg.clone();
    let listeners = snapshot
        .listeners
        .get(&route.router)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let listener = ensure_listener(
        ctx,
        router,
        &mut route,
        tg.as_deref(),
        listeners,
        &mut repairs,
        dry_run,
    )
    .await;
    note_conflict(&mut route, listener)?;
    log_repairs(&route, &repairs, dry_run);
    Ok((route, repairs))
}

/// Restores an existing target group's health check and attributes, or creates it. Returns its
/// ARN; `None` only in a dry run when it does not exist.
async fn ensure_target_group(
    ctx: &Context,
    router: &Router,
    route: &Route,
    found: Option<TargetGroupInfo>,
    check_attributes: bool,
    repairs: &mut Vec<Repair>,
    dry_run: bool,
) -> Result<Option<String>, ElbError> {
    let attributes = database_attributes(ctx.config.deregistration_delay_secs);
    match found {
        Some(tg) => {
            let protocol_drift =
                !tg.health_check_protocol.is_empty() && tg.health_check_protocol != "TCP";
            if tg.health_check != route.spec.health_check || protocol_drift {
                repairs.push(Repair::HealthCheckRestored);
                if !dry_run {
                    ctx.elb
                        .set_health_check(&tg.arn, route.spec.health_check)
                        .await?;
                }
            }
            let current = if check_attributes {
                ctx.elb.attributes(&tg.arn).await?
            } else {
                attributes.clone()
            };
            if attributes.iter().any(|(k, v)| current.get(k) != Some(v)) {
                repairs.push(Repair::AttributesRestored);
                if !dry_run {
                    ctx.elb.set_attributes(&tg.arn, &attributes).await?;
                }
            }
            Ok(Some(tg.arn))
        }
        None => {
            repairs.push(Repair::TargetGroupCreated);
            if dry_run {
                return Ok(None);
            }
            let spec = TargetGroupSpec {
                name: route.target_group_name(&ctx.config.deployment),
                vpc_id: router.vpc_id.clone(),
                port: route.spec.port,
                health_check: route.spec.health_check,
                tags: ownership_tags(&ctx.config.deployment, route),
            };
            Ok(Some(ctx.elb.ensure_target_group(&spec, &attributes).await?))
        }
    }
}

/// Makes the listener on the route's port exist, forward to `tg` (`None`: a dry run whose
/// target group does not exist yet) and close idle flows after the route's idle timeout. A
/// listener on that port without our route tag is an error.
async fn ensure_listener(
    ctx: &Context,
    router: &Router,
    route: &mut Route,
    tg: Option<&str>,
    listeners: &[ListenerInfo],
    repairs: &mut Vec<Repair>,
    dry_run: bool,
) -> Result<(), ElbError> {
    let idle_timeout = route.idle_timeout(ctx.config.idle_timeout_secs);
    match listeners.iter().find(|l| l.port == route.listener_port) {
        Some(l) if tg.is_some() && l.forward_to.as_deref() == tg => {
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
                    code: Some(LISTENER_PORT_TAKEN.into()),
                    message: format!(
                        "port {} on router {} is used by a listener the router does not own ({}): if it is a seed deployment's, take it over with `plr adopt`; if it is a leftover nobody uses, delete it and the audit recreates the route's listener",
                        route.listener_port, route.router, l.arn
                    ),
                });
            }
            repairs.push(Repair::ListenerRetargeted);
            if let (false, Some(tg)) = (dry_run, tg) {
                ctx.elb.set_listener_target(&l.arn, tg).await?;
            }
            route.listener_arn = Some(l.arn.clone());
        }
        None => {
            repairs.push(Repair::ListenerCreated);
            if let (false, Some(tg)) = (dry_run, tg) {
                let arn = ctx
                    .elb
                    .create_listener(
                        &router.config.nlb_arn,
                        route.listener_port,
                        tg,
                        &ownership_tags(&ctx.config.deployment, route),
                    )
                    .await?;
                // CreateListener takes no attributes: the idle timeout is a second call
                // (ModifyListenerAttributes). A failure here leaves AWS's 350 s, which the next
                // audit applies; the route is created either way.
                if let Err(e) = ctx.elb.set_idle_timeout(&arn, idle_timeout).await {
                    warn!(route_id = %route.id(), error = %e, "listener idle timeout not set; the next audit sets it");
                }
                route.listener_arn = Some(arn);
            }
            return Ok(());
        }
    }
    if let Some(arn) = route.listener_arn.clone() {
        // Not fatal: the route's targets are still reconciled; the next audit tries again.
        if let Err(e) = ensure_idle_timeout(ctx, &arn, idle_timeout, repairs, dry_run).await {
            warn!(route_id = %route.id(), error = %e, "listener idle timeout not checked or set; the next audit tries again");
        }
    }
    Ok(())
}

/// Makes the listener's idle timeout `seconds`: [`Repair::IdleTimeoutApplied`] from AWS's
/// default, [`Repair::IdleTimeoutRestored`] from any other value.
async fn ensure_idle_timeout(
    ctx: &Context,
    listener_arn: &str,
    seconds: u32,
    repairs: &mut Vec<Repair>,
    dry_run: bool,
) -> Result<(), ElbError> {
    let current = ctx.elb.idle_timeout(listener_arn).await?;
    if current == Some(seconds) {
        return Ok(());
    }
    repairs.push(match current {
        None | Some(AWS_DEFAULT_IDLE_TIMEOUT) => Repair::IdleTimeoutApplied,
        Some(_) => Repair::IdleTimeoutRestored,
    });
    if !dry_run {
        ctx.elb.set_idle_timeout(listener_arn, seconds).await?;
    }
    Ok(())
}

/// Migration: a route whose resources were created before the deployment tag existed
/// ([`Route::deployment_tagged`] false) gets [`TAG_DEPLOYMENT`] on its target group and
/// listener — one AddTags call; the route's own stored ARNs prove they are this deployment's
/// — and remembers it. True when the route changed (to store). In a dry run nothing is sent.
pub async fn ensure_deployment_tag(
    ctx: &Context,
    route: &mut Route,
    dry_run: bool,
) -> Result<bool, ElbError> {
    if route.deployment_tagged || dry_run {
        return Ok(false);
    }
    let arns: Vec<String> = route
        .target_group_arn
        .iter()
        .chain(route.listener_arn.iter())
        .cloned()
        .collect();
    if arns.is_empty() {
        return Ok(false);
    }
    let deployment = &ctx.config.deployment;
    let have = ctx.elb.tags_of(&arns).await?;
    if let Some((arn, other)) = arns.iter().find_map(|arn| {
        let t = have.get(arn)?;
        let other = t.get(TAG_DEPLOYMENT).filter(|d| *d != deployment);
        let foreign = t.get(TAG_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY);
        match (other, foreign) {
            (Some(other), _) => Some((arn, format!("deployment {other}'s"))),
            (None, true) => Some((arn, "without the router's managed-by tag".to_owned())),
            _ => None,
        }
    }) {
        return Err(ElbError {
            operation: "AddTags",
            code: Some("NotThisDeployments".into()),
            message: format!(
                "{arn} is {other}, not deployment {deployment}'s: two deployments shared it before target group names carried the deployment; delete the route in one of them (or recreate its resources) so each has its own"
            ),
        });
    }
    let tag = BTreeMap::from([(TAG_DEPLOYMENT.to_owned(), deployment.clone())]);
    ctx.elb.add_tags(&arns, &tag).await?;
    info!(route_id = %route.id(), deployment = %ctx.config.deployment, "deployment tag added to the route's resources (migration)");
    route.deployment_tagged = true;
    Ok(true)
}

/// Error code of a listener port held by a listener the router does not own.
pub const LISTENER_PORT_TAKEN: &str = "ListenerPortTaken";

/// Records a listener conflict on the route (and clears a resolved one) instead of failing:
/// the target group is still the route's, so its targets can and must still follow DNS.
/// Any other error stays an error.
fn note_conflict(route: &mut Route, listener: Result<(), ElbError>) -> Result<(), ElbError> {
    match listener {
        Ok(()) => {
            route.conflict = None;
            Ok(())
        }
        Err(e) if e.code.as_deref() == Some(LISTENER_PORT_TAKEN) => {
            warn!(route_id = %route.id(), conflict = %e.message, "listener conflict; targets are still reconciled");
            route.conflict = Some(e.message);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn log_repairs(route: &Route, repairs: &[Repair], dry_run: bool) {
    for r in repairs {
        info!(route_id = %route.id(), repair = %tag(r), dry_run, "structural repair");
    }
}
