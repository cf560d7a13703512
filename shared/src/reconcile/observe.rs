//! Observing a route's addresses: DNS for instance and other names; for Aurora reader, custom
//! and cluster (writer) endpoints the members from the RDS API ([`crate::domain::membership`]),
//! falling back to DNS — with the time-based window ([`crate::domain::window`]) for reader and
//! custom endpoints, K lookups for a writer — when the API is not configured for the
//! database's account and region, or fails. A writer endpoint read from the API follows
//! `IsClusterWriter`: a demoted writer leaves at the first observation that sees the change.

use std::collections::BTreeSet;
use std::net::IpAddr;

use futures::future::join_all;
use serde::Serialize;
use tracing::{debug, warn};

use crate::adapters::aws::rds::RdsError;
use crate::config::Config;
use crate::context::Context;
use crate::domain::claims::{answers_now, Claims};
use crate::domain::host::{answers_one_member, parse_rds_endpoint, RdsEndpoint, RdsEndpointKind};
use crate::domain::log_fields::list;
use crate::domain::membership::{
    custom_endpoint_members, reader_endpoint_members, writer_endpoint_members, Member,
};
use crate::domain::plan::{Lookup, LookupFailure};
use crate::domain::route::{Route, RouteStatus};
use crate::domain::window::{
    repeats_too_long, sampled_retention, samples_records, Retention, MULTIVALUE_ANSWER_MAX,
    RDS_RECORD_TTL_SECS,
};

/// Where a route's addresses came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Via {
    /// One DNS lookup of the route's host.
    Dns,
    /// The RDS API: these member instances, each instance endpoint resolved.
    RdsMembers {
        /// DB instance identifiers.
        members: Vec<String>,
    },
}

/// What one observation of a route saw, and how long its addresses may be kept.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The addresses (or the failure).
    pub lookup: Lookup,
    /// The window rule for this observation: a complete member list lets absent IPs go at
    /// once (`Lookups(1)`); DNS uses the route's own rule ([`retention_for`]).
    pub retention: Retention,
    /// Where it came from.
    pub via: Via,
    /// IPs the route holds only by its retention that no RDS network interface holds
    /// ([`liveness`]): no database answers there, so they leave at once.
    pub not_live: BTreeSet<IpAddr>,
    /// The name answered NXDOMAIN and the RDS API says its database does not exist
    /// ([`gone_confirmed`]): the name is gone now, no bound to wait.
    pub gone_confirmed: bool,
    /// The RDS endpoint a name that is no RDS endpoint leads to through its CNAME chain (a
    /// private alias), when it leads to one: the route is followed by that endpoint's kind.
    pub followed: Option<String>,
    /// Whether the route's name answers a subset of its records per query, as this DNS answer
    /// shows ([`crate::domain::window::samples_records`]); `None` when it says nothing new
    /// (a failure, the RDS API's members).
    pub answers_sampled: Option<bool>,
}

/// Why the RDS API could not give a reader or custom endpoint's members.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// The host is not a cluster's reader, custom or writer endpoint.
    #[error("{0} is not a DB cluster's reader, custom or writer endpoint")]
    NotClusterEndpoint(String),
    /// The RDS API of the database's account and region is not configured.
    #[error("no RDS API access for account {account} in {region}")]
    NotConfigured {
        /// Account.
        account: String,
        /// Region.
        region: String,
    },
    /// An RDS call failed.
    #[error(transparent)]
    Rds(#[from] RdsError),
    /// The asked account's same-named cluster has another endpoint name (another database).
    #[error("account {account}'s endpoint is {found}, another database with the same name")]
    OtherDatabase {
        /// Account asked.
        account: String,
        /// The endpoint name it has.
        found: String,
    },
    /// The endpoint has no usable member.
    #[error("{0} has no available member")]
    NoMembers(String),
    /// A member's instance endpoint did not resolve.
    #[error("member {member} ({address}) did not resolve ({failure})")]
    MemberLookup {
        /// Instance id.
        member: String,
        /// Its endpoint.
        address: String,
        /// How the lookup failed.
        failure: LookupFailure,
    },
}

