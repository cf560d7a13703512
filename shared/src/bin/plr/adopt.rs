//! `plr adopt --seed FILE`: take over a running seed deployment, ports and target groups kept.

use std::path::Path;

use anyhow::Context as _;
use privatelink_router::context::Context;
use privatelink_router::domain::seed_inputs::SeedInputs;
use privatelink_router::flows::adopt::adopt;
use privatelink_router::flows::service::Caller;
use serde_json::Value;

use crate::output::print;
use crate::Output;

/// Runs `adopt`.
pub(crate) async fn run(
    ctx: &Context,
    caller: &Caller,
    output: Output,
    seed: &Path,
    router: &Option<String>,
    dry_run: &bool,
) -> anyhow::Result<()> {
    let raw =
        std::fs::read_to_string(seed).with_context(|| format!("reading {}", seed.display()))?;
    let json: Value =
        serde_json::from_str(&raw).with_context(|| format!("{} is not JSON", seed.display()))?;
    let inputs = SeedInputs::from_json(&json)?;
    let report = adopt(ctx, caller, &inputs, router.as_deref(), *dry_run).await?;
    let rows = report
        .routes
        .iter()
        .map(|a| {
            vec![
                a.route_id.clone(),
                a.host.clone(),
                a.listener_port.to_string(),
                a.target_group.clone().unwrap_or_default(),
                a.action.clone(),
                a.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print(
        output,
        &serde_json::to_value(&report)?,
        &[
            "route",
            "host",
            "listener port",
            "target group",
            "action",
            "note",
        ],
        rows,
    );
    Ok(())
}
