//! Routes: one database exposed on one NLB listener port. Domain types and their validation;
//! no AWS types here.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::arrivals::Arrival;
use crate::domain::health::RefusedAddress;
use crate::domain::host::HostName;
use crate::domain::validation::ValidationError;
use crate::domain::window::Sightings;

/// A route's stable identifier: its name, a slug safe in URLs, tags and target group names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RouteId(String);

impl RouteId {
    /// Longest accepted route name.
    pub const MAX_LEN: usize = 64;

    /// Validates a route name: 1-64 of `[a-z0-9-]`, no leading or trailing hyphen.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::RouteName(raw.to_owned()))
        }
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A string of the [`RouteId::parse`] rules (the `{id}` of the API's paths).
impl JsonSchema for RouteId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RouteId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A route's name and id: 1-64 of a-z, 0-9 and '-', no '-' at either end.",
            "pattern": "^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$",
            "minLength": 1,
            "maxLength": Self::MAX_LEN,
        })
    }
}

impl TryFrom<String> for RouteId {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RouteId> for String {
    fn from(id: RouteId) -> Self {
        id.0
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Target group attributes the router sets for databases (ELBv2 API reference,
/// TargetGroupAttribute): a short deregistration delay so a failed-over writer does not keep
/// traffic for AWS's default 300 s, and connections closed when a target leaves.
pub fn database_attributes(deregistration_delay_secs: u32) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "deregistration_delay.timeout_seconds".to_owned(),
            deregistration_delay_secs.to_string(),
        ),
        (
            "deregistration_delay.connection_termination.enabled".to_owned(),
            "true".to_owned(),
        ),
    ])
}

/// Target group name for a route: deterministic, unique per (deployment, router, route), always
/// valid.
///
/// CreateTargetGroup requires at most 32 characters, only alphanumerics and hyphens, no leading
/// or trailing hyphen, and no `internal-` prefix (ELBv2 API reference, CreateTargetGroup, `Name`).
/// The readable part is truncated; an 8-hex-digit SHA-256 suffix over the full (deployment,
/// router, route) triple keeps truncated names apart — and two deployments of the module in one
/// account and region (`ROUTER_DEPLOYMENT`, the module's `service_name`), whose router ids and
/// route names may well be the same, apart: target group names are unique per account and
/// region. Routes stored before the deployment was part of the name keep theirs
/// ([`Route::target_group_name`]).
pub fn target_group_name(deployment: &str, router: &str, route: &str) -> String {
    const PREFIX: &str = "plr-";
    const MAX: usize = 32;
    let digest = Sha256::digest(format!("{deployment}/{router}/{route}").as_bytes());
    let suffix: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let room = MAX - PREFIX.len() - 1 - suffix.len();
    let mut readable: String = route
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(room)
        .collect();
    while readable.ends_with('-') || readable.contains("--") {
        readable = readable.trim_end_matches('-').replace("--", "-");
    }
    let readable = readable.trim_start_matches('-');
    if readable.is_empty() {
        format!("{PREFIX}{suffix}")
    } else {
        format!("{PREFIX}{readable}-{suffix}")
    }
}

/// Transport protocol of a route; NLB TCP listeners only, for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// Plain TCP pass-through.
    #[default]
    Tcp,
}

impl Protocol {
    /// Parses a protocol name, case-insensitively.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.to_ascii_uppercase().as_str() {
            "TCP" => Ok(Self::Tcp),
            _ => Err(ValidationError::Protocol(raw.to_owned())),
        }
    }
}

/// The database engine behind a route: which client (JDBC driver, libpq, mysql) a consumer
/// uses and how it asks for a verified TLS connection (see the catalog).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL, RDS or Aurora (`postgres`, `aurora-postgresql`).
    Postgres,
    /// MySQL, RDS or Aurora (`mysql`, `aurora-mysql`).
    Mysql,
    /// MariaDB (`mariadb`).
    Mariadb,
}

impl Engine {
    /// The engine of an RDS `Engine` value (DescribeDBInstances / DescribeDBClusters, RDS API
    /// reference, `DBInstance.Engine`); `None` for engines the catalog has no template for.
    pub fn from_rds(engine: &str) -> Option<Self> {
        match engine {
            "postgres" | "aurora-postgresql" => Some(Self::Postgres),
            "mysql" | "aurora-mysql" | "aurora" => Some(Self::Mysql),
            "mariadb" => Some(Self::Mariadb),
            _ => None,
        }
    }
}

