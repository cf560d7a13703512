//! DNS adapter: resolves a route's host with hickory-resolver, cache off, so a failover is seen
//! at the next lookup rather than after a cached TTL.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioResolver;

use crate::domain::plan::{Lookup, LookupFailure};

/// Looks up the IPv4 addresses of a host; failures are values, never errors.
#[async_trait]
pub trait Resolve: Send + Sync {
    /// One fresh (uncached) lookup.
    async fn lookup(&self, host: &str) -> Lookup;
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

#[async_trait]
impl Resolve for Capped {
    async fn lookup(&self, host: &str) -> Lookup {
        match self.inner.lookup(host).await {
            Lookup::Answer(ips) if ips.len() > self.cap => {
                Lookup::Failed(LookupFailure::TooManyAddresses)
            }
            other => other,
        }
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
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Lookup::from_ips([ip]);
        }
        let fqdn = if host.ends_with('.') {
            host.to_owned()
        } else {
            format!("{host}.")
        };
        match self.inner.lookup_ip(fqdn.as_str()).await {
            Ok(answer) => Lookup::from_ips(answer.iter()),
            Err(e) => Lookup::Failed(classify(&e)),
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
