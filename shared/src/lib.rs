//! privatelink-router: keeps one NLB's target groups equal to what its databases' DNS names
//! resolve to, so one PrivateLink endpoint service can expose many databases.
//!
//! Layout: domain types ([`route`], [`host`], [`net`], [`window`]) and the pure [`plan`]ner
//! have no AWS types; adapters ([`dns`], [`elb`], [`store`]) sit at the edge behind small
//! traits; [`apply`] is the only code that changes targets.
#![warn(missing_docs)]

pub mod host;
pub mod net;
pub mod plan;
pub mod route;
pub mod window;
