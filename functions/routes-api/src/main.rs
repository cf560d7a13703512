//! `routes-api` Lambda: JSON logs, then configuration, SDK clients, DNS resolver and router
//! facts built once per cold start and shared by warm invocations; each request goes to
//! [`routes_api::handle_event`] (`lambda_http`'s adapter around [`routes_api::serve`]).

use std::convert::Infallible;

use anyhow::Context as _;
use lambda_runtime::{service_fn, LambdaEvent};
use privatelink_router::context::Context;
use routes_api::aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One JSON object per line; level from AWS_LAMBDA_LOG_LEVEL, else RUST_LOG, else info.
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(
            EnvFilter::try_new(level.to_ascii_lowercase())
                .unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let ctx = Context::from_env()
        .await
        .context("routes-api cannot start")?;
    let ctx = &ctx;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, Infallible>(routes_api::handle_event(ctx, event).await)
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!(e))
}
