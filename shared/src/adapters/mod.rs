//! Adapters: the only code that talks to the world outside the process. Each speaks one
//! system's API and hands domain values in and out, so the flows and the reconcile step never
//! see an SDK type.
//!
//! - [`aws`]: ELBv2, DynamoDB (the one table, every item kind), EC2, RDS, the SDK clients and
//!   their retry policy, CloudWatch metrics (EMF), and the IAM actions all of it needs.
//! - [`dns`]: resolving a database's host name (hickory, cache off).
//! - [`databricks`]: the account API's private endpoint rules of one NCC.

pub mod aws;
pub mod databricks;
pub mod dns;
