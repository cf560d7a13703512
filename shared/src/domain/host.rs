//! Database host names: RFC 1123 validation and RDS endpoint recognition.

use std::fmt;
use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::domain::validation::ValidationError;

/// A validated, lowercased DNS host name (or an IP literal where policy allows one).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostName(String);

/// A DNS name as [`HostName::parse_with`] accepts it.
impl JsonSchema for HostName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HostName".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "maxLength": Self::MAX_LEN})
    }
}

/// What host names a deployment accepts beyond RFC 1123.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// Accept IP literals as hosts (they never move, so the router only registers them).
    pub allow_ip_literals: bool,
    /// When non-empty, a host must be one of these domains or a name under one (e.g.
    /// `.rds.amazonaws.com`): matched on a label boundary, so `corp.example` admits
    /// `db.corp.example` and `corp.example`, never `evilcorp.example`.
    pub allowed_suffixes: Vec<String>,
}

impl HostName {
    /// Longest DNS name (RFC 1123 section 2.1, RFC 1035 section 2.3.4).
    pub const MAX_LEN: usize = 253;

    /// Parses a DNS name by RFC 1123 syntax only: labels of 1-63 letters, digits and hyphens,
    /// no hyphen at a label's edge, at most 253 characters, not an IP literal.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::parse_with(raw, &HostPolicy::default())
    }

    /// Parses a host name under a deployment's policy.
    pub fn parse_with(raw: &str, policy: &HostPolicy) -> Result<Self, ValidationError> {
        let fail = |reason: &str| ValidationError::Host {
            host: raw.chars().take(300).collect(),
            reason: reason.to_owned(),
        };
        let name = raw.strip_suffix('.').unwrap_or(raw).to_ascii_lowercase();
        if name.parse::<IpAddr>().is_ok() {
            return if policy.allow_ip_literals {
                Ok(Self(name))
            } else {
                Err(fail(
                    "IP literals are not accepted; use the database's DNS name",
                ))
            };
        }
        if name.is_empty() {
            return Err(fail("empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(fail("longer than 253 characters"));
        }
        for label in name.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(fail("each label must be 1-63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(fail("only letters, digits, '-' and '.' are allowed"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(fail("a label must not start or end with '-'"));
            }
        }
        let tld = name.rsplit('.').next().unwrap_or_default();
        if tld.bytes().all(|b| b.is_ascii_digit()) {
            return Err(fail("the last label must not be all digits"));
        }
        if !policy.allowed_suffixes.is_empty()
            && !policy
                .allowed_suffixes
                .iter()
                .any(|s| under_domain(&name, s))
        {
            return Err(fail(&format!(
                "must end with one of: {}",
                policy.allowed_suffixes.join(", ")
            )));
        }
        Ok(Self(name))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host as an IP literal, when it is one.
    pub fn as_ip(&self) -> Option<IpAddr> {
        self.0.parse().ok()
    }
}

impl TryFrom<String> for HostName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        // Stored names were validated on the way in; IP literals survive a round trip.
        Self::parse_with(
            &value,
            &HostPolicy {
                allow_ip_literals: true,
                allowed_suffixes: vec![],
            },
        )
    }
}

