//! The lookup window: which IPs a name answered recently enough to stay targets.
//!
//! Round-robin names (Aurora reader and custom endpoints) answer one IP per query, so an IP
//! missing from one answer is not gone. Instead of the raw history, each IP keeps its
//! [`Absence`]: the number of counted lookups since it was last answered and, for time-based
//! retention, when it was first missed. That is bounded, and unchanged (so not rewritten) while
//! a stable name keeps answering the same set.
//!
//! Three rules ([`Retention`]):
//! - **Lookups(K)** — single-answer names (instance, cluster writer, proxy): an IP is stale
//!   after K successful lookups without it. A writer's old IP leaves within one event.
//! - **Draws(k)** — names that answer a random 8 of their records per query (Route 53
//!   multivalue answers, [`sampled_retention`]): stale after k answers that differ from the
//!   one before (new draws) without the IP.
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

/// Most records Route 53 puts in one answer with multivalue answer routing ("Route 53 responds
/// to DNS queries with up to eight healthy records", Route 53 developer guide, "Multivalue
/// answer routing"): a name with more records answers a different subset per query.
pub const MULTIVALUE_ANSWER_MAX: usize = 8;

/// True when `answer` shows that the name answers a subset of its records per query: a full
/// multivalue answer ([`MULTIVALUE_ANSWER_MAX`] addresses) that brings back an address an
/// earlier answer left out, while the window holds more addresses than one answer can. An
/// address that left and never returns — a record replaced, a database moved — is no such
/// evidence, so a name whose addresses are replaced keeps its K-lookup window.
pub fn samples_records(sightings: &Sightings, answer: &BTreeSet<IpAddr>) -> bool {
    let returned = answer
        .iter()
        .any(|ip| sightings.0.get(ip).is_some_and(|a| a.misses > 0));
    let window: BTreeSet<&IpAddr> = sightings.0.keys().chain(answer).collect();
    answer.len() == MULTIVALUE_ANSWER_MAX && returned && window.len() > MULTIVALUE_ANSWER_MAX
}

/// How long a sampled name's full answer may repeat unchanged before it is taken for a whole
/// one (seconds): longer than the TTLs resolvers repeat a multivalue answer for (Route 53
/// records are typically 60-300 s), while draws from more than 8 records repeat a subset only
/// by chance (1 in 45 for 10 records). A record set cut to 8 answers the same 8 for good: its
/// departed addresses then leave by the K-lookup window instead of staying forever.
pub const SAMPLED_REPEAT_SECS: i64 = 900;

/// True when `answer` is the newest answer again and no address it leaves out has been
/// counted missing for [`SAMPLED_REPEAT_SECS`] (`now`, epoch seconds): the name stopped
/// answering subsets.
pub fn repeats_too_long(sightings: &Sightings, answer: &BTreeSet<IpAddr>, now: i64) -> bool {
    *answer == sightings.newest()
        && sightings
            .0
            .values()
            .filter(|a| a.misses > 0)
            .all(|a| a.counted_at.is_some_and(|c| now - c >= SAMPLED_REPEAT_SECS))
}

/// The window of a name that answers 8 of its `records` addresses per query: an address
/// stays until `k` new draws ([`Retention::Draws`]) have missed it, `k` chosen so that a live
/// address — missed by one draw with probability `p = (n-8)/n`, `n` records drawn uniformly
/// (Route 53 picks the records at random) — is removed less than once in ten years at one
/// draw a minute: `n × 5,256,000 × p^k < 1`. `n = 10`: `k = 12` (12 minutes of the minute
/// watch); `n = 16`: 27; `n = 40`: 86. A departed address stays that long too, unless another
/// route's database answers it (planner rule 10: a sampled name claims its newest answer
/// only).
pub fn sampled_retention(records: usize) -> Retention {
    let n = records.max(MULTIVALUE_ANSWER_MAX + 1) as f64;
    let p_miss = (n - MULTIVALUE_ANSWER_MAX as f64) / n;
    Retention::Draws(((n * 5_256_000.0).ln() / -p_miss.ln()).ceil() as u32)
}

