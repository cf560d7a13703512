//! Which resolved addresses may become NLB targets, and how each must be registered.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::Ipv4Net;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Why an address is refused as a target.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Publicly routable (or otherwise not private): NLB refuses it, and it would expose the
    /// route to whoever holds that address.
    NotPrivate,
    /// IPv6: the router's target groups are IPv4.
    Ipv6,
    /// Outside the deployment's database CIDRs (`ROUTER_DATABASE_CIDRS`, the module's
    /// `database_cidrs`, which are also the only egress of the NLBs' security group): not an
    /// address the deployment publishes.
    OutsideDatabaseCidrs,
    /// An address of the router itself (an NLB node, a VPC endpoint's interface, a Lambda's
    /// interface in the router VPC): a target there would lead consumers into the router's
    /// own network or to another service's endpoint.
    RouterAddress,
}

impl Refusal {
    /// True for a refusal that must take an address off the targets at once, whatever the
    /// window or rule 5 would keep: the deployment never publishes it.
    pub fn is_forbidden(self) -> bool {
        matches!(self, Refusal::OutsideDatabaseCidrs | Refusal::RouterAddress)
    }

    /// One line for people, with the setting that would allow the address where one would.
    pub fn explain(self) -> &'static str {
        match self {
            Refusal::NotPrivate => "not a private address (RFC 1918 or RFC 6598), and not in the router VPC",
            Refusal::Ipv6 => "IPv6 (the router's target groups are IPv4)",
            Refusal::OutsideDatabaseCidrs => {
                "outside the deployment's database_cidrs (ROUTER_DATABASE_CIDRS)"
            }
            Refusal::RouterAddress => {
                "an address of the router itself (an NLB node or an interface in the router VPC), never a target"
            }
        }
    }
}

/// How a target is registered: with no AvailabilityZone (AWS detects it) or with `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Inside one of the router VPC's subnets: AWS detects the AZ; `all` would be rejected.
    InSubnet,
    /// Outside every subnet of the VPC (peered/TGW networks, or VPC CIDR without subnet):
    /// AvailabilityZone must be `all`.
    AllZones,
}

/// The address rules of one router (NLB): its VPC's subnets and extra allowed ranges.
///
/// ELBv2 API reference, TargetDescription: IP targets must be in the target group VPC's subnets,
/// RFC 1918 or RFC 6598 ranges; "If the IP address is in a subnet of the VPC for the target
/// group, the Availability Zone is automatically detected … If the IP address is outside the
/// VPC, this parameter is required" (value `all`). AWS decides by subnet, not by VPC CIDR
/// (aws-load-balancer-controller issues #3714, #561).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPolicy {
    /// CIDRs of the subnets of the router's VPC.
    pub subnets: Vec<Ipv4Net>,
    /// CIDRs of the router's VPC (allowed even when public-looking, e.g. a BYOIP VPC).
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// The deployment's database CIDRs (`ROUTER_DATABASE_CIDRS`); empty = no limit beyond
    /// the private ranges and the VPC.
    #[serde(default)]
    pub database_cidrs: Vec<Ipv4Net>,
    /// The router's own addresses in its VPC: the NLB's nodes, VPC endpoint and Lambda
    /// interfaces ([`crate::adapters::aws::ec2::Ec2::load_fleet`]).
    #[serde(default)]
    pub router_addresses: BTreeSet<Ipv4Addr>,
}

/// RFC 1918 private ranges and the RFC 6598 shared address space.
const PRIVATE_RANGES: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
];

fn in_net(ip: Ipv4Addr, (net, len): (Ipv4Addr, u8)) -> bool {
    Ipv4Net::new(net, len).is_ok_and(|n| n.contains(&ip))
}

