//! The `rds-events` Lambda's handler: thin glue from an EventBridge RDS event to
//! [`privatelink_router::flows::events::handle_until`]. Every rule lives in the library.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use privatelink_router::context::Context;
use privatelink_router::flows::events;
use serde_json::Value;

/// The Lambda runtime, re-exported so tests and benchmarks build [`LambdaEvent`]s with the
/// same version.
pub use lambda_runtime;
use lambda_runtime::LambdaEvent;

/// Time kept back from the Lambda deadline for the last reconcile and the answer.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// Handles one RDS event: a JSON summary on success (malformed, refused and ignored events
/// included); an error — so Lambda retries the event — only when AWS could not be reached.
pub async fn handler(
    ctx: &Context,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let hard_deadline = poll_deadline(event.context.deadline);
    let summary = events::handle_until(ctx, &event.payload, hard_deadline).await?;
    Ok(serde_json::to_value(summary)?)
}

/// The instant DNS polling must stop: the invocation deadline (epoch ms; `0` when unknown)
/// minus [`DEADLINE_MARGIN`].
pub fn poll_deadline(deadline_epoch_ms: u64) -> Option<Instant> {
    if deadline_epoch_ms == 0 {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms));
    Some(Instant::now() + left.saturating_sub(DEADLINE_MARGIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_deadline_leaves_the_configured_one() {
        assert!(poll_deadline(0).is_none());
    }

    #[test]
    fn deadline_keeps_a_margin_for_the_last_reconcile() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let stop = poll_deadline(now_ms + 60_000).unwrap();
        let left = stop.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(50) && left > Duration::from_secs(48),
            "{left:?}"
        );
        let stop = poll_deadline(now_ms + 1_000).unwrap();
        assert!(stop <= Instant::now() + Duration::from_millis(1));
    }
}