/// The members behind a reader, custom or cluster (writer) endpoint, resolved: the union of
/// their instance endpoints' addresses and the instance ids (a writer endpoint: the one
/// `IsClusterWriter` instance). `account` is the route's database account
/// (`None`: unknown, the router's own is asked). The cluster or custom endpoint found must
/// carry exactly this host name: a same-named database of the asked account (another hash)
/// is not this one.
pub async fn members_lookup(
    ctx: &Context,
    host: &str,
    account: Option<&str>,
) -> Result<(BTreeSet<IpAddr>, Vec<String>), MembershipError> {
    let account = &database_account(ctx, account);
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.as_str();
    let endpoint = parse_rds_endpoint(host)
        .filter(|e| e.kind.answers_one_member() || e.kind == RdsEndpointKind::ClusterWriter)
        .ok_or_else(|| MembershipError::NotClusterEndpoint(host.to_owned()))?;
    if !ctx.rds.covers(account, &endpoint.region) {
        return Err(MembershipError::NotConfigured {
            account: account.to_owned(),
            region: endpoint.region,
        });
    }
    let (cluster, custom) = match endpoint.kind {
        RdsEndpointKind::ClusterCustom => {
            let custom = ctx
                .rds
                .custom_endpoint(account, &endpoint.identifier)
                .await?;
            (custom.cluster.clone(), Some(custom))
        }
        _ => (endpoint.identifier.clone(), None),
    };
    let described = ctx.rds.cluster(account, &cluster).await?;
    let name = match (&custom, endpoint.kind) {
        (Some(c), _) => Some(c.endpoint.as_str()),
        (None, RdsEndpointKind::ClusterWriter) => described.writer_endpoint.as_deref(),
        (None, _) => described.reader_endpoint.as_deref(),
    };
    if name != Some(host) {
        return Err(MembershipError::OtherDatabase {
            account: account.to_owned(),
            found: name.unwrap_or_default().to_owned(),
        });
    }
    let all = described.members;
    let chosen: Vec<&Member> = match (&custom, endpoint.kind) {
        (Some(c), _) => custom_endpoint_members(c, &all),
        (None, RdsEndpointKind::ClusterWriter) => writer_endpoint_members(&all),
        (None, _) => reader_endpoint_members(&all),
    };
    if chosen.is_empty() {
        return Err(MembershipError::NoMembers(host.to_owned()));
    }
    let lookups = join_all(chosen.iter().map(|m| async move {
        let address = m.address.clone().unwrap_or_default();
        let lookup = if address.is_empty() {
            Lookup::Failed(LookupFailure::NxDomain)
        } else {
            ctx.dns.lookup(&address).await
        };
        (m.id.clone(), m.status == "available", address, lookup)
    }))
    .await;
    let mut ips = BTreeSet::new();
    let mut ids = Vec::new();
    for (member, available, address, lookup) in lookups {
        match lookup {
            Lookup::Answer(answer) => ips.extend(answer),
            // A member not yet `available` (just past `creating`, e.g. backing up) whose
            // endpoint record does not exist yet takes no connection: left out on its own.
            // An available member's NXDOMAIN, and any timeout or SERVFAIL, fail the read.
            Lookup::Failed(LookupFailure::NxDomain) if !available => {
                debug!(
                    member,
                    address, "member's endpoint does not resolve yet: not a target yet"
                );
                continue;
            }
            Lookup::Failed(failure) => {
                return Err(MembershipError::MemberLookup {
                    member,
                    address,
                    failure,
                })
            }
        }
        ids.push(member);
    }
    if ips.is_empty() {
        return Err(MembershipError::NoMembers(host.to_owned()));
    }
    Ok((ips, ids))
}

/// Observes a route once: its members from the RDS API when it is a reader or custom endpoint
/// the router can read, else one DNS lookup of its host.
pub async fn observe(ctx: &Context, route: &Route) -> Observation {
    let mut seen = observe_host(
        ctx,
        route.spec.host.as_str(),
        route.spec.account.as_deref(),
        retention_for(route, &ctx.config),
    )
    .await;
    if let (Via::Dns, Lookup::Answer(answer)) = (&seen.via, &seen.lookup) {
        if !answers_one_member(route.spec.host.as_str()) {
            // A name answering a subset of its records per query keeps its addresses longer;
            // an answer of fewer than 8 is whole again.
            let now = chrono::Utc::now().timestamp();
            let sampled = answer.len() >= MULTIVALUE_ANSWER_MAX
                && (route.answers_sampled || samples_records(&route.sightings, answer))
                && !repeats_too_long(&route.sightings, answer, now);
            seen.retention = match sampled {
                true => sampled_retention(route.sightings.ips().union(answer).count()),
                false => Retention::Lookups(ctx.config.window),
            };
            seen.answers_sampled = Some(sampled);
        }
    }
    seen.not_live = liveness(ctx, route, &seen).await;
    seen.gone_confirmed = gone_confirmed(ctx, route, &seen).await;
    seen
}

/// The account whose RDS API describes a route's database: its own, or (unknown) the
/// router's.
pub fn database_account(ctx: &Context, account: Option<&str>) -> String {
    account.map_or_else(|| ctx.config.own_account(), str::to_owned)
}

