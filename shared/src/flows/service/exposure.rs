//! Who may publish what, at creation: the exposure policy's checks that need the router's
//! facts — addresses a name answers that the deployment never publishes, a caller's ownership
//! of the database through the RDS API, and the per-owner quotas ([`crate::domain::exposure`]
//! holds the rules themselves).

use super::{Caller, ServiceError};
use crate::adapters::aws::store::audit_records::RouteItem;
use crate::adapters::aws::store::ports::OwnerQuota;
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::exposure::Quotas;
use crate::domain::host::parse_rds_endpoint;
use crate::domain::route::{Engine, Route, RouteSpec};
use std::collections::BTreeMap;
use tracing::info;

/// Refuses a host whose answer holds an address the deployment never publishes on any router
/// (outside the database CIDRs, or the router's own): a route is created for its whole answer
/// or not at all. Later answers are bound the same way by the planner (its rule 12).
pub(super) fn forbidden_addresses(
    ctx: &Context,
    spec: &RouteSpec,
    ips: &std::collections::BTreeSet<std::net::IpAddr>,
) -> Result<(), ServiceError> {
    let mut refused: BTreeMap<std::net::IpAddr, crate::domain::net::Refusal> = BTreeMap::new();
    for ip in ips {
        for router in ctx.fleet.values() {
            if let Err(why) = router.policy.classify(*ip) {
                if why.is_forbidden() {
                    refused.entry(*ip).or_insert(why);
                }
            }
        }
    }
    let Some(why) = refused.values().next().copied() else {
        return Ok(());
    };
    Err(crate::domain::exposure::Denial::Addresses {
        host: spec.host.to_string(),
        ips: refused
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        why: why.explain().to_owned(),
        refusal: why,
    }
    .into())
}

/// The per-owner quotas of a caller that is not an admin ([`Quotas`]): the routes it holds,
/// and with `tls_name` its TLS names. A route that exists already (a replay, or a conflict
/// the allocation reports) is not counted against it. Reads the route index (one Query a page);
/// the counts go to the allocation, whose transaction holds the owner's counter under the caps
/// ([`OwnerQuota`]).
pub(super) async fn owner_quotas(
    ctx: &Context,
    caller: &Caller,
    spec: &RouteSpec,
) -> Result<Option<OwnerQuota>, ServiceError> {
    let quotas = ctx.config.exposure.quotas;
    if quotas.routes_per_owner == 0 && (quotas.tls_names_per_owner == 0 || !spec.tls_name) {
        return Ok(None);
    }
    if ctx.store.get(&spec.id).await?.is_some() {
        return Ok(None);
    }
    let items = ctx.store.route_items().await?;
    let owned: Vec<&Route> = items
        .iter()
        .filter_map(|item| match item {
            RouteItem::Route(r) if r.owner == caller.principal => Some(&**r),
            _ => None,
        })
        .collect();
    let principal = &caller.principal;
    Quotas::check(
        "routes_per_owner",
        quotas.routes_per_owner,
        owned.len(),
        format!("{principal} holds {} routes", owned.len()),
    )?;
    if spec.tls_name {
        let names = owned.iter().filter(|r| r.spec.tls_name).count();
        Quotas::check(
            "tls_names_per_owner",
            quotas.tls_names_per_owner,
            names,
            format!("{principal} holds {names} TLS names"),
        )?;
    }
    // The allocation transaction checks the owner's counter again, so concurrent creates by
    // one owner cannot all pass this read.
    Ok(Some(OwnerQuota {
        routes_limit: quotas.routes_per_owner,
        tls_names_limit: quotas.tls_names_per_owner,
        routes_held: owned.len(),
        tls_names_held: owned.iter().filter(|r| r.spec.tls_name).count(),
    }))
}

/// Verifies that a caller that is not an admin may publish the request's database
/// ([`crate::domain::exposure`]): the host is under a host suffix granted to it, or it is an
/// RDS instance, cluster, custom or RDS Proxy endpoint that the RDS API of the caller's own
/// account or a granted one (its own, or the read role) shows **with this very endpoint
/// name**. The account found is stored on the route (`account_id`). Refused: IP literals,
/// names that are no RDS endpoint, another account's database, an account whose RDS API the
/// router cannot read, and a name the RDS API does not show.
pub(super) async fn verify_owner(
    ctx: &Context,
    caller: &Caller,
    spec: &mut RouteSpec,
) -> Result<(), ServiceError> {
    let policy = &ctx.config.exposure;
    let principal = caller.principal.as_str();
    let scope = policy.scope(principal);
    let host = spec.host.as_str().trim_end_matches('.').to_owned();
    let deny = |reason: String| ServiceError::from(policy.not_owner(principal, reason));
    if scope.grants_host(&host) {
        // The grant admits the name; an account stated with it must still be one the caller
        // may speak for (events of that account then reach the route).
        return match &spec.account {
            Some(a) if !scope.accounts.contains(a) => Err(deny(format!(
                "the database is in account {a}, which is not its own nor granted to it"
            ))),
            _ => Ok(()),
        };
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(deny(format!(
            "{host} is an IP literal, not a database the router can verify"
        )));
    }
    let Some(endpoint) = parse_rds_endpoint(&host) else {
        return Err(deny(format!(
            "{host} is not an RDS endpoint name and is under no host suffix granted to it"
        )));
    };
    let candidates: Vec<String> = match &spec.account {
        Some(a) if !scope.accounts.contains(a) => {
            return Err(deny(format!(
                "the database is in account {a}, which is not its own nor granted to it"
            )));
        }
        Some(a) => vec![a.clone()],
        None => scope.accounts.iter().cloned().collect(),
    };
    let mut why = Vec::new();
    for account in candidates {
        if !ctx.rds.reads(&account, &endpoint) {
            why.push(format!(
                "the router cannot read account {account}'s RDS API in {} (a read role in rds_role_arns, ROUTER_RDS_ROLE_ARNS)",
                endpoint.region
            ));
            continue;
        }
        match ctx.rds.find_database(&account, &host, &endpoint).await {
            Ok(Some(database)) => {
                spec.account = Some(account);
                if spec.engine.is_none() {
                    spec.engine = database.engine.as_deref().and_then(Engine::from_rds);
                }
                return Ok(());
            }
            Ok(None) => why.push(format!(
                "account {account}'s RDS API shows no database whose endpoint is {host}"
            )),
            Err(e) => {
                info!(route_id = %spec.id, %account, error = %e, "ownership of the database not verified");
                why.push(format!(
                    "account {account}'s RDS API did not answer (retry)"
                ));
            }
        }
    }
    Err(deny(why.join("; ")))
}
