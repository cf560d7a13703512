//! How many targets a router's NLB may take, and whether a new route fits.
//!
//! ELB counts targets per Network Load Balancer: 500 with cross-zone load balancing on (the
//! module's default), else 500 per enabled Availability Zone and 3,000 in all; a target
//! registered in N target groups counts N times, and a draining target counts until its
//! deregistration delay ends ("Quotas for your Network Load Balancers",
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html>).
//! A registration past it fails with `TooManyTargets` (API_RegisterTargets, Errors), and a
//! route whose database moved then keeps its old targets.
//!
//! Placement therefore keeps every router under [`TARGETS_PER_NLB`] in total — within the quota
//! whether cross-zone load balancing is on or off, since no zone holds more than the total —
//! with room left for one route to replace all its targets at once (make-before-break: the new
//! targets are registered while the old ones still count, draining).

use serde::Serialize;

/// The target budget of one NLB by default: AWS's quota with cross-zone load balancing on, and
/// a safe bound with it off (per zone the quota is the same 500). A deployment whose quota AWS
/// raised sets its own (`ROUTER_TARGETS_PER_NLB`).
pub const TARGETS_PER_NLB: usize = 500;

/// A router's targets, one route (target group) at a time: ELB counts every target group its
/// NLB forwards to, a target in N groups N times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TargetLoad {
    /// Targets registered in all the NLB's target groups.
    pub registered: usize,
    /// The most any one of those target groups holds: the largest route's failover need.
    pub largest_group: usize,
}

impl TargetLoad {
    /// Adds one target group of `targets`.
    pub fn add_group(&mut self, targets: usize) {
        self.registered += targets;
        self.largest_group = self.largest_group.max(targets);
    }

    /// True when a new route of `need` targets fits in `budget` (the NLB's target quota,
    /// [`TARGETS_PER_NLB`] by default): after it, the NLB still has room for the largest route
    /// (it or one already there) to register a whole new set of targets.
    pub fn has_room_for(&self, need: usize, budget: usize) -> bool {
        let need = need.max(1);
        self.registered + need + need.max(self.largest_group) <= budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(groups: &[usize]) -> TargetLoad {
        let mut l = TargetLoad::default();
        for g in groups {
            l.add_group(*g);
        }
        l
    }

    #[test]
    fn the_issues_fleet_of_13_member_readers_stops_before_a_failover_cannot_fit() {
        // 36 reader routes of 13: 468; a 37th leaves 481 + 13 for one failover.
        assert!(load(&[13; 36]).has_room_for(13, TARGETS_PER_NLB));
        // 37 routes: a 38th (494, the issue's case) would leave no room for a failover.
        assert!(!load(&[13; 37]).has_room_for(13, TARGETS_PER_NLB));
        // A one-target route still fits there: 482 + 13 of failover room.
        assert!(load(&[13; 37]).has_room_for(1, TARGETS_PER_NLB));
    }

    #[test]
    fn a_large_new_route_reserves_its_own_failover() {
        assert!(load(&[]).has_room_for(250, TARGETS_PER_NLB));
        assert!(!load(&[]).has_room_for(251, TARGETS_PER_NLB));
        assert!(!load(&[1]).has_room_for(250, TARGETS_PER_NLB));
    }

    #[test]
    fn an_unknown_need_counts_as_one_target() {
        // 498 one-target routes: one more and one failover of one target fit exactly.
        assert!(load(&[1; 498]).has_room_for(0, TARGETS_PER_NLB));
        assert!(!load(&[1; 499]).has_room_for(0, TARGETS_PER_NLB));
    }

    #[test]
    fn a_raised_quota_is_a_larger_budget() {
        assert!(!load(&[13; 37]).has_room_for(13, TARGETS_PER_NLB));
        assert!(load(&[13; 37]).has_room_for(13, 1000));
    }
}
