//! A router's facts loaded once at cold start: its NLB's VPC, subnets and CIDRs, which decide
//! how each target is registered.

use std::collections::BTreeMap;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_ec2::types::Filter;
use ipnet::Ipv4Net;
use serde::Serialize;

use crate::config::RouterConfig;
use crate::elb::{Elb, ElbError};
use crate::net::AddressPolicy;

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
    R: std::fmt::Debug,
{
    RouterError::Ec2 {
        operation,
        message: DisplayErrorContext(&e).to_string(),
    }
}

/// One router (NLB + endpoint service) with the facts its targets depend on.
#[derive(Debug, Clone, Serialize)]
pub struct Router {
    /// Configured identity.
    #[serde(flatten)]
    pub config: RouterConfig,
    /// The NLB's VPC.
    pub vpc_id: String,
    /// Address rules from the VPC's subnets and CIDRs.
    pub policy: AddressPolicy,
}

impl Router {
    /// Reads the NLB's VPC, the VPC's CIDRs and its subnets (DescribeLoadBalancers,
    /// DescribeVpcs, DescribeSubnets): three calls per router per cold start.
    pub async fn load(
        config: RouterConfig,
        elb: &Elb,
        ec2: &aws_sdk_ec2::Client,
    ) -> Result<Self, RouterError> {
        let vpc_id = elb.load_balancer_vpc(&config.nlb_arn).await?;
        let vpcs = ec2
            .describe_vpcs()
            .vpc_ids(&vpc_id)
            .send()
            .await
            .map_err(|e| ec2_err("DescribeVpcs", e))?;
        let vpc_cidrs = vpcs
            .vpcs()
            .iter()
            .flat_map(|v| {
                v.cidr_block_association_set()
                    .iter()
                    .filter_map(|a| a.cidr_block())
                    .chain(v.cidr_block())
            })
            .filter_map(|c| c.parse::<Ipv4Net>().ok())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut subnets = Vec::new();
        let mut token = None;
        loop {
            let page = ec2
                .describe_subnets()
                .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| ec2_err("DescribeSubnets", e))?;
            subnets.extend(
                page.subnets()
                    .iter()
                    .filter_map(|s| s.cidr_block()?.parse::<Ipv4Net>().ok()),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(Self {
            config,
            vpc_id,
            policy: AddressPolicy { subnets, vpc_cidrs },
        })
    }

    /// The NLB's private IPs, from its network interfaces (description `ELB net/<name>/<id>`):
    /// the addresses a database sees as clients, since client IP preservation is off for IP
    /// targets over TCP.
    pub async fn private_ips(&self, ec2: &aws_sdk_ec2::Client) -> Result<Vec<String>, RouterError> {
        let Some(suffix) = self.config.nlb_arn.split(":loadbalancer/").nth(1) else {
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

/// All routers of the fleet, by id.
pub type Fleet = BTreeMap<String, Router>;