/// TCP health check of a route's target group, within the NLB's allowed ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheck {
    /// Seconds between checks (NLB: 5-300).
    #[schemars(range(min = 5, max = 300))]
    pub interval_seconds: u32,
    /// Seconds before a check fails (NLB: 2-120).
    #[schemars(range(min = 2, max = 120))]
    pub timeout_seconds: u32,
    /// Successes before healthy (NLB: 2-10).
    #[schemars(range(min = 2, max = 10))]
    pub healthy_threshold: u32,
    /// Failures before unhealthy (NLB: 2-10).
    #[schemars(range(min = 2, max = 10))]
    pub unhealthy_threshold: u32,
}

impl Default for HealthCheck {
    fn default() -> Self {
        Self {
            interval_seconds: 10,
            timeout_seconds: 5,
            healthy_threshold: 3,
            unhealthy_threshold: 3,
        }
    }
}

impl HealthCheck {
    /// Checks every field against the NLB target group health check limits
    /// (NLB user guide, "Health checks for Network Load Balancer target groups").
    pub fn validate(&self) -> Result<(), ValidationError> {
        let check = |field, min, max, value: u32| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ValidationError::HealthCheck {
                    field,
                    min,
                    max,
                    value,
                })
            }
        };
        check("interval_seconds", 5, 300, self.interval_seconds)?;
        check("timeout_seconds", 2, 120, self.timeout_seconds)?;
        // CreateTargetGroup refuses a timeout longer than the interval ("Health check timeout
        // must be smaller than or equal to the interval"; moto enforces it too).
        check(
            "timeout_seconds",
            2,
            self.interval_seconds,
            self.timeout_seconds,
        )?;
        check("healthy_threshold", 2, 10, self.healthy_threshold)?;
        check("unhealthy_threshold", 2, 10, self.unhealthy_threshold)
    }
}

/// The NLB's TCP idle timeout range in seconds: a listener closes a flow that carried no
/// bytes for this long (NLB user guide, "Listener attributes", `tcp.idle_timeout.seconds`:
/// 60-6000, default 350).
pub const IDLE_TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 60..=6000;

/// Validates a route's `idle_timeout_seconds` against [`IDLE_TIMEOUT_RANGE`].
pub fn validate_idle_timeout(value: i64) -> Result<u32, ValidationError> {
    u32::try_from(value)
        .ok()
        .filter(|v| IDLE_TIMEOUT_RANGE.contains(v))
        .ok_or(ValidationError::IdleTimeout {
            min: *IDLE_TIMEOUT_RANGE.start(),
            max: *IDLE_TIMEOUT_RANGE.end(),
            value,
        })
}

/// Lifecycle of a route, as the router drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RouteStatus {
    /// Intent recorded; AWS resources not (all) created yet — a retry or the audit finishes it.
    Provisioning,
    /// Resources exist but the database does not resolve yet (waiting for its creation event).
    Pending,
    /// Serving: targets follow DNS.
    Active,
    /// The database was deleted: no targets, listener and port kept for a re-created database.
    SourceDeleted,
    /// The route's name has answered NXDOMAIN for longer than `ROUTER_GONE_AFTER_SECONDS`
    /// (deleted or renamed, with no event heard): no targets, listener and port kept; the route
    /// follows its name again by itself when it resolves.
    SourceGone,
    /// Being removed: a retry or the audit finishes the removal.
    Deleting,
}

/// What a route asks for: the user-controlled part, compared to tell a replay from a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RouteSpec {
    /// Unique name, also the id.
    pub id: RouteId,
    /// Database DNS name the targets follow.
    pub host: HostName,
    /// Database port the targets are registered on.
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Listener/target protocol.
    pub protocol: Protocol,
    /// Target group health check.
    pub health_check: HealthCheck,
    /// User tags, copied onto the target group.
    pub tags: BTreeMap<String, String>,
    /// RDS identifier whose events concern this route (explicit or derived from the host).
    pub rds_identifier: Option<String>,
    /// AWS account of the database (12 digits), explicit (`account_id`, `rds_arn`) or learned
    /// from the router's own RDS API. Names are unique only per account and region: events of
    /// other accounts never end this route. Absent when unknown (routes stored before accounts
    /// were known, or databases the router cannot look up): a deletion event then ends the
    /// route only once its name stops resolving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// AWS region of the database, from `rds_arn` (RDS endpoint names carry their own region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The RDS endpoint a private alias (`host`, a name that is no RDS endpoint) led to
    /// through its CNAME chain at creation: the route took that endpoint's identifier,
    /// account and engine, so its database's events reach the route. A deletion event ends
    /// such a route at once only while the alias still leads there. Absent for other names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<HostName>,
    /// A listener port fixed by the owner instead of allocated (a takeover keeps the ports
    /// consumers already use): the allocator gives exactly this port or refuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<PortPin>,
    /// An existing target group taken over (`plr adopt`: the seed's `<nlb>-tg-<name>`), used
    /// instead of the router's deterministic name so the listener keeps its default action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_group: Option<String>,
    /// Consumers connect by the database's own host name, which the router's private endpoint
    /// rule then carries as a domain name, so TLS certificate checks (PostgreSQL
    /// `verify-full`, MySQL `VERIFY_IDENTITY`) pass: the RDS certificate names the RDS
    /// endpoint, not the router's consumer domain. A rule carries at most 10 domain names
    /// (Databricks). Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_name: bool,
    /// The database engine, for the catalog's connection strings: explicit, or learned from
    /// the router's own RDS API. Absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<Engine>,
    /// Seconds a consumer's connection may carry no bytes before the listener closes it (the
    /// listener's `tcp.idle_timeout.seconds`, 60-6000). Absent: the deployment's default
    /// (`ROUTER_IDLE_TIMEOUT_SECONDS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 6000))]
    pub idle_timeout_seconds: Option<u32>,
}

