//! `plr audit`: audit every route now, with a progress bar and a budget.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use privatelink_router::context::Context;
use privatelink_router::flows::audit::{AuditRequest, Progress};

use crate::output::print;
use crate::Output;

/// Runs `audit`.
pub(crate) async fn run(
    mut ctx: Context,
    output: Output,
    dry_run: &bool,
    budget: &Option<u64>,
) -> anyhow::Result<()> {
    if let Some(secs) = budget {
        ctx.config.audit_budget = Duration::from_secs(*secs);
    }
    // Drawn on stderr when it is a terminal; hidden in pipes and CI.
    // Drawn from the first route on (no `0/0` frame while seeds and the snapshot load).
    let template = format!(
        "auditing {{bar:30}} {{pos}}/{{len}} routes, {{elapsed}} (budget {} s)",
        ctx.config.audit_budget.as_secs()
    );
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let req = AuditRequest {
        dry_run: *dry_run,
        progress: Some(Progress(Arc::new(move |done, total| {
            shown.set_length(total as u64);
            shown.set_position(done as u64);
        }))),
        ..Default::default()
    };
    let report = privatelink_router::flows::audit::audit(&ctx, req).await;
    bar.finish_and_clear();
    let report = report?;
    let v = serde_json::to_value(&report)?;
    let rows = report.rows().into_iter().map(|(k, v)| vec![k, v]).collect();
    print(output, &v, &["audit", "value"], rows);
    Ok(())
}
