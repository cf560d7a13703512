//! Test bed for the router: a loopback DNS server, a moto_server child, and AWS fixtures.

pub mod databases;
pub mod databricks;
pub mod dns;
pub mod faults;
pub mod fixtures;
pub mod handlers;
pub mod moto;
pub mod network;
