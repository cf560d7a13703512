//! Orphans: target groups and listeners carrying the router's managed-by tag, this
//! deployment's tag and one of the fleet's router ids whose route does not exist. Each is recorded when first seen and deleted
//! once older than `orphan_grace`; nothing without our tags is ever touched.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use tracing::info;

use crate::adapters::aws::elb::{
    ElbError, MANAGED_BY, TAG_DEPLOYMENT, TAG_MANAGED_BY, TAG_ROUTE, TAG_ROUTER,
};
use crate::adapters::aws::store::audit_records::{AuditRecords, OrphanRecord, RouteItem};
use crate::context::Context;
use crate::domain::route::target_group_name;
use crate::reconcile::provision::Snapshot;

use super::report::{AuditReport, Orphan, RouteFailure};

/// Which route ids exist, for telling orphans: `(router, route)` of routes, plus ids of
/// malformed items, whose resources are never called orphans.
#[derive(Debug, Default)]
pub(super) struct Known {
    routes: BTreeSet<(String, String)>,
    any_router: BTreeSet<String>,
    target_groups: BTreeSet<String>,
    ports: BTreeSet<(String, u16)>,
}

impl Known {
    pub(super) fn of(items: &[RouteItem], deployment: &str) -> Self {
        let mut k = Known::default();
        for item in items {
            match item {
                RouteItem::Route(r) => {
                    k.routes.insert((r.router.clone(), r.id().to_string()));
                    k.target_groups.insert(r.target_group_name(deployment));
                    k.ports.insert((r.router.clone(), r.listener_port));
                }
                other => {
                    k.any_router.insert(other.id().to_owned());
                }
            }
        }
        k
    }

    pub(super) fn has(&self, router: &str, route: &str) -> bool {
        self.any_router.contains(route) || self.routes.contains(&(router.into(), route.into()))
    }
}

/// Decides from a resource's tags whether it is an orphan: our managed-by tag, this
/// `deployment`'s tag, a router of this fleet, a route tag — and no such route. Returns
/// `(router, route)` for an orphan. Another deployment's resources (same router ids, same
/// route names: two deployments of the module in one account) are never ours to sweep; nor are
/// resources without a deployment tag, which only a route's own migration may claim.
pub fn orphan_of(
    tags: &BTreeMap<String, String>,
    deployment: &str,
    fleet: &BTreeSet<String>,
    route_exists: impl Fn(&str, &str) -> bool,
) -> Option<(String, String)> {
    if tags.get(TAG_MANAGED_BY).map(String::as_str) != Some(MANAGED_BY)
        || tags.get(TAG_DEPLOYMENT).map(String::as_str) != Some(deployment)
    {
        return None;
    }
    let router = tags.get(TAG_ROUTER).filter(|r| fleet.contains(*r))?;
    let route = tags.get(TAG_ROUTE)?;
    (!route_exists(router, route)).then(|| (router.clone(), route.clone()))
}

/// The name prefix every router target group has (from [`target_group_name`]).
pub(super) fn tg_prefix() -> String {
    let sample = target_group_name("d", "r", "x");
    let head = sample.split('-').next().unwrap_or_default();
    format!("{head}-")
}

/// Orphan candidates are resources no route explains (a router-named target group no route
/// would give, serving a fleet NLB or none; a listener port no route of that router holds);
/// only those are asked for their tags
/// (DescribeTags, 20 ARNs per call), so a run without orphans makes no DescribeTags call.
pub(super) async fn find_orphans(
    ctx: &Context,
    snapshot: &Snapshot,
    known: &Known,
) -> Result<Vec<Orphan>, ElbError> {
    let prefix = tg_prefix();
    let nlbs: BTreeSet<&str> = ctx
        .fleet
        .values()
        .map(|r| r.config.nlb_arn.as_str())
        .collect();
    // A group serving another load balancer is not one of ours (ours only ever serve the
    // fleet's NLBs): another deployment's groups cost no DescribeTags.
    let ours_or_loose =
        |lbs: &[String]| lbs.is_empty() || lbs.iter().any(|l| nlbs.contains(l.as_str()));
    let mut candidates: Vec<(String, String)> = snapshot
        .target_groups
        .values()
        .filter(|tg| {
            tg.name.starts_with(&prefix)
                && !known.target_groups.contains(&tg.name)
                && ours_or_loose(&tg.load_balancer_arns)
        })
        .map(|tg| ("target_group".to_owned(), tg.arn.clone()))
        .collect();
    for (router, listeners) in &snapshot.listeners {
        candidates.extend(
            listeners
                .iter()
                .filter(|l| !known.ports.contains(&(router.clone(), l.port)))
                .map(|l| ("listener".to_owned(), l.arn.clone())),
        );
    }
    if candidates.is_empty() {
        return Ok(vec![]);
    }
    let arns: Vec<String> = candidates.iter().map(|(_, a)| a.clone()).collect();
    let tags = ctx.elb.tags_of(&arns).await?;
    let fleet: BTreeSet<String> = ctx.fleet.keys().cloned().collect();
    Ok(candidates
        .into_iter()
        .filter_map(|(kind, arn)| {
            let (router, route_id) =
                orphan_of(tags.get(&arn)?, &ctx.config.deployment, &fleet, |r, id| {
                    known.has(r, id)
                })?;
            Some(Orphan {
                kind,
                arn,
                router,
                route_id,
                first_seen: None,
                deleted: false,
            })
        })
        .collect())
}

