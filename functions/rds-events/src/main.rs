//! `rds-events` Lambda: configuration, SDK clients, DNS resolver and router facts are built once
//! per cold start and shared by warm invocations; each event goes to [`rds_events::handler`].

use anyhow::Context as _;
use lambda_runtime::{service_fn, LambdaEvent};
use privatelink_router::context::Context;
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // JSON lines when the function's log format is JSON (AWS_LAMBDA_LOG_FORMAT, set by Terraform).
    lambda_runtime::tracing::init_default_subscriber();
    let ctx = Context::from_env()
        .await
        .context("rds-events cannot start")?;
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        rds_events::handler(ctx, event).await
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