impl From<HostName> for String {
    fn from(h: HostName) -> Self {
        h.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which kind of RDS endpoint a host name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RdsEndpointKind {
    /// `<instance>.<hash>.<region>.rds.amazonaws.com`
    Instance,
    /// `<cluster>.cluster-<hash>...` (Aurora writer)
    ClusterWriter,
    /// `<cluster>.cluster-ro-<hash>...` (Aurora readers, DNS round robin)
    ClusterReader,
    /// `<endpoint>.cluster-custom-<hash>...`
    ClusterCustom,
    /// `<proxy>.proxy-<hash>...`: an RDS Proxy's default endpoint (read/write).
    Proxy,
    /// `<endpoint>.endpoint.proxy-<hash>...`: an endpoint added to an RDS Proxy, read/write or
    /// read-only (RDS user guide, "Working with Amazon RDS Proxy endpoints"); its events name
    /// the proxy, which the RDS API tells (DescribeDBProxyEndpoints).
    ProxyEndpoint,
    /// `<global-cluster>.global-<hash>.global.rds.amazonaws.com`: an Aurora global database's
    /// writer endpoint, a CNAME Aurora points at the primary cluster's writer endpoint, in
    /// whichever region is primary (Aurora user guide, "Connecting to Amazon Aurora Global
    /// Database"). It has no region of its own: its member clusters' events, from any of their
    /// regions, concern it.
    GlobalWriter,
}

impl RdsEndpointKind {
    /// True for Aurora reader and custom endpoints: they answer one member instance per DNS
    /// query (Aurora user guide, "Amazon Aurora endpoints"), so an address missing from one
    /// answer is not gone, and their members can be read from the RDS API.
    pub fn answers_one_member(self) -> bool {
        matches!(self, Self::ClusterReader | Self::ClusterCustom)
    }

    /// True for RDS Proxy endpoints (default or added): the name answers every address of
    /// the proxy at once (one per subnet it runs in), and the route's port is the proxy's,
    /// whatever port the databases behind it listen on.
    pub fn is_proxy(self) -> bool {
        matches!(self, Self::Proxy | Self::ProxyEndpoint)
    }
}

/// True when `host` is an Aurora reader or custom endpoint
/// ([`RdsEndpointKind::answers_one_member`]).
pub fn answers_one_member(host: &str) -> bool {
    parse_rds_endpoint(host).is_some_and(|e| e.kind.answers_one_member())
}

/// True when `name` is the domain `suffix` (a leading or trailing dot ignored, any case) or a
/// name under it: the match ends on a label boundary.
pub(crate) fn under_domain(name: &str, suffix: &str) -> bool {
    let domain = suffix
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    !domain.is_empty()
        && (name == domain
            || name
                .strip_suffix(domain.as_str())
                .is_some_and(|head| head.ends_with('.')))
}

/// An RDS endpoint recognised from its host name: the identifier RDS events carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsEndpoint {
    /// DB instance, cluster, custom endpoint or proxy identifier (lowercase).
    pub identifier: String,
    /// Endpoint kind.
    pub kind: RdsEndpointKind,
    /// AWS region in the name; `global` for a global writer endpoint, which belongs to no
    /// region (so no regional RDS API covers it).
    pub region: String,
}

/// Recognises RDS endpoint names (RDS and Aurora user guides, "Connecting to a DB instance",
/// "Amazon Aurora endpoint connections" and "Working with Amazon RDS Proxy endpoints");
/// `None` for any other name.
pub fn parse_rds_endpoint(host: &str) -> Option<RdsEndpoint> {
    let (labels, at) = rds_labels(host)?;
    let (identifier, hash, region) = (&labels[0], &labels[at], &labels[at + 1]);
    if identifier.is_empty() || hash.is_empty() || region.is_empty() {
        return None;
    }
    let kind = if at == 2 {
        RdsEndpointKind::ProxyEndpoint
    } else if region == "global" && hash.starts_with("global-") {
        RdsEndpointKind::GlobalWriter
    } else if hash.starts_with("cluster-custom-") {
        RdsEndpointKind::ClusterCustom
    } else if hash.starts_with("cluster-ro-") {
        RdsEndpointKind::ClusterReader
    } else if hash.starts_with("cluster-") {
        RdsEndpointKind::ClusterWriter
    } else if hash.starts_with("proxy-") {
        RdsEndpointKind::Proxy
    } else {
        RdsEndpointKind::Instance
    };
    Some(RdsEndpoint {
        identifier: identifier.clone(),
        kind,
        region: region.clone(),
    })
}

/// The lowercased labels of an RDS endpoint name and the index of its hash label:
/// `id . hash . region . rds . amazonaws . com[.cn]` (hash at 1), or a proxy's added endpoint
/// `id . endpoint . proxy-hash . region . rds …` (hash at 2).
fn rds_labels(host: &str) -> Option<(Vec<String>, usize)> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let labels: Vec<String> = host.split('.').map(str::to_owned).collect();
    let rds_at = labels.iter().position(|l| l == "rds")?;
    let tail = &labels[rds_at + 1..];
    if !(tail == ["amazonaws", "com"] || tail == ["amazonaws", "com", "cn"]) {
        return None;
    }
    match rds_at {
        3 => Some((labels, 1)),
        4 if labels[1] == "endpoint" && labels[2].starts_with("proxy-") => Some((labels, 2)),
        _ => None,
    }
}

