//! DNS adapter: resolves a route's host with hickory-resolver, cache off, so a failover is seen
//! at the next lookup rather than after a cached TTL.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

use crate::domain::plan::{Lookup, LookupFailure};

/// Looks up the IPv4 addresses of a host; failures are values, never errors.
#[async_trait]
pub trait Resolve: Send + Sync {
    /// One fresh (uncached) lookup.
    async fn lookup(&self, host: &str) -> Lookup;

    /// [`Resolve::lookup`] with the names of the CNAME chain the answer went through, in order
    /// (`a.corp` → `b.rds…` → `c.rds…` gives `[b.rds…, c.rds…]`, lower-case, no trailing dot):
    /// empty when the name answered directly or the resolver does not tell. One query.
    async fn lookup_chain(&self, host: &str) -> (Lookup, Vec<String>) {
        (self.lookup(host).await, vec![])
    }
}

/// A resolver whose answers may hold at most `cap` addresses (`ROUTER_TARGETS_PER_ROUTE`): a
/// larger answer is [`LookupFailure::TooManyAddresses`], so, like any failed lookup, it changes
/// no target (a name answering thousands of private addresses would otherwise take the NLB's
/// shared 500 targets and outgrow the route's 400 KB item).
pub struct Capped {
    inner: std::sync::Arc<dyn Resolve>,
    cap: usize,
}

impl Capped {
    /// `inner` capped at `cap` addresses an answer; 0 leaves it as it is.
    pub fn wrap(inner: std::sync::Arc<dyn Resolve>, cap: usize) -> std::sync::Arc<dyn Resolve> {
        if cap == 0 {
            return inner;
        }
        std::sync::Arc::new(Self { inner, cap })
    }
}

impl Capped {
    fn cap(&self, lookup: Lookup) -> Lookup {
        match lookup {
            Lookup::Answer(ips) if ips.len() > self.cap => {
                Lookup::Failed(LookupFailure::TooManyAddresses)
            }
            other => other,
        }
    }
}

#[async_trait]
impl Resolve for Capped {
    async fn lookup(&self, host: &str) -> Lookup {
        self.cap(self.inner.lookup(host).await)
    }

    async fn lookup_chain(&self, host: &str) -> (Lookup, Vec<String>) {
        let (lookup, chain) = self.inner.lookup_chain(host).await;
        (self.cap(lookup), chain)
    }
}

/// The resolver could not be set up (bad server list or unreadable resolv.conf).
#[derive(Debug, thiserror::Error)]
#[error("DNS resolver setup failed: {0}")]
pub struct DnsSetupError(String);

/// Parses the documented `ROUTER_DNS_SERVERS` value: comma-separated `ip` or `ip:port`.
pub fn parse_servers(raw: &str) -> Result<Vec<SocketAddr>, DnsSetupError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<SocketAddr>()
                .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| DnsSetupError(format!("{s:?} is not an IP or IP:port")))
        })
        .collect()
}

/// hickory-resolver behind [`Resolve`].
#[derive(Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
}

impl HickoryResolver {
    /// Builds a resolver for the given servers (UDP, then TCP on truncation), or the system's
    /// resolv.conf when `servers` is empty. Cache off; `timeout` per attempt.
    pub fn new(
        servers: &[SocketAddr],
        timeout: Duration,
        attempts: usize,
    ) -> Result<Self, DnsSetupError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if servers.is_empty() {
            TokioResolver::builder(provider).map_err(|e| DnsSetupError(e.to_string()))?
        } else {
            let name_servers = servers
                .iter()
                .map(|addr| {
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut ns.connections {
                        c.port = addr.port();
                    }
                    ns
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(name_servers),
                provider,
            )
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.cache_size = 0;
        opts.timeout = timeout;
        opts.attempts = attempts;
        opts.ip_strategy = LookupIpStrategy::Ipv4Only;
        opts.ndots = 0;
        let inner = builder.build().map_err(|e| DnsSetupError(e.to_string()))?;
        Ok(Self { inner })
    }
}

#[async_trait]
impl Resolve for HickoryResolver {
    async fn lookup(&self, host: &str) -> Lookup {
        self.lookup_chain(host).await.0
    }

    async fn lookup_chain(&self, host: &str) -> (Lookup, Vec<String>) {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return (Lookup::from_ips([ip]), vec![]);
        }
        let fqdn = if host.ends_with('.') {
            host.to_owned()
        } else {
            format!("{host}.")
        };
        match self.inner.lookup_ip(fqdn.as_str()).await {
            Ok(answer) => {
                // The chain walked from the asked name, owner to target: records of other
                // owners (a split or reordered answer) are not part of it.
                let norm = |n: &hickory_resolver::proto::rr::Name| {
                    n.to_ascii().trim_end_matches('.').to_ascii_lowercase()
                };
                let links: std::collections::HashMap<String, String> = answer
                    .as_lookup()
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::CNAME(target) => Some((norm(&r.name), norm(&target.0))),
                        _ => None,
                    })
                    .collect();
                let mut chain = Vec::new();
                let mut at = host.trim_end_matches('.').to_ascii_lowercase();
                while let Some(next) = links.get(&at) {
                    if chain.contains(next) || chain.len() >= links.len() {
                        break; // a loop: what was walked is the chain
                    }
                    chain.push(next.clone());
                    at = next.clone();
                }
                (Lookup::from_ips(answer.iter()), chain)
            }
            Err(e) => (Lookup::Failed(classify(&e)), vec![]),
        }
    }
}

fn classify(e: &NetError) -> LookupFailure {
    match e {
        NetError::Timeout => LookupFailure::Timeout,
        NetError::Dns(DnsError::NoRecordsFound(nr))
            if nr.response_code == ResponseCode::NXDomain =>
        {
            LookupFailure::NxDomain
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => LookupFailure::Empty,
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail | ResponseCode::Refused)) => {
            LookupFailure::ServFail
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => LookupFailure::NxDomain,
        other if other.to_string().contains("timed out") => LookupFailure::Timeout,
        _ => LookupFailure::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_list_accepts_ips_and_ip_ports() {
        let s = parse_servers("127.0.0.1:5353, 10.0.0.2").unwrap();
        assert_eq!(
            s,
            vec![
                "127.0.0.1:5353".parse().unwrap(),
                "10.0.0.2:53".parse().unwrap()
            ]
        );
        assert!(parse_servers("").unwrap().is_empty());
        assert!(parse_servers("dns.example").is_err());
    }
}
