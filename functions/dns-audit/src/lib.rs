//! The `dns-audit` Lambda's handler: thin glue from an EventBridge scheduled event to the
//! minute DNS watch (`{"mode": "watch"}`, [`privatelink_router::flows::watch::watch`]) or the full
//! drift audit (no mode, `{"mode": "full"}`, [`privatelink_router::flows::audit::audit`]); both take
//! `{"dry_run": true}`. Every rule lives in the library.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use privatelink_router::context::Context;
use privatelink_router::flows::audit::{audit, AuditRequest, Mode};
use privatelink_router::flows::watch::watch;
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

    /// Time to work when `secs` are left before the deadline.
    fn work_time(secs: u64) -> Duration {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        stop_before(now_ms + secs * 1000)
            .unwrap()
            .saturating_duration_since(Instant::now())
    }

    #[test]
    fn the_margin_is_a_tenth_of_the_time_left_from_one_to_twenty_seconds() {
        for (left, work) in [(300, 280), (30, 27), (5, 4)] {
            let got = work_time(left);
            assert!(
                got <= Duration::from_secs(work)
                    && got > Duration::from_secs(work) - Duration::from_millis(500),
                "{left} s left: {got:?} to work, expected {work} s"
            );
        }
    }
}