/// How long an IP the name stopped answering is kept (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Stale after this many successful lookups without the IP.
    Lookups(u32),
    /// Stale after this many *new draws* without the IP: answers that differ from the one
    /// before. A name answering a random subset of its records per query
    /// ([`sampled_retention`]) gives a new subset nearly every time, while a caching resolver
    /// repeats one answer for its TTL; counting only changed answers counts independent
    /// draws whatever the TTL, which the router cannot see.
    Draws(u32),
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
        let repeated = *answer == self.newest();
        for (ip, absence) in self.0.iter_mut() {
            if answer.contains(ip) {
                continue;
            }
            match retention {
                Retention::Lookups(_) => absence.misses = absence.misses.saturating_add(1),
                Retention::Draws(_) if repeated => {}
                Retention::Draws(_) => {
                    absence.misses = absence.misses.saturating_add(1);
                    absence.counted_at = Some(at);
                }
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
            Retention::Lookups(k) | Retention::Draws(k) => a.misses < k.max(1),
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

    /// How many IPs the window holds.
    pub fn len(&self) -> usize {
        self.0.len()
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
    fn sampling_needs_a_returning_address_in_a_full_answer() {
        let mut s = Sightings::default();
        s.record(&set(&[1, 2, 3, 4, 5, 6, 7, 8]), 0, K3);
        // Two addresses replaced: new ones, the old never back.
        let replaced = set(&[1, 2, 3, 4, 5, 6, 9, 10]);
        assert!(
            !samples_records(&s, &replaced),
            "a replacement is no sample"
        );
        s.record(&replaced, 60, K3);
        // An address left out before comes back in a full answer: a subset per query.
        assert!(samples_records(&s, &set(&[1, 2, 3, 4, 5, 7, 8, 9])));
        // A short answer is a whole one.
        assert!(!samples_records(&s, &set(&[1, 7])));
    }

    #[test]
    fn the_sampled_window_grows_with_the_records() {
        let k = |n| match sampled_retention(n) {
            Retention::Draws(k) => k,
            other => unreachable!("{other:?}"),
        };
        assert_eq!((k(9), k(10), k(16), k(40)), (9, 12, 27, 86));
        // n × 5,256,000 × p^k < 1 for each.
        for n in [9usize, 10, 16, 40, 100] {
            let p = (n as f64 - 8.0) / n as f64;
            assert!(n as f64 * 5_256_000.0 * p.powi(k(n) as i32) < 1.0, "{n}");
        }
    }

    #[test]
    fn a_full_answer_repeated_for_long_is_a_whole_one() {
        let mut s = Sightings::default();
        let draws = Retention::Draws(12);
        let eight: Vec<u8> = (1..=8).collect();
        s.record(&set(&[2, 3, 4, 5, 6, 7, 8, 9]), 0, draws);
        s.record(&set(&eight), 60, draws);
        // The set is now these 8 for good: 9 was counted missing at 60.
        assert!(
            !repeats_too_long(&s, &set(&eight), 120),
            "a cache may repeat"
        );
        assert!(repeats_too_long(&s, &set(&eight), 60 + SAMPLED_REPEAT_SECS));
        assert!(!repeats_too_long(
            &s,
            &set(&[1, 2]),
            60 + SAMPLED_REPEAT_SECS
        ));
    }

    #[test]
    fn a_repeated_answer_is_no_new_draw() {
        let mut s = Sightings::default();
        let draws = Retention::Draws(2);
        s.record(&set(&[1, 2]), 0, draws);
        for _ in 0..5 {
            // A cache repeating one subset: 3 stays.
            s.record(&set(&[1, 3]), 0, draws);
        }
        assert_eq!(s.ips(), set(&[1, 2, 3]));
        s.record(&set(&[1, 4]), 0, draws);
        assert_eq!(s.ips(), set(&[1, 3, 4]), "two new draws without 2");
    }

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
