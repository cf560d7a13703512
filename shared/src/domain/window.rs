//! The lookup window: which IPs a name answered recently enough to stay targets.
//!
//! Round-robin names (Aurora reader and custom endpoints) answer one IP per query, so an IP
//! missing from one answer is not gone. Instead of the raw history, each IP keeps its
//! [`Absence`]: the number of counted lookups since it was last answered and, for time-based
//! retention, when it was first missed. That is bounded, and unchanged (so not rewritten) while
//! a stable name keeps answering the same set.
//!
//! Two rules ([`Retention`]):
//! - **Lookups(K)** — single-answer names (instance, cluster writer, proxy): an IP is stale
//!   after K successful lookups without it. A writer's old IP leaves within one event.
//! - **Time** — reader and custom endpoints when their members cannot be read from the RDS
//!   API: an IP is stale only after K *counted* lookups without it **and** at least
//!   `absent_secs` since it was first missed; lookups less than one record TTL apart count as
//!   one, because a caching resolver (Lambda's VPC resolver keeps an answer for its TTL, 5 s
//!   for RDS) repeats the same reader for that long.
//!
//! Choosing `absent_secs` ([`DEFAULT_READER_RETENTION_SECS`] = 2 h): with `n` readers picked
//! uniformly at random per resolution (Aurora user guide, "Amazon Aurora endpoints") and one
//! lookup a minute, a live reader is absent from `m` lookups in a row with probability
//! `((n-1)/n)^m`. A streak of `m` starts at most once per lookup per reader, so the expected
//! wrongful removals per year per route are at most `n × 525,600 × ((n-1)/n)^m`. For `n = 8`,
//! 2 h is `m = 120`: `8 × 525,600 × (7/8)^120 ≈ 8 × 525,600 × 1.1e-7 ≈ 0.47`, and a streak
//! must also *start* (the reader was answered just before: factor `1/8`), giving ≈ 0.06 a year
//! — less than once in 16 years. (1 h, `m = 60`, would give ≈ 170 a year.) A dead reader's IP
//! meanwhile fails its target group health check, so the NLB stops sending to it long before
//! the window lets it go. `tests` in this module check it by simulation.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default time an IP of a reader or custom endpoint must be absent before it is removed
/// (see the module documentation for the arithmetic).
pub const DEFAULT_READER_RETENTION_SECS: i64 = 7_200;

/// TTL of RDS endpoint DNS records, in seconds (knowledge-center "rds-ip-address-issues"):
/// lookups closer together than this may be one cached answer.
pub const RDS_RECORD_TTL_SECS: i64 = 5;

/// How long an IP the name stopped answering is kept (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Stale after this many successful lookups without the IP.
    Lookups(u32),
    /// Stale after `lookups` counted lookups and `absent_secs` seconds without the IP; lookups
    /// less than `ttl_secs` apart count as one.
    Time {
        /// K: counted lookups without the IP.
        lookups: u32,
        /// Seconds since the IP was first missed.
        absent_secs: i64,
        /// Record TTL: lookups closer than this count once.
        ttl_secs: i64,
    },
}

/// How long one IP has been missing from the answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Absence {
    /// Counted successful lookups since the IP was last answered (`0` = in the newest).
    pub misses: u32,
    /// When it was first missed (epoch seconds; time-based retention only).
    pub since: Option<i64>,
    /// When the last miss was counted (epoch seconds; time-based retention only).
    pub counted_at: Option<i64>,
}

/// Stored form: a bare count for present IPs and lookup-based windows (the format routes were
/// written in before time-based retention), an object otherwise.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
enum StoredAbsence {
    /// Successful lookups since the IP was last answered (0: in the newest answer).
    Count(u32),
    /// For Aurora reader and custom endpoints followed by DNS: misses and when they began.
    Timed {
        /// Successful lookups since the IP was last answered.
        misses: u32,
        /// Epoch seconds of the first miss.
        since: Option<i64>,
        /// Epoch seconds of the last miss counted.
        counted_at: Option<i64>,
    },
}

