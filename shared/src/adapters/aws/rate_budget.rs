//! A client-side rate budget: a token bucket that a run's ELBv2 calls share, so a long audit
//! stays under the account's ELBv2 API limits instead of being throttled by them. Target
//! changes inside a route's apply lease are not paced ([`crate::adapters::aws::elb::Elb::unpaced`]).
//!
//! ELBv2 throttles each account per region with token buckets: for the `Describe*` actions a
//! bucket of 40 tokens refilled at 10 tokens a second, shared with every other caller in the
//! account and region ("Request throttling for the ELB API", Elastic Load Balancing user
//! guide). The full drift audit reads for every route, so at a few hundred routes an
//! unpaced run alone would drain that bucket; paced at a few calls a second it leaves most of
//! it to the event and API paths and to the rest of the account.
//!
//! The bucket is `governor`'s (GCRA, the well-kept crate for this) with a burst of one call:
//! calls are spaced `1 / calls_per_second` apart, so in any window of `w` seconds a run makes
//! at most `1 + calls_per_second × w` calls.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A shared token bucket (cheap to clone: clones share the bucket).
#[derive(Clone)]
pub struct RateBudget {
    limiter: Arc<DefaultDirectRateLimiter>,
    calls_per_second: u32,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateBudget({}/s)", self.calls_per_second)
    }
}

impl RateBudget {
    /// A budget of `calls_per_second` calls a second, burst of one; `None` for 0 (no budget).
    pub fn per_second(calls_per_second: u32) -> Option<Self> {
        let rate = NonZeroU32::new(calls_per_second)?;
        let quota = Quota::per_second(rate).allow_burst(NonZeroU32::MIN);
        Some(Self {
            limiter: Arc::new(RateLimiter::direct(quota)),
            calls_per_second,
        })
    }

    /// The budget's rate, in calls per second.
    pub fn calls_per_second(&self) -> u32 {
        self.calls_per_second
    }

    /// Waits until the bucket holds a token and takes it.
    pub async fn take(&self) {
        self.limiter.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn zero_means_no_budget() {
        assert!(RateBudget::per_second(0).is_none());
    }

    #[tokio::test]
    async fn calls_are_spaced_by_the_rate() {
        let budget = RateBudget::per_second(50).expect("a budget");
        let started = Instant::now();
        for _ in 0..11 {
            budget.take().await;
        }
        // The first call is free; ten more at 50/s take 200 ms.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
    }
}