impl AddressPolicy {
    /// Decides whether `ip` may be a target, and with which placement.
    pub fn classify(&self, ip: IpAddr) -> Result<Placement, Refusal> {
        let IpAddr::V4(v4) = ip else {
            return Err(Refusal::Ipv6);
        };
        if self.router_addresses.contains(&v4) {
            return Err(Refusal::RouterAddress);
        }
        let placement = if self.subnets.iter().any(|s| s.contains(&v4)) {
            Placement::InSubnet
        } else if PRIVATE_RANGES.iter().any(|r| in_net(v4, *r))
            || self.vpc_cidrs.iter().any(|c| c.contains(&v4))
        {
            Placement::AllZones
        } else {
            return Err(Refusal::NotPrivate);
        };
        if !self.database_cidrs.is_empty() && !self.database_cidrs.iter().any(|c| c.contains(&v4)) {
            return Err(Refusal::OutsideDatabaseCidrs);
        }
        Ok(placement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> AddressPolicy {
        AddressPolicy {
            subnets: vec![
                "10.0.1.0/24".parse().unwrap(),
                "10.0.2.0/24".parse().unwrap(),
            ],
            vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            ..Default::default()
        }
    }

    #[test]
    fn database_cidrs_and_the_routers_own_addresses_bound_every_target() {
        let p = AddressPolicy {
            database_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            router_addresses: ["10.0.1.250".parse().unwrap()].into(),
            ..policy()
        };
        assert_eq!(
            p.classify("10.0.1.7".parse().unwrap()),
            Ok(Placement::InSubnet)
        );
        assert_eq!(
            p.classify("10.20.30.40".parse().unwrap()),
            Err(Refusal::OutsideDatabaseCidrs)
        );
        assert_eq!(
            p.classify("10.0.1.250".parse().unwrap()),
            Err(Refusal::RouterAddress)
        );
        assert!(Refusal::RouterAddress.is_forbidden() && !Refusal::NotPrivate.is_forbidden());
    }

    #[test]
    fn in_subnet_ips_register_without_zone_and_others_with_all() {
        let p = policy();
        assert_eq!(
            p.classify("10.0.1.7".parse().unwrap()),
            Ok(Placement::InSubnet)
        );
        assert_eq!(
            p.classify("10.0.9.5".parse().unwrap()),
            Ok(Placement::AllZones)
        );
        assert_eq!(
            p.classify("10.20.0.4".parse().unwrap()),
            Ok(Placement::AllZones)
        );
        assert_eq!(
            p.classify("100.64.3.4".parse().unwrap()),
            Ok(Placement::AllZones)
        );
        assert_eq!(
            p.classify("172.31.255.1".parse().unwrap()),
            Ok(Placement::AllZones)
        );
        assert_eq!(
            p.classify("192.168.0.1".parse().unwrap()),
            Ok(Placement::AllZones)
        );
    }

    #[test]
    fn public_and_special_addresses_are_refused() {
        let p = policy();
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "0.0.0.0",
        ] {
            assert_eq!(
                p.classify(ip.parse().unwrap()),
                Err(Refusal::NotPrivate),
                "{ip}"
            );
        }
        assert_eq!(p.classify("fd00::1".parse().unwrap()), Err(Refusal::Ipv6));
    }

    proptest! {
        #[test]
        fn placement_is_in_subnet_exactly_when_a_subnet_contains_the_ip(
            subnets in proptest::collection::vec((any::<u32>(), 8u8..=28), 0..5),
            ip in any::<u32>(),
        ) {
            let subnets: Vec<Ipv4Net> = subnets.into_iter()
                .map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()).collect();
            let p = AddressPolicy { subnets: subnets.clone(), ..Default::default() };
            let ip = Ipv4Addr::from(ip);
            let in_subnet = subnets.iter().any(|s| s.contains(&ip));
            let private = PRIVATE_RANGES.iter().any(|r| in_net(ip, *r));
            match p.classify(IpAddr::V4(ip)) {
                Ok(Placement::InSubnet) => prop_assert!(in_subnet),
                Ok(Placement::AllZones) => prop_assert!(!in_subnet && private),
                Err(_) => prop_assert!(!in_subnet && !private),
            }
        }
    }
}
