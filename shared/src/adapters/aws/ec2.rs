//! EC2 adapter: a router's facts loaded once at cold start — its NLB's VPC, subnets and CIDRs,
//! which decide how each target is registered — and the NLB's own private IPs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use crate::adapters::aws::elb::{Elb, ElbError};
use crate::domain::diagnosis::{AclEntry, NetworkAcl, Permission, SecurityGroup};
use crate::domain::net::AddressPolicy;
use crate::domain::router::{Fleet, Router, RouterConfig};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use ipnet::{IpNet, Ipv4Net};

/// Loading a router's facts failed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// ELBv2 failed.
    #[error(transparent)]
    Elb(#[from] ElbError),
    /// EC2 failed.
    #[error("EC2 {operation} failed: {message}")]
    Ec2 {
        /// Operation.
        operation: &'static str,
        /// Detail.
        message: String,
    },
}

fn ec2_err<E, R>(operation: &'static str, e: aws_sdk_ec2::error::SdkError<E, R>) -> RouterError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    RouterError::Ec2 {
        operation,
        message: crate::adapters::aws::clients::error_chain(&e),
    }
}

/// The EC2 reads the router makes in its own account (read-only).
#[derive(Clone, Debug)]
pub struct Ec2 {
    client: aws_sdk_ec2::Client,
}

