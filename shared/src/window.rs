//! The K-lookup window: which IPs a name answered in its last K successful lookups.
//!
//! Round-robin names (Aurora reader endpoints) answer one IP per query, so an IP missing from
//! one answer is not gone. An IP is stale only after K successful lookups without it. Instead of
//! the raw history, each IP keeps the number of successful lookups since it was last answered:
//! equivalent, bounded, and unchanged (so not rewritten) while a stable name keeps answering the
//! same set.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Per-IP count of successful lookups since the IP was last answered (`0` = in the newest).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sightings(BTreeMap<IpAddr, u32>);

impl Sightings {
    /// Folds one successful answer in; IPs absent from the last `window` answers drop out.
    pub fn record(&mut self, answer: &BTreeSet<IpAddr>, window: u32) {
        let window = window.max(1);
        for misses in self.0.values_mut() {
            *misses = misses.saturating_add(1);
        }
        for ip in answer {
            self.0.insert(*ip, 0);
        }
        self.0.retain(|_, misses| *misses < window);
    }

    /// Forgets everything (the source was deleted: its IPs may belong to someone else now).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// IPs seen in the window, with their miss counts.
    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, u32)> + '_ {
        self.0.iter().map(|(ip, m)| (*ip, *m))
    }

    /// IPs seen in the window.
    pub fn ips(&self) -> BTreeSet<IpAddr> {
        self.0.keys().copied().collect()
    }

    /// True when nothing was seen yet (or the window was cleared).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(ips: &[u8]) -> BTreeSet<IpAddr> {
        ips.iter().map(|o| IpAddr::from([10, 0, 0, *o])).collect()
    }

    #[test]
    fn round_robin_answers_keep_both_ips_within_the_window() {
        let mut s = Sightings::default();
        for answer in [[1], [2], [1], [2]] {
            s.record(&set(&answer), 3);
        }
        assert_eq!(s.ips(), set(&[1, 2]));
    }

    #[test]
    fn ip_leaves_after_k_answers_without_it() {
        let mut s = Sightings::default();
        s.record(&set(&[1]), 3);
        s.record(&set(&[2]), 3);
        s.record(&set(&[2]), 3);
        assert!(s.ips().contains(&IpAddr::from([10, 0, 0, 1])));
        s.record(&set(&[2]), 3);
        assert_eq!(s.ips(), set(&[2]));
    }

    #[test]
    fn a_stable_answer_leaves_the_state_unchanged() {
        let mut s = Sightings::default();
        s.record(&set(&[1, 2]), 3);
        let before = s.clone();
        s.record(&set(&[1, 2]), 3);
        assert_eq!(s, before);
    }

    proptest! {
        #[test]
        fn sightings_equal_the_union_of_the_last_k_answers(
            answers in proptest::collection::vec(proptest::collection::btree_set(0u8..6, 0..3), 0..20),
            k in 1u32..5,
        ) {
            let mut s = Sightings::default();
            let answers: Vec<BTreeSet<IpAddr>> = answers.iter().map(|a| a.iter().map(|o| IpAddr::from([10, 0, 0, *o])).collect()).collect();
            for a in &answers {
                s.record(a, k);
            }
            let naive: BTreeSet<IpAddr> = answers.iter().rev().take(k as usize).flatten().copied().collect();
            prop_assert_eq!(s.ips(), naive);
        }
    }
}