/// Records first-seen times, deletes orphans past the grace period (listeners before target
/// groups; only in a real run) and forgets records of resources no longer orphaned. A run the
/// budget stopped early deletes too: orphans are found against the whole route listing (read
/// after the ELBv2 snapshot), not against the routes audited, and a paced run over more routes
/// than its budget covers is never complete.
pub(super) async fn settle_orphans(
    ctx: &Context,
    state: &AuditRecords,
    mut found: Vec<Orphan>,
    dry_run: bool,
    report: &mut AuditReport,
) {
    let now = Utc::now().timestamp();
    let grace = ctx.config.orphan_grace.as_secs() as i64;
    found.sort_by_key(|o| (o.kind != "listener", o.arn.clone()));
    for o in &mut found {
        let first = state.orphans.get(&o.arn).copied();
        if first.is_none() && !dry_run {
            if let Err(e) = ctx
                .store
                .put_orphan(OrphanRecord {
                    arn: &o.arn,
                    kind: &o.kind,
                    router: &o.router,
                    route_id: &o.route_id,
                    first_seen: now,
                })
                .await
            {
                report.errors.push(RouteFailure {
                    route_id: o.route_id.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        }
        let first = first.or((!dry_run).then_some(now));
        o.first_seen = first.and_then(|t| DateTime::from_timestamp(t, 0));
        let due = first.is_some_and(|t| now - t >= grace);
        info!(kind = %o.kind, arn = %o.arn, router = %o.router, route_id = %o.route_id, first_seen = o.first_seen.map(|t| t.to_rfc3339()), due, dry_run, "orphan");
        if !due || dry_run {
            continue;
        }
        let deleted = if o.kind == "listener" {
            ctx.elb.delete_listener(&o.arn).await
        } else {
            ctx.elb.delete_target_group(&o.arn).await
        };
        match deleted {
            Ok(()) => {
                o.deleted = true;
                report.orphans.deleted += 1;
                info!(kind = %o.kind, arn = %o.arn, route_id = %o.route_id, "orphan deleted");
            }
            Err(e) => report.errors.push(RouteFailure {
                route_id: o.route_id.clone(),
                error: e.to_string(),
            }),
        }
    }
    if !dry_run {
        let keep: BTreeSet<&str> = found
            .iter()
            .filter(|o| !o.deleted)
            .map(|o| o.arn.as_str())
            .collect();
        for arn in state.orphans.keys().filter(|a| !keep.contains(a.as_str())) {
            if let Err(e) = ctx.store.forget_orphan(arn).await {
                report.errors.push(RouteFailure {
                    route_id: "orphans".into(),
                    error: e.to_string(),
                });
            }
        }
        for o in found
            .iter()
            .filter(|o| o.deleted && !state.orphans.contains_key(&o.arn))
        {
            let _ = ctx.store.forget_orphan(&o.arn).await;
        }
    }
    report.orphans.found = found;
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn only_resources_with_our_tags_and_a_fleet_router_and_no_route_are_orphans() {
        let fleet: BTreeSet<String> = ["r1".to_owned()].into();
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ours = tags(&[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_DEPLOYMENT, "plr-a"),
            (TAG_ROUTER, "r1"),
            (TAG_ROUTE, "gone"),
        ]);
        assert_eq!(
            orphan_of(&ours, "plr-a", &fleet, |_, _| false),
            Some(("r1".into(), "gone".into()))
        );
        assert_eq!(
            orphan_of(&ours, "plr-a", &fleet, |_, _| true),
            None,
            "route exists"
        );
        assert_eq!(
            orphan_of(&ours, "plr-b", &fleet, |_, _| false),
            None,
            "another deployment's, with the same router id and route name"
        );
        let legacy = tags(&[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_ROUTER, "r1"),
            (TAG_ROUTE, "gone"),
        ]);
        assert_eq!(
            orphan_of(&legacy, "plr-a", &fleet, |_, _| false),
            None,
            "no deployment tag: nobody can tell whose"
        );
        let no_owner = tags(&[(TAG_ROUTER, "r1"), (TAG_ROUTE, "gone")]);
        assert_eq!(orphan_of(&no_owner, "plr-a", &fleet, |_, _| false), None);
        let other_fleet = tags(&[
            (TAG_MANAGED_BY, MANAGED_BY),
            (TAG_DEPLOYMENT, "plr-a"),
            (TAG_ROUTER, "r9"),
            (TAG_ROUTE, "gone"),
        ]);
        assert_eq!(orphan_of(&other_fleet, "plr-a", &fleet, |_, _| false), None);
        assert_eq!(
            orphan_of(&BTreeMap::new(), "plr-a", &fleet, |_, _| false),
            None
        );
    }

    #[test]
    fn target_group_prefix_matches_generated_names() {
        assert_eq!(tg_prefix(), "plr-");
        assert!(target_group_name("d", "router", "orders").starts_with(&tg_prefix()));
    }
}
