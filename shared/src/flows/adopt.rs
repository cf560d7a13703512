//! Taking over a running seed deployment without changing one listener port or dropping one
//! connection (`plr adopt`).
//!
//! Reads the seed's inputs ([`SeedInputs`]) and the live NLB (its listeners and the target
//! groups they forward to), then for each database:
//! 1. finds the listener forwarding to the seed's target group `<service_name>-nlb-tg-<name>`
//!    and keeps its port (live wins over `base_port + index`);
//! 2. tags that target group and listener with the router's ownership tags (so the router may
//!    manage them, and the audit does not count them as strangers) — only when missing;
//! 3. creates the route with the port pinned and the target group adopted: the listener keeps
//!    its default action, nothing is deleted or re-created; the first reconcile registers what
//!    DNS answers now (the seed's plan-time IPs leave through the usual window).
//!
//! A database whose listener is not live gets a route on its seed port (a new listener). A
//! second run finds every route in place and changes nothing.

use std::collections::BTreeMap;

use serde::Serialize;
use tracing::info;

use crate::adapters::aws::elb::{ElbError, TAG_DEPLOYMENT, TAG_MANAGED_BY, TAG_ROUTE};
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::log_fields::list;
use crate::domain::seed_inputs::{SeedInputError, SeedInputs};
use crate::flows::service::{self, Caller, CreateRequest, ServiceError};
use crate::reconcile::provision::ownership_tags_of;