/// A pinned listener port, on a given router (default: the fleet's first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PortPin {
    /// Listener port (1-65535; may lie outside `ROUTER_PORT_RANGE`).
    #[schemars(range(min = 1))]
    pub port: u16,
    /// Router id; absent or null: the first router of `ROUTER_FLEET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router: Option<String>,
}

/// A stored route: its spec plus what the router allocated and observed for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Route {
    /// What the owner asked for.
    #[serde(flatten)]
    pub spec: RouteSpec,
    /// IAM principal that created it; only it (or an admin) may see and change it.
    pub owner: String,
    /// Router (NLB) the route lives on; never changes.
    pub router: String,
    /// Allocated listener port; never changes for the life of the route.
    #[schemars(range(min = 1))]
    pub listener_port: u16,
    /// Lifecycle state.
    pub status: RouteStatus,
    /// Target group, once created.
    pub target_group_arn: Option<String>,
    /// Listener, once created.
    pub listener_arn: Option<String>,
    /// Compressed DNS history: which IPs were seen in the last K successful lookups.
    #[serde(default)]
    pub sightings: Sightings,
    /// Recent distinct resolutions (newest first, bounded), for people.
    #[serde(default)]
    pub resolutions: Vec<Resolution>,
    /// Targets the router registered, newest first (at most 10): when, after which RDS event,
    /// and when each first served (`healthy`), so "event → registered" and "event → serving"
    /// are measured per failover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arrivals: Vec<Arrival>,
    /// Addresses the newest successful lookup answered that may not be targets (public or
    /// outside the allowed ranges): never registered, always reported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusedAddress>,
    /// A structural conflict the router cannot repair by itself, in one line (e.g. a listener
    /// it does not own on the route's port). Reported by the audit and `sync`; targets are
    /// still reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// Set when the NLB refused to register the route's new targets because it holds as many
    /// targets as it may (`TooManyTargets`: 500 per NLB with cross-zone load balancing, a
    /// target in N target groups counting N times): one line with when and the fix. The old
    /// targets stay; the next reconcile that applies clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_quota_full: Option<String>,
    /// Set when a reconcile stored its plan but could not apply it to ELBv2 (the route then
    /// remembers an answer its targets do not show yet): the next DNS watch reconciles it
    /// whatever DNS says; a reconcile that applies clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unapplied: bool,
    /// Set while a reconcile applies a stored plan to ELBv2 (the route's apply lease, until
    /// then): another reconcile of the route waits for it to clear or expire before it reads
    /// the targets, so two plans are never applied out of order (at most 10 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applying_until: Option<DateTime<Utc>>,
    /// When the route's name first answered NXDOMAIN in the current streak; cleared by the
    /// next answer. Past `ROUTER_GONE_AFTER_SECONDS` the route becomes `source_gone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_gone_since: Option<DateTime<Utc>>,
    /// The new identifier of the Aurora cluster this route's name belonged to, from
    /// RDS-EVENT-0172 ("Renamed cluster from … to …"): the cluster's endpoints carry the new
    /// name now, so the route's name stops resolving. Shown in the route's health while the
    /// name is gone; cleared when it resolves again after being gone, or still answers ten
    /// minutes after the event (renamed back, or taken by another cluster, which the route
    /// then follows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// True while the route's name answers a subset of its addresses per query (Route 53
    /// multivalue answers: at most 8 of them a response), shown by a full answer that brought
    /// back an address an earlier one left out; cleared by an answer of fewer than 8. Its
    /// addresses then stay until enough lookups missed them for a live one to be missed that
    /// long less than once in ten years ([`crate::domain::window::sampled_retention`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answers_sampled: bool,
    /// IPs the route gave up because another route's database answers them, or held when its
    /// source was deleted or its name went gone: never registered on this route again while
    /// another route's database answers them, even if this route's name does (a stale answer).
    /// Each with when it was ceded (epoch seconds); pruned once no other route answers it, or
    /// after [`crate::domain::claims::CEDED_FOR_SECS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, i64>")]
    pub ceded: BTreeMap<IpAddr, i64>,
    /// True once the route's target group and listener carry the deployment tag
    /// (`privatelink-router:deployment`): set at creation; routes stored before the tag existed
    /// get it from the next audit (a one-time migration).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deployment_tagged: bool,
    /// True when its creation counted it on its owner's quota counter (a caller that is not
    /// an admin, with quotas on): its removal then takes it off again, and only then.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub quota_counted: bool,
    /// Event time of the newest RDS event applied, to drop older replays.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change time.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, bumped on every write.
    pub version: u64,
}