/// The stored (and API) form: a bare miss count, or `{misses, since, counted_at}` (the private
/// `StoredAbsence` above).
impl JsonSchema for Absence {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Absence".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        StoredAbsence::json_schema(generator)
    }
}

impl Serialize for Absence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.since.is_none() && self.counted_at.is_none() {
            StoredAbsence::Count(self.misses).serialize(s)
        } else {
            StoredAbsence::Timed {
                misses: self.misses,
                since: self.since,
                counted_at: self.counted_at,
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Absence {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match StoredAbsence::deserialize(d)? {
            StoredAbsence::Count(misses) => Absence {
                misses,
                ..Absence::default()
            },
            StoredAbsence::Timed {
                misses,
                since,
                counted_at,
            } => Absence {
                misses,
                since,
                counted_at,
            },
        })
    }
}

/// Per-IP absence since the IP was last answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Sightings(BTreeMap<IpAddr, Absence>);

impl Sightings {
    /// Folds one successful answer made at `at` (epoch seconds) in; IPs that have been absent
    /// long enough under `retention` drop out.
    pub fn record(&mut self, answer: &BTreeSet<IpAddr>, at: i64, retention: Retention) {
        for (ip, absence) in self.0.iter_mut() {
            if answer.contains(ip) {
                continue;
            }
            match retention {
                Retention::Lookups(_) => absence.misses = absence.misses.saturating_add(1),
                Retention::Time { ttl_secs, .. } => {
                    let counts = absence.counted_at.is_none_or(|c| at - c >= ttl_secs);
                    if counts {
                        absence.misses = absence.misses.saturating_add(1);
                        absence.counted_at = Some(at);
                        absence.since.get_or_insert(at);
                    }
                }
            }
        }
        for ip in answer {
            self.0.insert(*ip, Absence::default());
        }
        self.0.retain(|_, a| match retention {
            Retention::Lookups(k) => a.misses < k.max(1),
            Retention::Time {
                lookups,
                absent_secs,
                ..
            } => a.misses < lookups.max(1) || a.since.is_none_or(|s| at - s < absent_secs),
        });
    }

    /// Forgets one IP (another route's database answers it now: it is no longer this route's).
    pub fn forget(&mut self, ip: IpAddr) {
        self.0.remove(&ip);
    }

