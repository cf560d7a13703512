//! `dns-audit` Lambda: configuration, SDK clients, DNS resolver and router facts are built once
//! per cold start and shared by warm invocations; each scheduled event goes to
//! [`dns_audit::handler`].

use anyhow::Context as _;
use lambda_runtime::{service_fn, LambdaEvent};
use privatelink_router::context::Context;
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One JSON object per log line, whatever the function's log format: the summary line's
    // fields (counts, calls by operation) stay queryable in CloudWatch Logs Insights.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(level.to_ascii_lowercase()))
        .with_target(false)
        .with_current_span(false)
        .init();
    let ctx = Context::from_env()
        .await
        .context("dns-audit cannot start")?;
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        dns_audit::handler(ctx, event).await
    }))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