impl Ec2 {
    /// Wraps an SDK client (built once per cold start).
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Self { client }
    }

    /// Loads every router of a fleet with one batch of calls for all of them: DescribeLoadBalancers
    /// per 20 NLBs, one DescribeVpcs, DescribeSubnets and DescribeNetworkInterfaces pages for
    /// all their VPCs, so a cold start costs about the same with 60 routers as with one. Each
    /// router's address rules get the deployment's `database_cidrs` and the router's own
    /// addresses ([`router_interface`]). Errors name the router.
    pub async fn load_fleet(
        &self,
        configs: &[RouterConfig],
        elb: &Elb,
        database_cidrs: &[Ipv4Net],
    ) -> Result<Fleet, (String, RouterError)> {
        let ec2 = &self.client;
        let arns: Vec<&str> = configs.iter().map(|c| c.nlb_arn.as_str()).collect();
        let router_of = |arn: &str| {
            configs
                .iter()
                .find(|c| c.nlb_arn == arn)
                .map_or_else(|| arn.to_owned(), |c| c.id.clone())
        };
        let vpc_of = elb
            .load_balancer_vpcs(&arns)
            .await
            .map_err(|(arn, e)| (router_of(&arn), RouterError::from(e)))?;
        let vpc_ids: Vec<String> = vpc_of
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // The EC2 reads cover every router's VPC at once: an error names them all.
        let first = || {
            let ids: Vec<&str> = configs.iter().map(|c| c.id.as_str()).collect();
            ids.join(", ")
        };
        let mut cidrs: BTreeMap<String, std::collections::BTreeSet<Ipv4Net>> = BTreeMap::new();
        let mut subnets: BTreeMap<String, Vec<Ipv4Net>> = BTreeMap::new();
        if !vpc_ids.is_empty() {
            let mut token = None;
            loop {
                let page = ec2
                    .describe_vpcs()
                    .set_vpc_ids(Some(vpc_ids.clone()))
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| (first(), ec2_err("DescribeVpcs", e)))?;
                for v in page.vpcs() {
                    let entry = cidrs
                        .entry(v.vpc_id().unwrap_or_default().to_owned())
                        .or_default();
                    entry.extend(
                        v.cidr_block_association_set()
                            .iter()
                            .filter_map(|a| a.cidr_block())
                            .chain(v.cidr_block())
                            .filter_map(|c| c.parse::<Ipv4Net>().ok()),
                    );
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            let mut token = None;
            loop {
                let page = ec2
                    .describe_subnets()
                    .filters(
                        Filter::builder()
                            .name("vpc-id")
                            .set_values(Some(vpc_ids.clone()))
                            .build(),
                    )
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| (first(), ec2_err("DescribeSubnets", e)))?;
                for sn in page.subnets() {
                    if let (Some(vpc), Some(Ok(cidr))) =
                        (sn.vpc_id(), sn.cidr_block().map(str::parse::<Ipv4Net>))
                    {
                        subnets.entry(vpc.to_owned()).or_default().push(cidr);
                    }
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        let own = self
            .router_addresses(&vpc_ids)
            .await
            .map_err(|e| (first(), e))?;
        let mut fleet = Fleet::new();
        for config in configs {
            let vpc_id = vpc_of[&config.nlb_arn].clone();
            let policy = AddressPolicy {
                subnets: subnets.get(&vpc_id).cloned().unwrap_or_default(),
                vpc_cidrs: cidrs
                    .get(&vpc_id)
                    .map(|c| c.iter().copied().collect())
                    .unwrap_or_default(),
                database_cidrs: database_cidrs.to_vec(),
                router_addresses: own.get(&vpc_id).cloned().unwrap_or_default(),
            };
            fleet.insert(
                config.id.clone(),
                Router {
                    config: config.clone(),
                    vpc_id,
                    policy,
                },
            );
        }
        Ok(fleet)
    }

    /// The router's own addresses in each of `vpc_ids`: every private IP of a network
    /// interface that is a load balancer node, a VPC endpoint's or a Lambda's
    /// ([`router_interface`]). DescribeNetworkInterfaces filtered by `vpc-id`, all pages.
    async fn router_addresses(
        &self,
        vpc_ids: &[String],
    ) -> Result<BTreeMap<String, BTreeSet<Ipv4Addr>>, RouterError> {
        let mut out: BTreeMap<String, BTreeSet<Ipv4Addr>> = BTreeMap::new();
        if vpc_ids.is_empty() {
            return Ok(out);
        }
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_network_interfaces()
                .filters(
                    Filter::builder()
                        .name("vpc-id")
                        .set_values(Some(vpc_ids.to_vec()))
                        .build(),
                )
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ec2_err("DescribeNetworkInterfaces", e))?;
            for eni in page.network_interfaces() {
                let kind = eni.interface_type().map(|t| t.as_str());
                if !router_interface(kind, eni.description()) {
                    continue;
                }
                let ips = eni
                    .private_ip_addresses()
                    .iter()
                    .filter_map(|a| a.private_ip_address())
                    .chain(eni.private_ip_address())
                    .filter_map(|a| a.parse::<Ipv4Addr>().ok());
                out.entry(eni.vpc_id().unwrap_or_default().to_owned())
                    .or_default()
                    .extend(ips);
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Which of `ips` an Amazon RDS network interface holds now, in the router's account and
    /// region: DescribeNetworkInterfaces filtered by `addresses.private-ip-address` (200 values
    /// a call, all pages). RDS creates a requester-managed interface per DB instance, with the
    /// description `RDSNetworkInterface` and requester `amazon-rds` (EC2 user guide,
    /// "Requester-managed network interfaces"); an address no interface holds, or one a Lambda,
    /// an endpoint or an instance holds, is no database's. Cost: one call per 200 addresses.
    pub async fn rds_interface_ips(
        &self,
        ips: &BTreeSet<IpAddr>,
    ) -> Result<BTreeSet<IpAddr>, RouterError> {
        const RDS_DESCRIPTION: &str = "RDSNetworkInterface";
        const RDS_REQUESTER: &str = "amazon-rds";
        let wanted: Vec<String> = ips.iter().map(ToString::to_string).collect();
        let mut live = BTreeSet::new();
        for chunk in wanted.chunks(200) {
            let mut token = None;
            loop {
                let out = self
                    .client
                    .describe_network_interfaces()
                    .filters(
                        Filter::builder()
                            .name("addresses.private-ip-address")
                            .set_values(Some(chunk.to_vec()))
                            .build(),
                    )
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| ec2_err("DescribeNetworkInterfaces", e))?;
                for eni in out.network_interfaces() {
                    let rds = eni.description() == Some(RDS_DESCRIPTION)
                        || eni.requester_id() == Some(RDS_REQUESTER);
                    if !rds {
                        continue;
                    }
                    let held = eni
                        .private_ip_addresses()
                        .iter()
                        .filter_map(|a| a.private_ip_address())
                        .chain(eni.private_ip_address());
                    live.extend(
                        held.filter_map(|a| a.parse::<IpAddr>().ok())
                            .filter(|ip| ips.contains(ip)),
                    );
                }
                token = out.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(live)
    }

    /// The NLB's private IPs, from its network interfaces (description `ELB net/<name>/<id>`):
    /// the addresses a database sees as clients, since client IP preservation is off for IP
    /// targets over TCP.
    pub async fn nlb_private_ips(&self, router: &Router) -> Result<Vec<String>, RouterError> {
        let ec2 = &self.client;
        let Some(suffix) = router.config.nlb_arn.split(":loadbalancer/").nth(1) else {
            return Ok(vec![]);
        };
        // ARN resource "net/<name>/<id>" (moto says "app/…": use only name and id).
        let parts: Vec<&str> = suffix.split('/').collect();
        let description = match parts.as_slice() {
            [_, name, id] => format!("ELB net/{name}/{id}"),
            _ => return Ok(vec![]),
        };
        let out = ec2
            .describe_network_interfaces()
            .filters(
                Filter::builder()
                    .name("description")
                    .values(&description)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ec2_err("DescribeNetworkInterfaces", e))?;
        let mut ips: Vec<String> = out
            .network_interfaces()
            .iter()
            .filter_map(|n| n.private_ip_address().map(str::to_owned))
            .collect();
        ips.sort();
        Ok(ips)
    }
}

impl Ec2 {
    /// Security groups with their inbound permissions, for a diagnosis
    /// ([`crate::domain::diagnosis`]): one DescribeSecurityGroups by id.
    pub async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroup>, RouterError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let out = self
            .client
            .describe_security_groups()
            .set_group_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| ec2_err("DescribeSecurityGroups", e))?;
        Ok(out
            .security_groups()
            .iter()
            .map(|g| SecurityGroup {
                id: g.group_id().unwrap_or_default().to_owned(),
                ingress: g
                    .ip_permissions()
                    .iter()
                    .map(|p| Permission {
                        protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
                        ports: p.from_port().zip(p.to_port()),
                        cidrs: p
                            .ip_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ip())
                            .chain(p.ipv6_ranges().iter().filter_map(|r| r.cidr_ipv6()))
                            .filter_map(|c| c.parse::<IpNet>().ok())
                            .collect(),
                        groups: p
                            .user_id_group_pairs()
                            .iter()
                            .filter_map(|pair| pair.group_id().map(str::to_owned))
                            .collect(),
                        prefix_lists: !p.prefix_list_ids().is_empty(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// The network ACLs of the database subnets `subnets`, each with its subnet's CIDR, for a
    /// diagnosis: one DescribeSubnets and one DescribeNetworkAcls filtered by
    /// `association.subnet-id`.
    pub async fn network_acls(&self, subnets: &[String]) -> Result<Vec<NetworkAcl>, RouterError> {
        if subnets.is_empty() {
            return Ok(vec![]);
        }
        let described = self
            .client
            .describe_subnets()
            .set_subnet_ids(Some(subnets.to_vec()))
            .send()
            .await
            .map_err(|e| ec2_err("DescribeSubnets", e))?;
        let cidrs: Vec<(String, IpNet)> = described
            .subnets()
            .iter()
            .filter_map(|s| Some((s.subnet_id()?.to_owned(), s.cidr_block()?.parse().ok()?)))
            .collect();
        let wanted = subnets.to_vec();
        let out = self
            .client
            .describe_network_acls()
            .filters(
                Filter::builder()
                    .name("association.subnet-id")
                    .set_values(Some(wanted.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ec2_err("DescribeNetworkAcls", e))?;
        let mut acls = Vec::new();
        for acl in out.network_acls() {
            let entries: Vec<AclEntry> = acl
                .entries()
                .iter()
                .map(|e| AclEntry {
                    rule_number: e.rule_number().unwrap_or(32767),
                    egress: e.egress().unwrap_or(false),
                    allow: e.rule_action().map(|a| a.as_str()) == Some("allow"),
                    protocol: e.protocol().unwrap_or("-1").to_owned(),
                    cidr: e
                        .cidr_block()
                        .or(e.ipv6_cidr_block())
                        .and_then(|c| c.parse().ok()),
                    ports: e.port_range().and_then(|r| {
                        Some((u16::try_from(r.from()?).ok()?, u16::try_from(r.to()?).ok()?))
                    }),
                })
                .collect();
            for association in acl.associations() {
                if let Some(subnet) = association
                    .subnet_id()
                    .filter(|s| wanted.iter().any(|w| w == s))
                {
                    acls.push(NetworkAcl {
                        id: acl.network_acl_id().unwrap_or_default().to_owned(),
                        subnet: subnet.to_owned(),
                        subnet_cidr: cidrs.iter().find(|(id, _)| id == subnet).map(|(_, c)| *c),
                        entries: entries.clone(),
                    });
                }
            }
        }
        Ok(acls)
    }
}

/// True for a network interface that belongs to the router's plumbing, never to a database:
/// by `InterfaceType` a load balancer node (`network_load_balancer`, `gateway_load_balancer`),
/// an interface endpoint (`vpc_endpoint`, `gateway_load_balancer_endpoint`) or a Lambda
/// (`lambda`); by the description AWS gives requester-managed interfaces when the type is not
/// set: `ELB net/<name>/<id>` (and `ELB app/…`), `VPC Endpoint Interface vpce-…`, `AWS Lambda
/// VPC ENI-…` (EC2 API reference, NetworkInterface.InterfaceType; EC2 user guide,
/// "Requester-managed network interfaces").
pub fn router_interface(interface_type: Option<&str>, description: Option<&str>) -> bool {
    const TYPES: [&str; 5] = [
        "network_load_balancer",
        "gateway_load_balancer",
        "vpc_endpoint",
        "gateway_load_balancer_endpoint",
        "lambda",
    ];
    const DESCRIPTIONS: [&str; 3] = ["ELB ", "VPC Endpoint Interface ", "AWS Lambda VPC ENI"];
    interface_type.is_some_and(|t| TYPES.contains(&t))
        || description.is_some_and(|d| DESCRIPTIONS.iter().any(|p| d.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use super::router_interface;

    #[test]
    fn load_balancer_endpoint_and_lambda_interfaces_are_the_routers_own() {
        assert!(router_interface(Some("network_load_balancer"), None));
        assert!(router_interface(
            None,
            Some("ELB net/router-r1/50dc6c495c0c9188")
        ));
        assert!(router_interface(
            Some("interface"),
            Some("VPC Endpoint Interface vpce-0123456789abcdef0")
        ));
        assert!(router_interface(
            Some("lambda"),
            Some("AWS Lambda VPC ENI-router-x")
        ));
        assert!(!router_interface(
            Some("interface"),
            Some("RDSNetworkInterface")
        ));
        assert!(!router_interface(Some("interface"), None));
        assert!(!router_interface(None, None));
    }
}
