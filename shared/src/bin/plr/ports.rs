//! `plr ports`: every router's listener port allocation.

use std::collections::BTreeMap;

use privatelink_router::context::Context;
use serde_json::json;

use crate::output::print;
use crate::Output;

/// Runs `ports`.
pub(crate) async fn run(ctx: &Context, output: Output) -> anyhow::Result<()> {
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
        all.insert(
            router.id.clone(),
            json!({"active": active, "ports": entries}),
        );
    }
    print(
        output,
        &json!({"routers": all}),
        &["router", "port", "route", "state", "until"],
        rows,
    );
    Ok(())
}