/// The part of an RDS endpoint name that stands for its account and region — `c9akciq32abc`
/// in `orders.c9akciq32abc.us-east-1.rds.amazonaws.com`, also after `cluster-`, `cluster-ro-`,
/// `cluster-custom-` and `proxy-` (a proxy's added endpoint too) — with the region. Every
/// endpoint of one account in one region carries the same one (the name holds "a unique identifier for your AWS account and Region",
/// RDS user guide, "Finding the connection information for an RDS for … DB instance"), so a
/// database whose account is known tells the account of an unknown one with the same hash.
pub fn account_hash(host: &str) -> Option<(String, String)> {
    // A global writer endpoint's `global-<hash>` names the global database, not an account.
    parse_rds_endpoint(host).filter(|e| e.kind != RdsEndpointKind::GlobalWriter)?;
    let (labels, at) = rds_labels(host)?;
    let hash = ["cluster-custom-", "cluster-ro-", "cluster-", "proxy-"]
        .iter()
        .find_map(|p| labels[at].strip_prefix(p))
        .unwrap_or(&labels[at]);
    (!hash.is_empty()).then(|| (hash.to_owned(), labels[at + 1].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn allowed_suffixes_match_on_a_label_boundary() {
        let policy = HostPolicy {
            allow_ip_literals: false,
            allowed_suffixes: vec!["corp.example".into(), ".rds.amazonaws.com".into()],
        };
        for ok in [
            "db.corp.example",
            "corp.example",
            "a.b.CORP.example.",
            "orders.c9akciq32abc.us-east-1.rds.amazonaws.com",
        ] {
            assert!(HostName::parse_with(ok, &policy).is_ok(), "{ok}");
        }
        for bad in [
            "evilcorp.example",
            "db.evilcorp.example",
            "corp.example.evil.test",
            "myrds.amazonaws.com",
        ] {
            assert!(HostName::parse_with(bad, &policy).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_endpoint_kind_of_one_account_gives_the_same_hash() {
        let want = Some(("c9akciq32abc".to_owned(), "us-east-1".to_owned()));
        for host in [
            "orders.c9akciq32abc.us-east-1.rds.amazonaws.com",
            "billing.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
            "billing.cluster-ro-c9akciq32abc.us-east-1.rds.amazonaws.com.",
            "an.cluster-custom-c9akciq32abc.us-east-1.rds.amazonaws.com",
            "px.proxy-c9akciq32abc.us-east-1.rds.amazonaws.com",
            "px-ro.endpoint.proxy-c9akciq32abc.us-east-1.rds.amazonaws.com",
        ] {
            assert_eq!(account_hash(host), want, "{host}");
        }
        assert_eq!(account_hash("orders.db.internal.test"), None);
        assert_eq!(
            account_hash("gdb1.global-c9akciq32abc.global.rds.amazonaws.com"),
            None
        );
    }

    #[test]
    fn rds_instance_cluster_reader_custom_and_proxy_names_are_recognised() {
        let cases = [
            (
                "mydb.c9akciq32.us-east-1.rds.amazonaws.com",
                "mydb",
                RdsEndpointKind::Instance,
            ),
            (
                "aurora1.cluster-c9akciq32.eu-west-1.rds.amazonaws.com",
                "aurora1",
                RdsEndpointKind::ClusterWriter,
            ),
            (
                "aurora1.cluster-ro-c9akciq32.eu-west-1.rds.amazonaws.com",
                "aurora1",
                RdsEndpointKind::ClusterReader,
            ),
            (
                "analytics.cluster-custom-c9akciq32.eu-west-1.rds.amazonaws.com",
                "analytics",
                RdsEndpointKind::ClusterCustom,
            ),
            (
                "myproxy.proxy-c9akciq32.us-east-2.rds.amazonaws.com",
                "myproxy",
                RdsEndpointKind::Proxy,
            ),
            (
                "reads.endpoint.proxy-c9akciq32.us-east-2.rds.amazonaws.com",
                "reads",
                RdsEndpointKind::ProxyEndpoint,
            ),
            (
                "gdb1.global-abc123.global.rds.amazonaws.com",
                "gdb1",
                RdsEndpointKind::GlobalWriter,
            ),
            (
                "cn-db.abc.cn-north-1.rds.amazonaws.com.cn",
                "cn-db",
                RdsEndpointKind::Instance,
            ),
        ];
        for (host, id, kind) in cases {
            let e = parse_rds_endpoint(host).unwrap_or_else(|| panic!("{host}"));
            assert_eq!((e.identifier.as_str(), e.kind), (id, kind), "{host}");
        }
    }

    #[test]
    fn rds_names_are_recognised_in_any_case_and_with_trailing_dot() {
        let e = parse_rds_endpoint("MyDB.C9AKCIQ32.US-EAST-1.RDS.AMAZONAWS.COM.").unwrap();
        assert_eq!(e.identifier, "mydb");
        assert_eq!(e.region, "us-east-1");
    }

    #[test]
    fn non_rds_names_have_no_identifier() {
        for host in [
            "orders.db.test",
            "rds.amazonaws.com",
            "x.rds.amazonaws.com",
            "a.b.c.rds.amazonaws.com.evil.test",
            "a.b.c.d.rds.amazonaws.com",
            "a.endpoint.c9akciq32.us-east-1.rds.amazonaws.com",
            "a.other.proxy-c9akciq32.us-east-1.rds.amazonaws.com",
            "db.example.com",
        ] {
            assert_eq!(parse_rds_endpoint(host), None, "{host}");
        }
    }

    #[test]
    fn host_names_follow_rfc_1123() {
        assert_eq!(
            HostName::parse("Orders.DB.test.").unwrap().as_str(),
            "orders.db.test"
        );
        assert!(HostName::parse("3com.example").is_ok());
        for bad in [
            "", "-a.test", "a-.test", "a..b", "a_b.test", "a b.test", "10.1.2.3", "::1", "x.123",
        ] {
            assert!(HostName::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.test", vec!["a".repeat(63); 4].join("."));
        assert!(long.len() > 253);
        assert!(HostName::parse(&long).is_err());
        assert!(HostName::parse(&format!("{}.test", "a".repeat(64))).is_err());
    }

    #[test]
    fn ip_literals_need_explicit_permission() {
        let policy = HostPolicy {
            allow_ip_literals: true,
            allowed_suffixes: vec![],
        };
        assert!(HostName::parse("10.1.2.3").is_err());
        assert_eq!(
            HostName::parse_with("10.1.2.3", &policy).unwrap().as_ip(),
            Some("10.1.2.3".parse().unwrap())
        );
    }

    #[test]
    fn suffix_allow_list_is_enforced() {
        let policy = HostPolicy {
            allow_ip_literals: false,
            allowed_suffixes: vec![".rds.amazonaws.com".into()],
        };
        assert!(HostName::parse_with("a.b.us-east-1.rds.amazonaws.com", &policy).is_ok());
        assert!(HostName::parse_with("orders.db.test", &policy).is_err());
    }

    proptest! {
        #[test]
        fn host_parsing_never_panics_and_accepts_only_valid_syntax(s in ".{0,300}") {
            if let Ok(h) = HostName::parse(&s) {
                prop_assert!(h.as_str().len() <= 253);
                prop_assert!(h.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
            }
            let _ = parse_rds_endpoint(&s);
        }
    }
}