    /// Forgets everything (the source was deleted: its IPs may belong to someone else now).
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// IPs seen in the window, with their counted misses.
    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, u32)> + '_ {
        self.0.iter().map(|(ip, a)| (*ip, a.misses))
    }

    /// IPs seen in the window.
    pub fn ips(&self) -> BTreeSet<IpAddr> {
        self.0.keys().copied().collect()
    }

    /// IPs in the newest answer.
    pub fn newest(&self) -> BTreeSet<IpAddr> {
        self.iter()
            .filter(|(_, m)| *m == 0)
            .map(|(ip, _)| ip)
            .collect()
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

    const K3: Retention = Retention::Lookups(3);
    const READER: Retention = Retention::Time {
        lookups: 3,
        absent_secs: DEFAULT_READER_RETENTION_SECS,
        ttl_secs: RDS_RECORD_TTL_SECS,
    };

    #[test]
    fn round_robin_answers_keep_both_ips_within_the_window() {
        let mut s = Sightings::default();
        for answer in [[1], [2], [1], [2]] {
            s.record(&set(&answer), 0, K3);
        }
        assert_eq!(s.ips(), set(&[1, 2]));
    }

    #[test]
    fn ip_leaves_after_k_answers_without_it() {
        let mut s = Sightings::default();
        s.record(&set(&[1]), 0, K3);
        s.record(&set(&[2]), 0, K3);
        s.record(&set(&[2]), 0, K3);
        assert!(s.ips().contains(&IpAddr::from([10, 0, 0, 1])));
        s.record(&set(&[2]), 0, K3);
        assert_eq!(s.ips(), set(&[2]));
    }

    #[test]
    fn a_stable_answer_leaves_the_state_unchanged() {
        for retention in [K3, READER] {
            let mut s = Sightings::default();
            s.record(&set(&[1, 2]), 0, retention);
            let before = s.clone();
            s.record(&set(&[1, 2]), 60, retention);
            assert_eq!(s, before);
        }
    }

    #[test]
    fn lookups_within_one_ttl_count_as_one_for_readers() {
        let mut s = Sightings::default();
        s.record(&set(&[1, 2]), 0, READER);
        // Three confirming lookups 50 ms apart behind a caching resolver: one reader each time.
        for _ in 0..3 {
            s.record(&set(&[1]), 60, READER);
        }
        assert_eq!(s.iter().collect::<Vec<_>>()[1].1, 1, "one counted miss");
        // Even K counted misses keep a reader until it has been absent for the retention time.
        for minute in 2..=4 {
            s.record(&set(&[1]), minute * 60, READER);
        }
        assert!(s.ips().contains(&IpAddr::from([10, 0, 0, 2])));
        s.record(&set(&[1]), 60 + DEFAULT_READER_RETENTION_SECS, READER);
        assert_eq!(s.ips(), set(&[1]), "gone after the retention time");
    }

    #[test]
    fn routes_stored_before_time_retention_still_load() {
        let old: Sightings = serde_json::from_str(r#"{"10.0.0.1":0,"10.0.0.2":2}"#).unwrap();
        assert_eq!(old.iter().collect::<Vec<_>>()[1].1, 2);
        let mut s = Sightings::default();
        s.record(&set(&[1, 2]), 0, READER);
        s.record(&set(&[1]), 60, READER);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"10.0.0.1":0,"10.0.0.2":{"misses":1,"since":60,"counted_at":60}}"#
        );
        assert_eq!(serde_json::from_str::<Sightings>(&json).unwrap(), s);
    }

    /// xorshift64*: a deterministic generator for the simulations (no dependency needed).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
        }
    }

    /// Live readers lost over `days` of one lookup a minute, each answering one of `readers`
    /// IPs uniformly at random.
    fn live_readers_removed(readers: u8, days: i64, retention: Retention, seed: u64) -> u32 {
        let mut rng = Rng(seed);
        let mut s = Sightings::default();
        let mut removed = 0;
        for minute in 0..days * 1440 {
            let pick = rng.below(u64::from(readers)) as u8 + 1;
            s.record(&set(&[pick]), minute * 60, retention);
            let seen = s.ips().len();
            if minute > 1440 && seen < usize::from(readers) {
                removed += (usize::from(readers) - seen) as u32;
                s.record(
                    &set(&(1..=readers).collect::<Vec<_>>()),
                    minute * 60,
                    retention,
                );
            }
        }
        removed
    }

    #[test]
    fn simulated_reader_endpoint_keeps_every_live_reader_for_sixty_days() {
        for (readers, seed) in [(4, 1), (8, 2), (8, 3)] {
            assert_eq!(
                live_readers_removed(readers, 60, READER, seed),
                0,
                "{readers} readers"
            );
        }
        // The lookup-count rule alone drops live readers all the time: the reason for `Time`.
        assert!(live_readers_removed(4, 2, K3, 1) > 100);
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
                s.record(a, 0, Retention::Lookups(k));
            }
            let naive: BTreeSet<IpAddr> = answers.iter().rev().take(k as usize).flatten().copied().collect();
            prop_assert_eq!(s.ips(), naive);
        }

        #[test]
        fn time_retention_never_drops_an_ip_seen_within_the_retention_time(
            answers in proptest::collection::vec((proptest::collection::btree_set(0u8..6, 1..3), 0i64..900), 1..40),
        ) {
            let mut s = Sightings::default();
            let mut at = 0;
            let mut last_seen: BTreeMap<IpAddr, i64> = BTreeMap::new();
            for (a, gap) in &answers {
                at += gap;
                let a: BTreeSet<IpAddr> = a.iter().map(|o| IpAddr::from([10, 0, 0, *o])).collect();
                s.record(&a, at, READER);
                for ip in &a {
                    last_seen.insert(*ip, at);
                }
                for (ip, seen) in &last_seen {
                    if at - seen < DEFAULT_READER_RETENTION_SECS {
                        prop_assert!(s.ips().contains(ip), "{} seen at {}, now {}", ip, seen, at);
                    }
                }
            }
        }
    }
}