/// [`observe`] for a host not stored as a route yet (a route being created); `retention` is
/// the rule for a DNS answer.
///
/// A name that is no RDS endpoint may be a CNAME to one (a private alias of a reader
/// endpoint, issue #30): its lookup tells the chain, and the first RDS endpoint in it is
/// followed by its kind: a reader, custom or cluster endpoint's members from the RDS API. When
/// the API cannot say, the alias is followed by DNS with its own window. A global writer
/// endpoint is followed the same way: by the primary cluster's writer endpoint its CNAME
/// names now. Same cost: the one lookup a name needs anyway.
pub async fn observe_host(
    ctx: &Context,
    host: &str,
    account: Option<&str>,
    retention: Retention,
) -> Observation {
    if regional_endpoint(host).is_some() {
        if let Some(seen) = members_observation(ctx, host, account).await {
            return seen;
        }
        return dns_observation(ctx.dns.lookup(host).await, retention);
    }
    let (lookup, chain) = ctx.dns.lookup_chain(host).await;
    let Some((rds, kind)) = first_regional(chain) else {
        return dns_observation(lookup, retention);
    };
    let mut seen = match members_observation(ctx, &rds, account).await {
        Some(seen) => {
            debug!(host, endpoint = %rds, kind = ?kind, "followed the CNAME to an RDS endpoint");
            seen
        }
        // Without the members, the alias keeps its own K-lookup window: a reader's longer
        // retention would keep a repointed alias's old database for hours, and no liveness
        // check covers a name that is no RDS endpoint.
        None => dns_observation(lookup, retention),
    };
    seen.followed = Some(rds);
    seen
}

/// The RDS endpoint `host` stands for: itself when it is a regional RDS endpoint name, else
/// the first one its CNAME chain leads to (a private alias, or a global writer endpoint's
/// current primary); `None` when the chain leads to none or does not resolve. One DNS lookup
/// for a name that is no regional RDS endpoint.
pub async fn followed_endpoint(ctx: &Context, host: &str) -> Option<String> {
    if regional_endpoint(host).is_some() {
        return Some(host.to_owned());
    }
    let (_, chain) = ctx.dns.lookup_chain(host).await;
    first_regional(chain).map(|(name, _)| name)
}

/// `name` as an RDS endpoint of one region. A global writer endpoint is none: it is a CNAME
/// Aurora points at the primary cluster's writer endpoint, so it is followed like a private
/// alias, by the cluster endpoint in its chain.
fn regional_endpoint(name: &str) -> Option<RdsEndpoint> {
    parse_rds_endpoint(name).filter(|e| e.kind != RdsEndpointKind::GlobalWriter)
}

/// The first regional RDS endpoint in a CNAME chain (owner to target), with its kind.
fn first_regional(chain: Vec<String>) -> Option<(String, RdsEndpointKind)> {
    chain
        .into_iter()
        .find_map(|name| regional_endpoint(&name).map(|e| (name, e.kind)))
}

/// The members behind an RDS reader, custom or cluster endpoint `host`, read from the RDS API;
/// `None` when that is no such endpoint or the API cannot say (logged, but for names it does
/// not cover).
async fn members_observation(
    ctx: &Context,
    host: &str,
    account: Option<&str>,
) -> Option<Observation> {
    match members_lookup(ctx, host, account).await {
        Ok((ips, members)) => {
            debug!(host, members = %list(&members), "members read from the RDS API");
            let cap = ctx.config.exposure.quotas.targets_per_route;
            Some(Observation {
                lookup: if cap > 0 && ips.len() > cap {
                    Lookup::Failed(LookupFailure::TooManyAddresses)
                } else {
                    Lookup::Answer(ips)
                },
                retention: Retention::Lookups(1),
                via: Via::RdsMembers { members },
                not_live: BTreeSet::new(),
                gone_confirmed: false,
                followed: None,
                answers_sampled: None,
            })
        }
        Err(MembershipError::NotClusterEndpoint(_))
        | Err(MembershipError::NotConfigured { .. }) => None,
        Err(e) => {
            warn!(host, error = %e, "RDS members unavailable; following DNS with the route's window");
            None
        }
    }
}

fn dns_observation(lookup: Lookup, retention: Retention) -> Observation {
    Observation {
        lookup,
        retention,
        via: Via::Dns,
        not_live: BTreeSet::new(),
        gone_confirmed: false,
        followed: None,
        answers_sampled: None,
    }
}

/// True when the route's name answered NXDOMAIN and the RDS API of its database's account
/// confirms the database does not exist (DescribeDBInstances / DescribeDBClusters /
/// DescribeDBClusterEndpoints / DescribeDBProxies / DescribeDBProxyEndpoints answer a
/// `…NotFound…` code, or no database carries this endpoint name): the authority planner rule
/// 1 may act on at once. Only for routes whose account is known and covered by the router's
/// RDS API; an RDS error confirms nothing. Cost: one RDS call per NXDOMAIN
/// observation of such a route.
pub async fn gone_confirmed(ctx: &Context, route: &Route, seen: &Observation) -> bool {
    if seen.lookup != Lookup::Failed(LookupFailure::NxDomain) {
        return false;
    }
    let host = route.spec.host.as_str();
    let (Some(account), Some(endpoint)) = (route.spec.account.as_deref(), parse_rds_endpoint(host))
    else {
        return false;
    };
    if !ctx.rds.reads(account, &endpoint) {
        return false;
    }
    match ctx.rds.find_database(account, host, &endpoint).await {
        Ok(found) => found.is_none(),
        Err(e) => {
            debug!(route_id = %route.id(), error = %e, "RDS API did not confirm the name is gone");
            false
        }
    }
}

