//! The router context `plr` works with: flags and environment, checked in the operator's terms
//! (region, credentials, table, NLB) before anything runs.

use privatelink_router::adapters::aws::clients::{self, Clients};
use privatelink_router::adapters::aws::ec2::RouterError;
use privatelink_router::config::Config;
use privatelink_router::context::{Context, InitError};

use crate::errors::Hint;
use crate::Cli;

/// The router context from the flags and the environment. Fails early, in the operator's
/// terms, when no region or no credentials are configured.
pub(crate) async fn context(cli: &Cli) -> anyhow::Result<Context> {
    let sdk = clients::sdk_config_with(cli.endpoint_url.as_deref(), cli.region.as_deref()).await;
    let Some(region) = clients::region_of(&sdk) else {
        anyhow::bail!(Hint(
            "no AWS region: set AWS_REGION (or --region) to the routers' region".into()
        ));
    };
    let creds = clients::check_credentials(&sdk)
        .await
        .map_err(anyhow::Error::new);
    if let Err(e) = creds {
        let hint = match std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()) {
            Some(profile) => format!(
                "no AWS credentials from profile {profile:?} ({e}): check it in ~/.aws/config, or run `aws sso login --profile {profile}`"
            ),
            None => "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`".into(),
        };
        return Err(e.context(Hint(hint)));
    }
    let flags = [
        ("ROUTER_TABLE", &cli.table),
        ("ROUTER_FLEET", &cli.fleet),
        ("ROUTER_DNS_SERVERS", &cli.dns_servers),
    ];
    let lookup = |k: &str| {
        flags
            .iter()
            .find(|(name, _)| *name == k)
            .map_or_else(|| std::env::var(k).ok(), |(_, v)| (*v).clone())
    };
    let mut config = Config::from_lookup(&lookup)?;
    config.admin_principals.insert(cli.principal.clone());
    let clients = Clients::from_sdk_config(&sdk);
    let e = match Context::build(config.clone(), clients.clone()).await {
        Ok(ctx) => return Ok(ctx),
        Err(e) => e,
    };
    let hint = match &e {
        InitError::Router {
            router,
            source: RouterError::Elb(elb),
        } if elb.is_not_found() => {
            let arn = config
                .router(router)
                .map(|r| r.nlb_arn.clone())
                .unwrap_or_default();
            Some(Hint(format!(
                "router {router}: its NLB {arn} does not exist in {region}: check --fleet/ROUTER_FLEET (the Terraform module's output fleet) and AWS_REGION"
            )))
        }
        _ => None,
    };
    // Reading the route table needs no NLB: say which is missing and go on without NLB facts.
    // (Anything else — AWS unreachable, no permission — would fail the table reads too.)
    if let (true, Some(Hint(why))) = (cli.command.reads_only(), &hint) {
        eprintln!("warning: {why}; showing the route table only, without NLB details");
        return Ok(Context::for_reading(config, clients)?);
    }
    Err(match hint {
        Some(h) => anyhow::Error::new(e).context(h),
        None => anyhow::Error::new(e),
    })
}
