//! Learning the account of routes created with a bare host (issue #27). Names are unique only
//! per account and region, so an RDS event ends a route at once only when the route knows its
//! database's account; most pipelines give a bare host, and creation learns the account only
//! when the router's own RDS API answers for it then. The audit learns it later: an RDS
//! endpoint name carries a hash of its account and region
//! ([`crate::domain::host::account_hash`]), so a route whose host has the hash of the router's
//! own databases in its region — read from the RDS API (DescribeDBInstances: one call per
//! audit, only while such routes exist), never from a route's `account_id`, which nobody
//! checked — is in the router's account. Then a deletion event of that account acts at once,
//! as for routes created with `account_id`.

use std::collections::BTreeSet;

use chrono::Utc;
use tracing::{info, warn};

use crate::adapters::aws::store::audit_records::RouteItem;
use crate::adapters::aws::store::RouteStore;
use crate::context::Context;
use crate::domain::host::account_hash;

/// Sets the router's own account on the routes of unknown account whose host carries one of
/// its hashes, stores them, and updates `items` in place; returns the ids learned. Nothing is
/// stored in a dry run; a failed read or write leaves the route as it was (the next audit
/// tries again).
pub(super) async fn learn_accounts(
    ctx: &Context,
    items: &mut [RouteItem],
    dry_run: bool,
) -> Vec<String> {
    let own = ctx.config.own_account();
    let routes = || {
        items.iter().filter_map(|it| match it {
            RouteItem::Route(r) => Some(&**r),
            RouteItem::Malformed { .. } => None,
        })
    };
    let unknown = routes()
        .filter(|r| r.spec.account.is_none())
        .filter_map(|r| account_hash(r.spec.host.as_str()))
        .count();
    if unknown == 0 || own.is_empty() {
        return vec![];
    }
    let mut own_hashes: BTreeSet<(String, String)> = BTreeSet::new();
    let region = ctx.config.own_region();
    if ctx.rds.covers(&own, &region) {
        match ctx.rds.any_instance_endpoint(&own).await {
            Ok(Some(endpoint)) => own_hashes.extend(account_hash(&endpoint)),
            Ok(None) => {}
            Err(e) => {
                warn!(error = %e, "the router's own endpoint hash not read; routes of unknown account stay so")
            }
        }
    }
    let mut learned = Vec::new();
    for item in items.iter_mut() {
        let RouteItem::Route(route) = item else {
            continue;
        };
        let ours = route.spec.account.is_none()
            && account_hash(route.spec.host.as_str()).is_some_and(|h| own_hashes.contains(&h));
        if !ours {
            continue;
        }
        learned.push(route.id().to_string());
        if dry_run {
            continue;
        }
        let mut next = (**route).clone();
        next.spec.account = Some(own.clone());
        next.version += 1;
        next.updated_at = Utc::now();
        match ctx.store.save(&next).await {
            Ok(()) => {
                info!(route_id = %next.id(), account = %own, "account learned from the endpoint's hash");
                **route = next;
            }
            Err(e) => {
                learned.pop();
                warn!(route_id = %route.id(), error = %e, "learned account not stored; the next audit tries again");
            }
        }
    }
    learned
}
