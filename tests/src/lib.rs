//! Test bed for the router: a loopback DNS server, a moto_server child, and AWS fixtures.

/// A local Databricks account API (OAuth token, NCC private endpoint rules).
pub mod databricks;
/// Loopback DNS server whose records, failures and rotation tests control while it runs.
pub mod dns;
/// Fault-injecting HTTP proxy between the SDK clients and moto (throttling, 5xx, slow, drops).
pub mod faults;
/// `Bed`: moto + DNS + network + table + router context, and helpers to add routes.
pub mod fixtures;
/// The real Lambda handlers fed with the samples in `events/`.
pub mod handlers;
/// `moto_server` child process (emulated AWS) and an SDK config pointing at it.
pub mod moto;
/// VPC + subnets + internal NLB fixture, uniquely named so tests can share one moto.
pub mod network;
