//! Listener ports: which are free on a router, and which one a new route tries. The
//! allocation itself — one conditional DynamoDB transaction — is
//! [`crate::adapters::aws::store::ports`].

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Most listeners one NLB can have (AWS hard limit).
pub const MAX_LISTENERS_PER_NLB: u32 = 50;

/// A port's record on a router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortEntry {
    /// Router id.
    pub router: String,
    /// Listener port.
    pub port: u16,
    /// Route holding (or last holding) it.
    pub route_id: String,
    /// `allocated` or `quarantined`.
    pub state: String,
    /// Epoch seconds when a quarantined port becomes free.
    pub until: Option<i64>,
}

/// Free ports of a range given the router's records at `now` (epoch seconds).
pub fn free_ports(range: (u16, u16), entries: &[PortEntry], now: i64) -> Vec<u16> {
    let busy: BTreeMap<u16, &PortEntry> = entries.iter().map(|e| (e.port, e)).collect();
    (range.0..=range.1)
        .filter(|p| match busy.get(p) {
            None => true,
            Some(e) => e.state == "quarantined" && e.until.is_some_and(|u| u < now),
        })
        .collect()
}

/// Picks a candidate among free ports: the lowest on a first attempt (ports read in order of
/// creation), then spread by a hash of the route id and attempt, so concurrent creates that
/// collided rarely race for the same port again.
pub fn pick(free: &[u16], route_id: &str, attempt: u32) -> Option<u16> {
    if attempt == 0 || free.is_empty() {
        return free.first().copied();
    }
    let h = Sha256::digest(format!("{route_id}#{attempt}").as_bytes());
    let x = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    // Prefer low ports: choose among the first 64 free ones.
    let window = free.len().min(64);
    Some(free[(x % window as u64) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(port: u16, state: &str, until: Option<i64>) -> PortEntry {
        PortEntry {
            router: "r".into(),
            port,
            route_id: "x".into(),
            state: state.into(),
            until,
        }
    }

    #[test]
    fn allocated_and_quarantined_ports_are_not_free_until_quarantine_ends() {
        let entries = [
            entry(10000, "allocated", None),
            entry(10001, "quarantined", Some(100)),
        ];
        assert_eq!(free_ports((10000, 10002), &entries, 50), vec![10002]);
        assert_eq!(
            free_ports((10000, 10002), &entries, 101),
            vec![10001, 10002]
        );
    }

    #[test]
    fn pick_is_deterministic_and_within_free_ports() {
        let free = vec![10003, 10007, 10010];
        assert_eq!(
            pick(&free, "orders", 0),
            Some(10003),
            "first attempt takes the lowest"
        );
        let a = pick(&free, "orders", 1).unwrap();
        assert!(free.contains(&a));
        assert_eq!(Some(a), pick(&free, "orders", 1));
        assert_eq!(pick(&[], "orders", 1), None);
        assert_eq!(pick(&[], "orders", 0), None);
    }
}
