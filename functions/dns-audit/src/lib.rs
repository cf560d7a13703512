//! The `dns-audit` Lambda's handler: thin glue from an EventBridge scheduled event to the
//! minute DNS watch (`{"mode": "watch"}`, [`privatelink_router::watch::watch`]) or the full
//! drift audit (no mode, `{"mode": "full"}`, [`privatelink_router::audit::audit`]); both take
//! `{"dry_run": true}`. Every rule lives in the library.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use privatelink_router::audit::{audit, AuditRequest, Mode};
use privatelink_router::context::Context;
use privatelink_router::watch::watch;
use serde_json::Value;

/// The Lambda runtime, re-exported so tests and benchmarks build [`LambdaEvent`]s with the
/// same version.
pub use lambda_runtime;
use lambda_runtime::LambdaEvent;

/// Time kept back from the Lambda deadline for in-flight routes, orphans and the cursor: a
/// tenth of the time left, at least [`MIN_DEADLINE_MARGIN`] and at most this. A fixed 20 s
/// left nothing to do under a short deadline (`cargo lambda watch`, a small timeout).
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(20);
/// The least time kept back from the deadline (one route's calls under the SDK's attempt
/// timeout need about this much to finish).
pub const MIN_DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// Runs one audit and returns its report as JSON; an error (so Lambda retries) only when the
/// payload is malformed or the run could not read the table or ELBv2.
pub async fn handler(
    ctx: &Context,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let mut req = AuditRequest::from_event(&event.payload)?;
    req.deadline = stop_before(event.context.deadline);
    match req.mode {
        Mode::Watch => Ok(serde_json::to_value(
            watch(ctx, req.dry_run, req.deadline).await?,
        )?),
        Mode::Full => Ok(serde_json::to_value(audit(ctx, req).await?)?),
    }
}

/// The instant the audit must stop starting routes: the invocation deadline (epoch ms; `0`
/// when unknown) less a margin that scales with the time left ([`DEADLINE_MARGIN`]).
pub fn stop_before(deadline_epoch_ms: u64) -> Option<Instant> {
    if deadline_epoch_ms == 0 {
        return None;
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    let left = Duration::from_millis(deadline_epoch_ms.saturating_sub(now_ms));
    let margin = (left / 10).clamp(MIN_DEADLINE_MARGIN, DEADLINE_MARGIN);
    Some(Instant::now() + left.saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_deadline_leaves_only_the_configured_budget() {
        assert!(stop_before(0).is_none());
    }

    #[test]
    fn a_short_deadline_keeps_a_short_margin() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        // 30 s left (cargo lambda's default timeout): 3 s kept back, 27 s to work.
        let left = stop_before(now_ms + 30_000)
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_millis(26_500) && left <= Duration::from_secs(27),
            "{left:?}"
        );
        // 5 s left: the 1 s floor.
        let left = stop_before(now_ms + 5_000)
            .unwrap()
            .saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_millis(3_500) && left <= Duration::from_secs(4),
            "{left:?}"
        );
    }

    #[test]
    fn deadline_keeps_a_margin_for_the_end_of_the_run() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let stop = stop_before(now_ms + 300_000).unwrap();
        let left = stop.saturating_duration_since(Instant::now());
        assert!(
            left <= Duration::from_secs(280) && left > Duration::from_secs(278),
            "{left:?}"
        );
    }
}