/// Why an adoption could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// The seed's inputs cannot be honoured.
    #[error(transparent)]
    Inputs(#[from] SeedInputError),
    /// No router of `ROUTER_FLEET` is the seed's NLB.
    #[error("no router in ROUTER_FLEET is the seed's NLB {0}: add {{id, nlb_arn, endpoint_service_name}} of that NLB to ROUTER_FLEET, or pass --router")]
    NoRouter(String),
    /// ELBv2 failed.
    #[error(transparent)]
    Elb(#[from] ElbError),
    /// The seed's resources already belong to another deployment of the router.
    #[error("{arn} belongs to deployment {other} (tag privatelink-router:deployment), not {ours}: adopt it from that deployment, or remove it there first")]
    OtherDeployment {
        /// The resource.
        arn: String,
        /// The deployment its tag names.
        other: String,
        /// This deployment.
        ours: String,
    },
    /// Creating a route failed.
    #[error("route {route}: {source}")]
    Route {
        /// Route id.
        route: String,
        /// Cause.
        source: ServiceError,
    },
}

/// What adoption did (or, in a dry run, would do) for one database.
#[derive(Debug, Clone, Serialize)]
pub struct Adoption {
    /// Route id.
    pub route_id: String,
    /// Database DNS name.
    pub host: String,
    /// Listener port the route keeps (or gets).
    pub listener_port: u16,
    /// The live target group taken over, when there is one.
    pub target_group: Option<String>,
    /// `adopted` (route created over live resources), `created` (no live listener: a new one on
    /// the seed's port), `unchanged` (already adopted).
    pub action: String,
    /// Anything worth knowing (a live port that differs from `base_port + index`).
    pub note: Option<String>,
}

/// The whole takeover.
#[derive(Debug, Clone, Serialize)]
pub struct AdoptionReport {
    /// Router id of the seed's NLB.
    pub router: String,
    /// Nothing was changed.
    pub dry_run: bool,
    /// One entry per database.
    pub routes: Vec<Adoption>,
}

/// The name inside an NLB ARN (`…:loadbalancer/net/<name>/<id>`).
fn nlb_name_of(arn: &str) -> Option<String> {
    let arn = crate::config::load_balancer_arn(arn)?;
    arn.resource().split('/').nth(2).map(str::to_owned)
}

/// Takes over the seed deployment described by `inputs` (see the module documentation).
pub async fn adopt(
    ctx: &Context,
    caller: &Caller,
    inputs: &SeedInputs,
    router: Option<&str>,
    dry_run: bool,
) -> Result<AdoptionReport, AdoptError> {
    let databases = inputs.databases()?;
    let health_check = inputs.health_check()?;
    let nlb_name = inputs.nlb_name();
    let router = match router {
        Some(id) => ctx.fleet.get(id),
        None => ctx
            .fleet
            .values()
            .find(|r| nlb_name_of(&r.config.nlb_arn).as_deref() == Some(nlb_name.as_str())),
    }
    .ok_or_else(|| AdoptError::NoRouter(nlb_name.clone()))?;
    let listeners = ctx.elb.listeners(&router.config.nlb_arn).await?;
    let all_groups = ctx.elb.all_target_groups().await?;
    let groups: BTreeMap<String, String> = all_groups
        .iter()
        .map(|tg| (tg.arn.clone(), tg.name.clone()))
        .collect();
    let health: BTreeMap<String, crate::domain::route::HealthCheck> = all_groups
        .iter()
        .map(|tg| (tg.arn.clone(), tg.health_check))
        .collect();
    let mut planned = Vec::new();
    let mut report = AdoptionReport {
        router: router.config.id.clone(),
        dry_run,
        routes: vec![],
    };
    for db in databases {
        let live = listeners.iter().find(|l| {
            l.forward_to
                .as_ref()
                .and_then(|arn| groups.get(arn))
                .is_some_and(|name| name.eq_ignore_ascii_case(&db.target_group))
        });
        let (listener_port, target_group, note) = match live {
            Some(l) => (
                l.port,
                l.forward_to.as_ref().and_then(|a| groups.get(a)).cloned(),
                (l.port != db.listener_port).then(|| {
                    format!(
                        "live listener port {} differs from base_port + index = {}: keeping the live port",
                        l.port, db.listener_port
                    )
                }),
            ),
            None => (
                db.listener_port,
                None,
                Some(format!(
                    "no live listener forwards to {}: a new listener on port {}",
                    db.target_group, db.listener_port
                )),
            ),
        };
        let existing = ctx
            .store
            .get(
                &crate::domain::route::RouteId::parse(&db.route_id).map_err(|e| {
                    AdoptError::Route {
                        route: db.route_id.clone(),
                        source: ServiceError::Invalid(e),
                    }
                })?,
            )
            .await
            .map_err(|e| AdoptError::Route {
                route: db.route_id.clone(),
                source: e.into(),
            })?;
        let mut action = match (&existing, &target_group) {
            (Some(_), _) => "unchanged",
            (None, Some(_)) => "adopted",
            (None, None) => "created",
        }
        .to_owned();
        // The live group's own health check (the seed never set one: AWS defaults), so the
        // takeover changes nothing consumers or the database see; attributes are set as for
        // the router's own groups.
        let live_health = live
            .and_then(|l| l.forward_to.as_ref())
            .and_then(|arn| health.get(arn))
            .copied()
            .filter(|hc| hc.validate().is_ok());
        // The live listener's idle timeout is kept when someone set one (the seed never did),
        // and whenever the deployment's default would be shorter: the takeover closes no
        // connection sooner than before. A listener at AWS's default (350 s) takes the
        // deployment's longer one (`ROUTER_IDLE_TIMEOUT_SECONDS`).
        // A route adopted before keeps its own (a second adoption changes nothing).
        let default = ctx.config.idle_timeout_secs;
        let idle_timeout_seconds = match (&existing, live) {
            (Some(route), _) => route.spec.idle_timeout_seconds.map(i64::from),
            (None, Some(l)) => ctx
                .elb
                .idle_timeout(&l.arn)
                .await?
                .filter(|v| crate::domain::route::IDLE_TIMEOUT_RANGE.contains(v))
                .filter(|v| *v != default && (*v != 350 || default < 350))
                .map(i64::from),
            (None, None) => None,
        };
        let req = CreateRequest {
            name: db.route_id.clone(),
            host: db.host.clone(),
            port: i64::from(db.port),
            protocol: None,
            health_check: Some(live_health.unwrap_or(health_check)),
            tags: db.tags.clone(),
            rds_identifier: db.rds_identifier.clone(),
            account_id: db.account_id.clone(),
            rds_arn: None,
            listener_port: Some(i64::from(listener_port)),
            router: Some(router.config.id.clone()),
            target_group: target_group.clone(),
            tls_name: false,
            engine: None,
            idle_timeout_seconds,
        };
        let mut note = note;
        if dry_run {
            // The same checks `create` makes (validation, public answers, pins, live
            // listeners), changing nothing.
            let preview = service::preview(ctx, caller, &req, &mut planned)
                .await
                .map_err(|source| AdoptError::Route {
                    route: db.route_id.clone(),
                    source,
                })?;
            if !matches!(preview.verdict.as_str(), "create" | "existing") {
                action = format!("refused: {}", preview.verdict);
                note = preview.detail;
            }
        } else {
            let (_, created) =
                service::create_trusted(ctx, caller, &req)
                    .await
                    .map_err(|source| AdoptError::Route {
                        route: db.route_id.clone(),
                        source,
                    })?;
            if !created {
                action = "unchanged".into();
            }
            // Tagged only once the route exists: a tagged listener without a route would be an
            // orphan to the audit, which deletes orphans.
            if let (Some(_), Some(listener)) = (&target_group, live) {
                let tg_arn = listener.forward_to.clone().unwrap_or_default();
                let deployment = &ctx.config.deployment;
                let wanted = ownership_tags_of(
                    deployment,
                    &router.config.id,
                    &db.route_id,
                    &Default::default(),
                );
                let arns = vec![tg_arn, listener.arn.clone()];
                let have = ctx.elb.tags_of(&arns).await?;
                for arn in &arns {
                    if let Some(other) = have
                        .get(arn)
                        .and_then(|t| t.get(TAG_DEPLOYMENT))
                        .filter(|d| *d != deployment)
                    {
                        return Err(AdoptError::OtherDeployment {
                            arn: arn.clone(),
                            other: other.clone(),
                            ours: deployment.clone(),
                        });
                    }
                }
                let missing: Vec<String> = arns
                    .iter()
                    .filter(|arn| {
                        let t = have.get(*arn);
                        t.and_then(|t| t.get(TAG_ROUTE)) != Some(&db.route_id)
                            || t.and_then(|t| t.get(TAG_MANAGED_BY)).is_none()
                            || t.and_then(|t| t.get(TAG_DEPLOYMENT)) != Some(deployment)
                    })
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    ctx.elb.add_tags(&missing, &wanted).await?;
                    info!(route_id = %db.route_id, resources = %list(&missing), "seed resources tagged for the router");
                }
            }
        }
        report.routes.push(Adoption {
            route_id: db.route_id,
            host: db.host,
            listener_port,
            target_group,
            action,
            note,
        });
    }
    Ok(report)
}
