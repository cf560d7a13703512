//! privatelink-router: keeps one NLB's target groups equal to what its databases' DNS names
//! resolve to, so one PrivateLink endpoint service can expose many databases.
//!
//! Layout: domain types ([`route`], [`host`], [`net`], [`window`]) and the pure [`plan`]ner
//! have no AWS types; adapters ([`dns`], [`elb`], [`store`]) sit at the edge behind small
//! traits; [`apply`] is the only code that changes targets.
#![warn(missing_docs)]

pub mod adapters;
pub mod adopt;
pub mod apply;
pub mod audit;
pub mod config;
pub mod context;
pub mod domain;
pub mod events;
pub mod observe;
pub mod provision;
pub mod reconcile;
pub mod rules;
pub mod seeds;
pub mod service;
pub mod watch;
