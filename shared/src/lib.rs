//! privatelink-router: keeps one NLB's target groups equal to what its databases' DNS names
//! resolve to, so one PrivateLink endpoint service can expose many databases.
//!
//! Layout, one folder per role; dependencies point one way (flows → reconcile → domain, and
//! adapters hand domain values in and out):
//!
//! - [`domain`]: what a route is and the pure rules — no AWS types, no I/O. The rule that
//!   removes a target is in [`domain::plan`].
//! - [`flows`]: where work enters — an RDS event ([`flows::events`]), the minute watch, the
//!   full audit, the route operations behind the API and `plr` ([`flows::service`]), seeds,
//!   adoption, the Databricks rules.
//! - [`reconcile`]: one route made right — observe, plan, apply ([`reconcile::apply`] is the
//!   only code that changes targets) — and its AWS resources ([`reconcile::provision`]).
//! - [`adapters`]: the only code that talks to AWS (the table layout is
//!   [`adapters::aws::store`]), DNS and Databricks.
//! - [`config`] (the environment, read once) and [`context`] (the clients, built once per cold
//!   start) tie them together.
#![warn(missing_docs)]

pub mod adapters;
pub mod config;
pub mod context;
pub mod domain;
pub mod flows;
pub mod reconcile;
