//! Flows: where work enters the router, each a short sequence over the reconcile step, the
//! domain rules and the adapters.
//!
//! - [`events`]: an RDS event from EventBridge → the routes it moves, fixed at once. **An RDS
//!   event enters here** (`functions/rds-events` is its Lambda).
//! - [`watch`]: the minute DNS watch — reconciles only the routes whose answer moved.
//! - [`audit`]: the scheduled full audit — every route re-resolved, drift and orphans repaired,
//!   a report.
//! - [`service`]: route operations behind the HTTP API, `plr` and the demo (create, list,
//!   show, sync, delete, catalog).
//! - [`seeds`]: routes Terraform declared; [`adopt`]: taking over a seed deployment without
//!   changing a port; [`rules`]: the Databricks private endpoint rules kept equal to the routes.
//! - [`diagnose`]: why a route's targets fail their health checks (security groups, network
//!   ACLs, a changed port, MySQL's `max_connect_errors`), read for the API, `plr` and audits.

pub mod adopt;
pub mod audit;
pub mod diagnose;
pub mod events;
pub mod rules;
pub mod seeds;
pub mod service;
pub mod watch;