impl Route {
    /// The route id.
    pub fn id(&self) -> &RouteId {
        &self.spec.id
    }

    /// True when the route's health is its name being gone: `source_gone`, or a cluster
    /// renamed away whose name answers NXDOMAIN (its address may have gone to another route
    /// already, leaving it `pending`).
    pub fn name_is_gone(&self) -> bool {
        self.status == RouteStatus::SourceGone
            || (self.renamed_to.is_some() && self.name_gone_since.is_some())
    }

    /// The listener idle timeout the route wants (seconds): its own, else the deployment's
    /// `default_secs`.
    pub fn idle_timeout(&self, default_secs: u32) -> u32 {
        self.spec.idle_timeout_seconds.unwrap_or(default_secs)
    }

    /// The database's region: from `rds_arn`, else from an RDS endpoint host name. `None` for
    /// a global writer endpoint: its primary moves between regions.
    pub fn region(&self) -> Option<String> {
        use crate::domain::host::{parse_rds_endpoint, RdsEndpointKind};
        self.spec.region.clone().or_else(|| {
            parse_rds_endpoint(self.spec.host.as_str())
                .filter(|e| e.kind != RdsEndpointKind::GlobalWriter)
                .map(|e| e.region)
        })
    }

    /// The name of the route's target group: the adopted one; else the one its stored ARN
    /// names (`arn:…:targetgroup/<name>/<id>`: routes created before the deployment was part
    /// of the name keep theirs); else the deterministic [`target_group_name`] in `deployment`.
    pub fn target_group_name(&self, deployment: &str) -> String {
        let stored = self
            .target_group_arn
            .as_deref()
            .and_then(|arn| arn.split_once(":targetgroup/"))
            .and_then(|(_, rest)| rest.split('/').next())
            .filter(|name| !name.is_empty());
        self.spec
            .target_group
            .clone()
            .or_else(|| stored.map(str::to_owned))
            .unwrap_or_else(|| target_group_name(deployment, &self.router, self.spec.id.as_str()))
    }
}

/// One remembered DNS resolution of a route's host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Resolution {
    /// When it was seen first.
    pub at: DateTime<Utc>,
    /// Addresses answered (empty on failure).
    pub ips: Vec<String>,
    /// Failure kind, when the lookup failed.
    pub error: Option<String>,
}

