//! privatelink-router: keeps one NLB's target groups equal to what its databases' DNS names
//! resolve to, so one PrivateLink endpoint service can expose many databases.
//!
//! Layout: domain types ([`route`], [`host`], [`net`], [`window`]) and the pure [`plan`]ner
//! have no AWS types; adapters ([`dns`], [`elb`], [`store`]) sit at the edge behind small
//! traits; [`apply`] is the only code that changes targets.
#![warn(missing_docs)]

pub mod adopt;
pub mod apply;
pub mod audit;
pub mod aws;
pub mod config;
pub mod context;
pub mod databricks;
pub mod dns;
pub mod domain;
pub mod ec2;
pub mod elb;
pub mod events;
pub mod lease;
pub mod metrics;
pub mod observe;
pub mod permissions;
pub mod ports;
pub mod provision;
pub mod rate_budget;
pub mod rds;
pub mod reconcile;
pub mod rules;
pub mod seeds;
pub mod service;
pub mod store;
pub mod watch;
