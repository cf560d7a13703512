//! `plr ports`: every router's listener port allocation, and what each owner holds against the
//! quotas.

use std::collections::BTreeMap;

use privatelink_router::adapters::aws::store::audit_records::RouteItem;
use privatelink_router::context::Context;
use serde_json::json;

use crate::output::print;
use crate::Output;

/// The targets registered in every target group the router's NLB forwards to, draining ones
/// included (they count until deregistered), as ELB counts them against its quota; `None`
/// when the NLB cannot be read (a warning says so elsewhere).
async fn registered_targets(ctx: &Context, router: &str) -> Option<usize> {
    use privatelink_router::adapters::aws::elb::Targets;
    let router = ctx.fleet.get(router)?;
    let listeners = ctx.elb.listeners(&router.config.nlb_arn).await.ok()?;
    let groups: std::collections::BTreeSet<&str> = listeners
        .iter()
        .filter_map(|l| l.forward_to.as_deref())
        .collect();
    let mut n = 0;
    for tg in groups {
        n += ctx.elb.describe_targets(tg).await.ok()?.len();
    }
    Some(n)
}

/// Runs `ports`.
pub(crate) async fn run(ctx: &Context, output: Output) -> anyhow::Result<()> {
    let quota = ctx.config.targets_per_nlb;
    let mut all = BTreeMap::new();
    let mut rows = Vec::new();
    for router in &ctx.config.fleet {
        let (entries, active) = ctx.store.ports(&router.id).await?;
        for e in &entries {
            rows.push(vec![
                e.router.clone(),
                e.port.to_string(),
                e.route_id.clone(),
                e.state.clone(),
                e.until
                    .and_then(|u| chrono::DateTime::from_timestamp(u, 0))
                    .map_or_else(
                        || "-".into(),
                        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    ),
            ]);
        }
        let targets = registered_targets(ctx, &router.id).await;
        all.insert(
            router.id.clone(),
            json!({"active": active, "ports": entries, "targets": targets, "target_quota": quota}),
        );
    }
    // What each owner that is not an admin holds against the quotas (issue #28: one caller must
    // not fill the routers).
    let quotas = ctx.config.exposure.quotas;
    let mut owners: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for item in ctx.store.route_items().await? {
        if let RouteItem::Route(route) = item {
            if !ctx.config.admin_principals.contains(&route.owner) {
                let held = owners.entry(route.owner.clone()).or_default();
                held.0 += 1;
                held.1 += usize::from(route.spec.tls_name);
            }
        }
    }
    let cap = |n: usize| {
        if n == 0 {
            "no cap".to_owned()
        } else {
            n.to_string()
        }
    };
    let owner_rows: Vec<Vec<String>> = owners
        .iter()
        .map(|(owner, (routes, names))| {
            vec![
                owner.clone(),
                format!("{routes} of {}", cap(quotas.routes_per_owner)),
                format!("{names} of {}", cap(quotas.tls_names_per_owner)),
            ]
        })
        .collect();
    let owners_json: BTreeMap<&String, serde_json::Value> = owners
        .iter()
        .map(|(o, (r, t))| (o, json!({"routes": r, "tls_names": t})))
        .collect();
    let value = json!({"routers": all, "quotas": quotas, "owners": owners_json});
    print(
        output,
        &value,
        &["router", "port", "route", "state", "until"],
        rows,
    );
    if output != Output::Json {
        let counts: Vec<String> = all
            .iter()
            .map(|(id, v)| match v["targets"].as_u64() {
                Some(n) => format!("{id} {n} of {quota}"),
                None => format!("{id} unknown"),
            })
            .collect();
        println!(
            "\ntargets per router (every target group its NLB uses, a target in N groups counting N times; placement keeps each NLB under {quota}, ROUTER_TARGETS_PER_NLB: the quota with cross-zone load balancing, and within the quota per zone without it): {}",
            counts.join(", ")
        );
        println!(
            "\nquotas per owner that is not an admin: routes {}, TLS names {}; addresses per answer: {}",
            cap(quotas.routes_per_owner),
            cap(quotas.tls_names_per_owner),
            cap(quotas.targets_per_route)
        );
        print(
            output,
            &value,
            &["owner", "routes", "tls names"],
            owner_rows,
        );
    }
    Ok(())
}
