//! AWS adapters, one per service, all built on the clients of [`clients`] (one retry and
//! timeout policy, per-operation call counts).
//!
//! - [`elb`]: target groups, listeners and targets (ELBv2) — [`elb::Elb`] implements the
//!   [`elb::Targets`] trait the reconcile step applies plans through.
//! - [`store`]: the DynamoDB table — its layout, routes, ports, leases, audit and seed records.
//! - [`ec2`]: a router's VPC facts and its NLB's private IPs; [`rds`]: reader and custom
//!   endpoint members, in this account or through an assumed role in another.
//! - [`rate_budget`]: the token bucket ELBv2 calls share; [`metrics`]: CloudWatch EMF lines;
//!   [`permissions`]: the IAM actions each Lambda's code calls.

pub mod clients;
pub mod ec2;
pub mod elb;
pub mod metrics;
pub mod permissions;
pub mod rate_budget;
pub mod rds;
pub mod store;