/// How many resolutions a route keeps.
pub const RESOLUTIONS_KEPT: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validation::{validate_port, validate_tags};
    use proptest::prelude::*;

    fn valid_tg_name(n: &str) -> bool {
        !n.is_empty()
            && n.len() <= 32
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-')
            && !n.starts_with("internal-")
    }

    #[test]
    fn forty_character_route_name_gives_valid_target_group_name() {
        let id = "orders-database-primary-eu-west-1-prod-x";
        assert_eq!(id.len(), 40);
        let n = target_group_name("d", "router-a", id);
        assert!(valid_tg_name(&n), "{n}");
        assert!(n.starts_with("plr-orders-database-pri"));
    }

    #[test]
    fn target_group_names_differ_for_names_sharing_a_long_prefix() {
        let a = target_group_name("d", "r", "analytics-warehouse-replica-number-one");
        let b = target_group_name("d", "r", "analytics-warehouse-replica-number-two");
        assert_ne!(a, b);
        assert_eq!(
            a,
            target_group_name("d", "r", "analytics-warehouse-replica-number-one")
        );
    }

    #[test]
    fn target_group_name_depends_on_router() {
        assert_ne!(
            target_group_name("d", "r1", "db"),
            target_group_name("d", "r2", "db")
        );
        assert_ne!(
            target_group_name("plr-a", "r1", "orders"),
            target_group_name("plr-b", "r1", "orders"),
            "two deployments in one account"
        );
    }

    #[test]
    fn a_stored_route_keeps_the_target_group_name_its_arn_carries() {
        let json = r#"{"id":"orders","host":"orders.db.test","port":5432,"protocol":"TCP",
            "health_check":{"interval_seconds":10,"timeout_seconds":5,"healthy_threshold":3,"unhealthy_threshold":3},
            "tags":{},"rds_identifier":null,"owner":"o","router":"r1","listener_port":10000,
            "status":"active","target_group_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/plr-orders-1a2b3c4d/0123456789abcdef",
            "listener_arn":null,"last_event_at":null,"created_at":"2026-11-01T00:00:00Z",
            "updated_at":"2026-11-01T00:00:00Z","version":3}"#;
        let route: Route = serde_json::from_str(json).expect("an item as stored before #27");
        assert!(!route.deployment_tagged && route.ceded.is_empty());
        assert_eq!(route.target_group_name("plr-b"), "plr-orders-1a2b3c4d");
        let fresh = Route {
            target_group_arn: None,
            ..route
        };
        assert_eq!(
            fresh.target_group_name("plr-b"),
            target_group_name("plr-b", "r1", "orders")
        );
    }

    #[test]
    fn route_names_reject_uppercase_hyphen_edges_and_overlength() {
        for bad in ["", "-a", "a-", "Orders", "a_b", "a.b", &"a".repeat(65)] {
            assert!(RouteId::parse(bad).is_err(), "{bad:?}");
        }
        assert!(RouteId::parse(&"a".repeat(64)).is_ok());
        assert!(RouteId::parse("orders-db-1").is_ok());
    }

    #[test]
    fn health_check_limits_follow_nlb_ranges() {
        assert!(HealthCheck::default().validate().is_ok());
        let bad = HealthCheck {
            interval_seconds: 4,
            ..HealthCheck::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ValidationError::HealthCheck {
                field: "interval_seconds",
                ..
            })
        ));
        let bad = HealthCheck {
            healthy_threshold: 11,
            ..HealthCheck::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn ports_outside_1_to_65535_are_rejected() {
        assert!(validate_port("port", 0).is_err());
        assert!(validate_port("port", 65536).is_err());
        assert!(validate_port("port", -1).is_err());
        assert_eq!(validate_port("port", 5432).unwrap(), 5432);
    }

    #[test]
    fn reserved_aws_tag_prefix_is_rejected() {
        let tags = BTreeMap::from([("aws:cloudformation".to_owned(), "x".to_owned())]);
        assert!(validate_tags(&tags).is_err());
    }

    #[test]
    fn tags_outside_the_elb_character_set_or_with_router_keys_are_rejected() {
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(validate_tags(&one("team", "payments-eu/prod@x=1 équipe")).is_ok());
        for (k, v) in [("team", "a#b"), ("te!am", "x"), ("team", "line\nbreak")] {
            assert!(validate_tags(&one(k, v)).is_err(), "{k:?}={v:?}");
        }
        assert!(validate_tags(&one("privatelink-router:route", "x")).is_err());
    }

    #[test]
    fn health_check_timeout_may_not_exceed_the_interval() {
        let hc = HealthCheck {
            interval_seconds: 5,
            timeout_seconds: 10,
            ..HealthCheck::default()
        };
        assert!(matches!(
            hc.validate(),
            Err(ValidationError::HealthCheck {
                field: "timeout_seconds",
                max: 5,
                ..
            })
        ));
        let equal = HealthCheck {
            interval_seconds: 10,
            timeout_seconds: 10,
            ..HealthCheck::default()
        };
        assert!(equal.validate().is_ok());
    }

    proptest! {
        #[test]
        fn any_string_maps_to_a_valid_target_group_name(router in ".{0,40}", route in ".{0,80}") {
            let n = target_group_name("d", &router, &route);
            prop_assert!(valid_tg_name(&n), "{}", n);
            prop_assert_eq!(n.clone(), target_group_name("d", &router, &route));
        }

        #[test]
        fn valid_route_ids_map_to_distinct_names(a in "[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", b in "[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?") {
            prop_assume!(a != b);
            prop_assert_ne!(target_group_name("d", "r", &a), target_group_name("d", "r", &b));
        }
    }
}
