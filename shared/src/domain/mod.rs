//! The domain: what a route is and the pure rules that decide its targets. No AWS types, no I/O;
//! everything here is tested with plain values.
//!
//! - [`route`], [`validation`], [`host`]: a route (one database on one listener port) and the
//!   rules its fields follow.
//! - [`plan`]: the planner — which targets to register and deregister, and why. **The rule that
//!   removes a target lives there.**
//! - [`window`]: which IPs a round-robin name answered recently enough to stay targets;
//!   [`membership`]: a reader, custom or writer endpoint's members as the RDS API lists them;
//!   [`claims`]: which route's database answers an IP now (an IP is never on two databases).
//! - [`net`]: which addresses may become targets; [`exposure`]: who may publish which database
//!   (ports, grants, ownership); [`health`]: whether a route really serves.
//! - [`ports`]: which listener port a route gets; [`router`]: an NLB and its endpoint service; [`catalog`]: the consumer's side of a route.
//! - [`rds_events`]: which RDS event IDs move an address, and the action each gets.
//! - [`seed_inputs`]: the seed module's variables; [`log_fields`]: words for log fields.

pub mod arrivals;
pub mod catalog;
pub mod claims;
pub mod diagnosis;
pub mod exposure;
pub mod health;
pub mod host;
pub mod log_fields;
pub mod membership;
pub mod net;
pub mod plan;
pub mod ports;
pub mod rds_events;
pub mod route;
pub mod router;
pub mod seed_inputs;
pub mod target_budget;
pub mod validation;
pub mod window;
