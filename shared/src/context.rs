//! Everything a handler needs, built once per cold start and reused by warm invocations.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::aws::clients::{self, Clients};
use crate::adapters::aws::ec2::{Ec2, RouterError};
use crate::adapters::aws::elb::Elb;
use crate::adapters::aws::rate_budget::RateBudget;
use crate::adapters::aws::rds::Rds;
use crate::adapters::aws::store::DynamoStore;
use crate::adapters::databricks::Databricks;
use crate::adapters::dns::{DnsSetupError, HickoryResolver, Resolve};
use crate::config::{Config, ConfigError};
use crate::domain::router::Fleet;

/// RDS API access: the own account with the Lambda's credentials, other accounts through their
/// roles (`ROUTER_RDS_ROLE_ARNS`); none when `ROUTER_RDS_MEMBERSHIP=false` or no region is set.
async fn rds_access(config: &Config, clients: &Clients) -> Rds {
    let Some(region) = clients.sdk.region() else {
        return Rds::disabled();
    };
    if !config.rds_membership {
        return Rds::disabled();
    }
    let mut rds =
        Rds::in_region(region.as_ref()).with_account(config.own_account(), clients.rds.clone());
    for role in &config.rds_role_arns {
        if let Some(account) = crate::config::account_of_role(role) {
            rds = rds.with_account(account, clients.rds_as(role).await);
        }
    }
    rds
}

/// Building the context failed: the Lambda cannot start.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad DNS settings.
    #[error(transparent)]
    Dns(#[from] DnsSetupError),
    /// A router's NLB/VPC could not be read.
    #[error("router {router}: {source}")]
    Router {
        /// Router id.
        router: String,
        /// Cause.
        source: RouterError,
    },
}

/// Shared state of a router Lambda.
#[derive(Clone)]
pub struct Context {
    /// Configuration.
    pub config: Config,
    /// Routers by id, with their address rules.
    pub fleet: Fleet,
    /// ELBv2 adapter.
    pub elb: Elb,
    /// EC2 adapter (router facts, the NLB's private IPs).
    pub ec2: Ec2,
    /// Route store.
    pub store: DynamoStore,
    /// DNS resolver.
    pub dns: Arc<dyn Resolve>,
    /// RDS API per account (members of reader and custom endpoints).
    pub rds: Rds,
    /// The SDK clients the adapters were built from, and the call counter. Flows read only the
    /// counter (`tests/tests/layout.rs` checks it); tests and tools inspect AWS through them.
    pub clients: Clients,
    /// The Databricks account API, when configured.
    pub databricks: Option<Arc<Databricks>>,
}

/// The Databricks client of a configuration, with its own Secrets Manager client: built only
/// when Databricks is configured, and it reads its secret when first used, so a Databricks
/// problem never stops a cold start.
fn databricks(config: &Config, clients: &Clients) -> Option<Arc<Databricks>> {
    config.databricks.clone().map(|c| {
        let secrets = aws_sdk_secretsmanager::Client::new(&clients.sdk);
        Arc::new(Databricks::new(c, secrets))
    })
}

impl Context {
    /// The same context whose ELBv2 calls all take a token from `budget` first (the full
    /// audit's pacing, [`crate::adapters::aws::rate_budget`]); everything else is shared with `self`.
    pub fn with_elb_budget(&self, budget: RateBudget) -> Self {
        Self {
            elb: self.elb.paced(budget),
            ..self.clone()
        }
    }

    /// Cold start: environment → config, SDK clients, DNS resolver, router facts. The router
    /// facts are read with the short cold-start policy ([`clients::cold_start_config`]), and a
    /// failure is logged (the call and its cause) before it is returned.
    pub async fn from_env() -> Result<Self, InitError> {
        let started = std::time::Instant::now();
        let result = async {
            let config = Config::from_env()?;
            let sdk = clients::sdk_config_from_env().await;
            let clients = Clients::from_sdk_config(&sdk);
            let init = Clients::from_sdk_config(&clients::cold_start_config(&sdk));
            let dns = HickoryResolver::new(&config.dns_servers, Duration::from_secs(2), 2)?;
            Self::assemble(config, clients, &init, Arc::new(dns)).await
        }
        .await;
        if let Err(e) = &result {
            tracing::error!(error = %e, elapsed_ms = started.elapsed().as_millis() as u64, "cold start failed: the function cannot serve");
        }
        result
    }

    /// Builds a context from explicit config and clients, with the hickory resolver.
    pub async fn build(config: Config, clients: Clients) -> Result<Self, InitError> {
        let dns = HickoryResolver::new(&config.dns_servers, Duration::from_secs(2), 2)?;
        Self::with_resolver(config, clients, Arc::new(dns)).await
    }

    /// Builds a context with any resolver (tests inject fault-injecting ones).
    pub async fn with_resolver(
        config: Config,
        clients: Clients,
        dns: Arc<dyn Resolve>,
    ) -> Result<Self, InitError> {
        let init = clients.clone();
        Self::assemble(config, clients, &init, dns).await
    }

    /// A context for reading the route table only (`plr routes list`, `show`, `ports` when an
    /// NLB cannot be read): no router facts are loaded, so [`Context::fleet`] is empty and
    /// nothing that registers targets or places routes may use it. Route views still name
    /// each route's endpoint service, from the configured fleet.
    pub fn for_reading(config: Config, clients: Clients) -> Result<Self, InitError> {
        let dns = HickoryResolver::new(&config.dns_servers, Duration::from_secs(2), 2)?;
        Ok(Self {
            elb: Elb::new(clients.elb.clone()),
            ec2: Ec2::new(clients.ec2.clone()),
            store: DynamoStore::new(clients.dynamodb.clone(), config.table.clone()),
            fleet: Fleet::default(),
            dns: Arc::new(dns),
            rds: Rds::disabled(),
            databricks: databricks(&config, &clients),
            config,
            clients,
        })
    }

    /// Reads the router facts through `init` (the cold-start clients) and assembles the
    /// context around `clients`.
    async fn assemble(
        config: Config,
        clients: Clients,
        init: &Clients,
        dns: Arc<dyn Resolve>,
    ) -> Result<Self, InitError> {
        let elb = Elb::new(clients.elb.clone());
        let init_elb = Elb::new(init.elb.clone());
        let fleet: Fleet = Ec2::new(init.ec2.clone())
            .load_fleet(&config.fleet, &init_elb, &config.database_cidrs)
            .await
            .map_err(|(router, source)| InitError::Router { router, source })?;
        let store = DynamoStore::new(clients.dynamodb.clone(), config.table.clone());
        let rds = rds_access(&config, &clients).await;
        let dns = crate::adapters::dns::Capped::wrap(dns, config.exposure.quotas.targets_per_route);
        Ok(Self {
            databricks: databricks(&config, &clients),
            config,
            fleet,
            elb,
            ec2: Ec2::new(clients.ec2.clone()),
            store,
            dns,
            rds,
            clients,
        })
    }
}
