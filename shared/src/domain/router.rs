//! A router: one NLB and the PrivateLink endpoint service in front of it, as configured
//! ([`RouterConfig`]) and with the facts its targets depend on ([`Router`]: the NLB's VPC and
//! its address rules), which `adapters::aws::ec2` loads once per cold start.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::net::AddressPolicy;

/// One router of the fleet: an NLB and the endpoint service in front of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Short stable id (tags, table keys).
    pub id: String,
    /// The NLB's ARN.
    pub nlb_arn: String,
    /// The VPC endpoint service name consumers connect to.
    pub endpoint_service_name: String,
    /// The DNS name consumers use for this router (a domain name of the router's private
    /// endpoint rule, which Databricks serverless compute resolves to the private endpoint):
    /// each route's consumer address is `<consumer_domain>:<listener port>`. Absent: routes
    /// have a consumer address only by their TLS name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_domain: Option<String>,
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

/// All routers of the fleet, by id.
pub type Fleet = BTreeMap<String, Router>;
