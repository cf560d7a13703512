//! Seeds: routes declared in Terraform (`target_endpoints`), written as items in the `SEEDS`
//! partition. The audit turns each into a route through the API's create path — on the seed's
//! pinned listener port (`base_port + index`) — and then deletes the seed.

use serde::Serialize;
use tracing::{info, warn};

use crate::adapters::aws::store::seed_records::SeedItem;
use crate::adapters::aws::store::{RouteStore, StoreError};
use crate::context::Context;
use crate::domain::route::RouteId;
use crate::flows::service::{self, Caller, CreateRequest};

/// What became of one seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    /// Route name.
    pub route_id: String,
    /// `created`, `existing` (already a route) or `failed`.
    pub outcome: String,
    /// Why it failed.
    pub error: Option<String>,
}

/// Creates a route for every seed and deletes the seeds consumed. One Query when there are none.
pub async fn provision_seeds(ctx: &Context, dry_run: bool) -> Result<Vec<SeedResult>, StoreError> {
    let mut results = Vec::new();
    for (sk, seed) in ctx.store.seeds().await? {
        let result = match seed {
            Err(e) => SeedResult {
                route_id: sk.clone(),
                outcome: "failed".into(),
                error: Some(e),
            },
            Ok(_) if dry_run => SeedResult {
                route_id: sk.clone(),
                outcome: "pending".into(),
                error: None,
            },
            Ok(seed) if adopted_already(ctx, &seed).await? => {
                ctx.store.delete_seed(&sk).await?;
                info!(route_id = %seed.name, "seed consumed: the route exists (adopted)");
                SeedResult {
                    route_id: seed.name,
                    outcome: "existing".into(),
                    error: None,
                }
            }
            Ok(seed) => {
                let req = CreateRequest {
                    name: seed.name.clone(),
                    host: seed.host,
                    port: seed.port,
                    protocol: None,
                    health_check: seed.health_check,
                    tags: seed.tags,
                    rds_identifier: seed.rds_identifier,
                    account_id: seed.account_id,
                    rds_arn: None,
                    listener_port: seed.listener_port,
                    router: None,
                    target_group: None,
                    tls_name: false,
                    engine: None,
                    idle_timeout_seconds: seed.idle_timeout_seconds,
                };
                match service::create_trusted(
                    ctx,
                    &Caller {
                        principal: seed.owner,
                    },
                    &req,
                )
                .await
                {
                    Ok((_, created)) => {
                        ctx.store.delete_seed(&sk).await?;
                        let outcome = if created { "created" } else { "existing" };
                        info!(route_id = %seed.name, outcome, "seed consumed");
                        SeedResult {
                            route_id: seed.name,
                            outcome: outcome.into(),
                            error: None,
                        }
                    }
                    Err(e) => {
                        warn!(route_id = %seed.name, error = %e, "seed not provisioned");
                        SeedResult {
                            route_id: seed.name,
                            outcome: "failed".into(),
                            error: Some(e.to_string()),
                        }
                    }
                }
            }
        };
        results.push(result);
    }
    Ok(results)
}

/// True when the seed's route exists with the same database (host and port) on the seed's
/// listener port: a route taken over by `plr adopt` carries the seed's target group and
/// health check, which the router's state keeps (Terraform's seed is then simply consumed).
async fn adopted_already(ctx: &Context, seed: &SeedItem) -> Result<bool, StoreError> {
    let Ok(id) = RouteId::parse(&seed.name) else {
        return Ok(false);
    };
    Ok(ctx.store.get(&id).await?.is_some_and(|r| {
        r.spec.target_group.is_some()
            && r.spec
                .host
                .as_str()
                .eq_ignore_ascii_case(seed.host.trim_end_matches('.'))
            && i64::from(r.spec.port) == seed.port
            && seed
                .listener_port
                .is_none_or(|p| p == i64::from(r.listener_port))
    }))
}
