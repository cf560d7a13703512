//! `plr plan FILE`: what the router would do with the seed's databases, changing nothing.

use std::path::Path;

use anyhow::Context as _;
use privatelink_router::context::Context;
use privatelink_router::domain::seed_inputs::SeedInputs;
use privatelink_router::flows::service::{self, Caller, CreateRequest};
use serde_json::{json, Value};

use crate::output::print;
use crate::Output;

/// Runs `plan`.
pub(crate) async fn run(
    ctx: &Context,
    caller: &Caller,
    output: Output,
    file: &Path,
) -> anyhow::Result<()> {
    let raw =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let json: Value =
        serde_json::from_str(&raw).with_context(|| format!("{} is not JSON", file.display()))?;
    let inputs = SeedInputs::from_json(&json)?;
    let health_check = inputs.health_check()?;
    let mut planned = Vec::new();
    let mut rows = Vec::new();
    for db in inputs.databases()? {
        let req = CreateRequest {
            name: db.route_id.clone(),
            host: db.host.clone(),
            port: i64::from(db.port),
            protocol: None,
            health_check: Some(health_check),
            tags: Default::default(),
            rds_identifier: None,
            account_id: None,
            rds_arn: None,
            listener_port: Some(i64::from(db.listener_port)),
            router: None,
            target_group: None,
            tls_name: false,
            engine: None,
            idle_timeout_seconds: None,
        };
        let p = service::preview(ctx, caller, &req, &mut planned).await?;
        rows.push(json!({
            "route": db.route_id,
            "host": db.host,
            "port": db.port,
            "listener_port": p.listener_port,
            "verdict": p.verdict,
            "resolved": p.resolved,
            "detail": p.detail,
            "source": db.source,
        }));
    }
    let table_rows = rows
        .iter()
        .map(|r| {
            vec![
                r["route"].as_str().unwrap_or_default().to_owned(),
                r["host"].as_str().unwrap_or_default().to_owned(),
                r["listener_port"].to_string(),
                r["verdict"].as_str().unwrap_or_default().to_owned(),
                r["detail"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    print(
        output,
        &json!({"plan": rows}),
        &["route", "host", "listener port", "verdict", "detail"],
        table_rows,
    );
    Ok(())
}