/// The liveness check (issue #27): an Aurora reader or custom endpoint followed by DNS keeps a
/// reader its answers stopped naming for the retention time (2 h), because a live reader may
/// go unanswered that long. Before such an IP is kept past K lookups, the EC2 API must show an
/// RDS network interface holding it ([`crate::adapters::aws::ec2::Ec2::rds_interface_ips`]);
/// no interface, or another kind, and the IP leaves at once — it may already be another
/// database's or a Lambda's. Only where the router can ask: the route's database is known to
/// be in the router's own account and region (EC2 answers for one region; a read role's
/// account is not asked yet). A failed EC2 call
/// keeps everything (fail-static). Cost: one DescribeNetworkInterfaces per observation of such
/// a route while it holds an IP past K misses; none otherwise.
pub async fn liveness(ctx: &Context, route: &Route, seen: &Observation) -> BTreeSet<IpAddr> {
    let Retention::Time { lookups, .. } = seen.retention else {
        return BTreeSet::new();
    };
    let Lookup::Answer(answer) = &seen.lookup else {
        return BTreeSet::new();
    };
    let own_region = ctx.config.own_region();
    if route.spec.account.as_deref() != Some(ctx.config.own_account().as_str())
        || !route
            .region()
            .is_some_and(|r| r.eq_ignore_ascii_case(&own_region))
    {
        return BTreeSet::new();
    }
    let candidates: BTreeSet<IpAddr> = route
        .sightings
        .iter()
        .filter(|(ip, misses)| !answer.contains(ip) && misses + 1 >= lookups)
        .map(|(ip, _)| ip)
        .collect();
    if candidates.is_empty() {
        return candidates;
    }
    match ctx.ec2.rds_interface_ips(&candidates).await {
        Ok(live) => candidates.difference(&live).copied().collect(),
        Err(e) => {
            warn!(route_id = %route.id(), error = %e, "liveness of retained readers not checked; they stay for the retention time");
            BTreeSet::new()
        }
    }
}

/// How long a route keeps an IP its name stopped answering: reader and custom endpoints answer
/// one member per query, so they keep IPs for the reader retention time as well as K lookups
/// ([`crate::domain::window`]); a name that answers a subset of its records per query
/// (`answers_sampled`) keeps them for [`sampled_retention`]; every other name (instance,
/// writer, proxy, other) follows K lookups.
pub fn retention_for(route: &Route, config: &Config) -> Retention {
    if answers_one_member(route.spec.host.as_str()) {
        Retention::Time {
            lookups: config.window,
            absent_secs: config.reader_retention_secs,
            ttl_secs: RDS_RECORD_TTL_SECS,
        }
    } else if route.answers_sampled {
        sampled_retention(route.sightings.len())
    } else {
        Retention::Lookups(config.window)
    }
}

/// The IPs a route's database answers now by one fresh observation
/// ([`crate::domain::claims::answers_now`]), less those the route gave up (its name answering
/// them again is a stale answer: it claims nothing).
pub fn claim_of(route: &Route, seen: &Observation) -> BTreeSet<IpAddr> {
    let newest = match &seen.lookup {
        Lookup::Answer(ips) => ips.clone(),
        Lookup::Failed(LookupFailure::NxDomain) => BTreeSet::new(),
        Lookup::Failed(_) => route.sightings.newest(),
    };
    let mut now = answers_now(&route.sightings, &newest, seen.retention);
    now.retain(|ip| !route.ceded.contains_key(ip));
    now
}

/// What every route's database answers now, by the routes as stored (the minute watch keeps a
/// route's remembered answer within a minute of DNS): each `active` or `pending` route's
/// newest answer (and recent window, for reader and custom endpoints followed by DNS). The
/// flows that see one route at a time (events, `sync`, the full audit) plan with it.
pub fn stored_claims<'a>(routes: impl IntoIterator<Item = &'a Route>, config: &Config) -> Claims {
    let mut claims = Claims::default();
    for route in routes {
        if matches!(route.status, RouteStatus::Active | RouteStatus::Pending) {
            let now = answers_now(
                &route.sightings,
                &route.sightings.newest(),
                retention_for(route, config),
            );
            claims.add(route.id().as_str(), now);
        }
    }
    claims
}
