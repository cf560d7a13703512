//! The seed module's input variables, read with the seed's own meaning (`../shared/SEED.md`, the
//! Terraform module users run today), and expanded into databases exactly as the seed's
//! `locals` do: `service_config.targets` first, then `target_endpoints`, listener port
//! `base_port + index`, target group `<service_name>-nlb-tg-<name>`.
//!
//! Every seed attribute is honoured or refused with a message that names it:
//!
//! | seed attribute | here |
//! |---|---|
//! | `target_endpoints[*].id` | the database's DNS name (the seed's `dns_a_record_set` host) |
//! | `target_endpoints[*].name` | the label: route name (lower-cased) and target group suffix |
//! | `target_endpoints[*].port` | the database port (targets are registered on it) |
//! | `service_config.targets[*].id` / `target_port` / `protocol` | same, label derived from `id` as the seed does (`[^a-zA-Z0-9-]` → `-`) |
//! | `service_config.base_port` | first listener port (default 10000); the seed itself always used 10000, see [`SeedInputs::databases`] |
//! | `service_config.protocol`, `targets[*].protocol` | must be `TCP` |
//! | `service_config.target_type` | must be `ip` |
//! | `health_check_config.interval/timeout/healthy_threshold/unhealthy_threshold` | the route's TCP health check |
//! | `health_check_config.port` | must be `traffic-port` |
//! | `health_check_config.path` | must be absent (TCP health checks have no path) |
//! | `health_check_config.protocol` | absent or `TCP` |
//! | `service_name` | NLB `<service_name>-nlb`, the router to take over |
//! | `vpc_id`, `subnet_ids`, `tags` | read (the NLB's own), no effect on routes |

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::route::{HealthCheck, RouteId};

/// A seed input that cannot be honoured, naming the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{attribute}: {message}")]
pub struct SeedInputError {
    /// The attribute, as a Terraform path (`target_endpoints[2].name`).
    pub attribute: String,
    /// What is wrong and what to do.
    pub message: String,
}

fn err(attribute: impl Into<String>, message: impl Into<String>) -> SeedInputError {
    SeedInputError {
        attribute: attribute.into(),
        message: message.into(),
    }
}

/// `target_endpoints` entry: `{id = host, port, name = label}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetEndpoint {
    /// Database DNS name.
    pub id: String,
    /// Database port.
    pub port: i64,
    /// Short label.
    pub name: String,
    /// The module's own addition: a pinned listener port instead of `base_port + index`.
    #[serde(default)]
    pub listener_port: Option<i64>,
    /// The module's own addition: the database's AWS account.
    #[serde(default)]
    pub account_id: Option<String>,
    /// The module's own addition: the RDS identifier.
    #[serde(default)]
    pub rds_identifier: Option<String>,
    /// The module's own addition: tags of the route's resources.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// `service_config.targets` entry: `{id = host, target_port, protocol}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceTarget {
    /// Database DNS name.
    pub id: String,
    /// Database port.
    pub target_port: i64,
    /// Protocol override (`TCP` only).
    #[serde(default)]
    pub protocol: Option<String>,
}

/// `service_config`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// `ip` only.
    pub target_type: String,
    /// `TCP` only.
    pub protocol: String,
    /// First listener port.
    pub base_port: i64,
    /// Databases merged before `target_endpoints`.
    pub targets: Vec<ServiceTarget>,
    /// The module's endpoint service settings (no effect on routes).
    pub acceptance_required: Option<bool>,
    /// The module's endpoint service settings (no effect on routes).
    pub allowed_principals: Option<Vec<String>>,
    /// The module's endpoint service settings (no effect on routes).
    pub private_dns_name: Option<String>,
    /// The module's endpoint service settings (no effect on routes).
    pub supported_ip_address_types: Option<Vec<String>>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            target_type: "ip".into(),
            protocol: "TCP".into(),
            base_port: 10000,
            targets: vec![],
            acceptance_required: None,
            allowed_principals: None,
            private_dns_name: None,
            supported_ip_address_types: None,
        }
    }
}

/// `health_check_config`, all seven seed attributes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// `traffic-port` only.
    pub port: Option<String>,
    /// Must be absent (TCP).
    pub path: Option<String>,
    /// Absent or `TCP`.
    pub protocol: Option<String>,
    /// Successes before healthy.
    pub healthy_threshold: u32,
    /// Failures before unhealthy.
    pub unhealthy_threshold: u32,
    /// Seconds between checks.
    pub interval: u32,
    /// Seconds before a check fails.
    pub timeout: u32,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            port: Some("traffic-port".into()),
            path: None,
            protocol: None,
            healthy_threshold: 3,
            unhealthy_threshold: 3,
            interval: 30,
            timeout: 10,
        }
    }
}

/// The seed module's variables (a `.tfvars.json` file, or the same object). The router
/// module's own other variables may be in the same file; anything else is refused by name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SeedInputs {
    /// The VPC of the NLB.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// The NLB's subnets.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// Tags of the seed's resources.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// `<service_name>-nlb` is the NLB.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// Databases with labels.
    #[serde(default)]
    pub target_endpoints: Vec<TargetEndpoint>,
    /// Defaults and more databases.
    #[serde(default)]
    pub service_config: ServiceConfig,
    /// Health check of every target group.
    #[serde(default)]
    pub health_check_config: HealthCheckConfig,
    /// Every other variable in the file: only the router module's own are allowed.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The router module's variables (`infra/modules/privatelink-router/variables.tf`): a tfvars
/// file written for the module may hold them beside the seed's.
const MODULE_VARIABLES: &str =
    include_str!("../../../infra/modules/privatelink-router/variables.tf");

fn module_variable(name: &str) -> bool {
    MODULE_VARIABLES
        .lines()
        .any(|l| l.trim() == format!("variable \"{name}\" {{"))
}

fn default_service_name() -> String {
    "privatelink-router".into()
}

/// One database of a seed deployment, as the seed's `locals.target_configs` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedDatabase {
    /// Route name: the label, lower-cased.
    pub route_id: String,
    /// The label (target group suffix).
    pub label: String,
    /// Database DNS name.
    pub host: String,
    /// Database port.
    pub port: u16,
    /// The seed's listener port: `base_port + index`.
    pub listener_port: u16,
    /// The seed's target group name: `<service_name>-nlb-tg-<label>`.
    pub target_group: String,
    /// Where it came from (`service_config.targets[0]`, `target_endpoints[2]`).
    pub source: String,
    /// The database's account (the module's `account_id`), when given.
    pub account_id: Option<String>,
    /// The RDS identifier (the module's `rds_identifier`), when given.
    pub rds_identifier: Option<String>,
    /// Tags (the module's `tags`).
    pub tags: BTreeMap<String, String>,
}

/// The label the seed derives for an entry without `name`:
/// `replace(id, "/[^a-zA-Z0-9-]/", "-")`.
pub fn seed_label(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

impl SeedInputs {
    /// Reads a `.tfvars.json` object, or a bare `target_endpoints` list (the seed's shape).
    pub fn from_json(raw: &serde_json::Value) -> Result<Self, SeedInputError> {
        let object = match raw {
            serde_json::Value::Array(_) => serde_json::json!({ "target_endpoints": raw }),
            other => other.clone(),
        };
        let inputs: SeedInputs = serde_json::from_value(object).map_err(|e| {
            let text = e.to_string();
            let attribute = text.split('`').nth(1).unwrap_or("(variables)").to_owned();
            err(attribute, text)
        })?;
        if let Some(unknown) = inputs.other.keys().find(|k| !module_variable(k)) {
            return Err(err(
                unknown.clone(),
                "neither a seed module variable (vpc_id, subnet_ids, tags, service_name, target_endpoints, service_config, health_check_config) nor one of the router module's",
            ));
        }
        Ok(inputs)
    }

    /// The NLB name the seed gives (`<service_name>-nlb`).
    pub fn nlb_name(&self) -> String {
        format!("{}-nlb", self.service_name)
    }

    /// The route health check from `health_check_config`, or the attribute that cannot be
    /// honoured.
    pub fn health_check(&self) -> Result<HealthCheck, SeedInputError> {
        let h = &self.health_check_config;
        if h.port.as_deref().is_some_and(|p| p != "traffic-port") {
            return Err(err(
                "health_check_config.port",
                "the router checks the traffic port (the database port); use \"traffic-port\"",
            ));
        }
        if h.path.is_some() {
            return Err(err(
                "health_check_config.path",
                "TCP health checks have no path; remove it",
            ));
        }
        if h.protocol
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case("TCP"))
        {
            return Err(err(
                "health_check_config.protocol",
                "the router's target groups use TCP health checks; remove it or set \"TCP\"",
            ));
        }
        let hc = HealthCheck {
            interval_seconds: h.interval,
            timeout_seconds: h.timeout,
            healthy_threshold: h.healthy_threshold,
            unhealthy_threshold: h.unhealthy_threshold,
        };
        hc.validate()
            .map_err(|e| err("health_check_config", e.to_string()))?;
        Ok(hc)
    }

    /// The databases, in the seed's order: `service_config.targets` then `target_endpoints`,
    /// listener port `service_config.base_port + index`. (The seed's own `locals.base_port` is
    /// a constant 10000 that ignores `service_config.base_port`: a deployment made with another
    /// `base_port` has its listeners from 10000 — `plr adopt` reads the live ports instead.)
    pub fn databases(&self) -> Result<Vec<SeedDatabase>, SeedInputError> {
        let sc = &self.service_config;
        if !sc.target_type.eq_ignore_ascii_case("ip") {
            return Err(err(
                "service_config.target_type",
                "the router registers IP targets only; use \"ip\"",
            ));
        }
        if !sc.protocol.eq_ignore_ascii_case("TCP") {
            return Err(err(
                "service_config.protocol",
                "NLB TCP listeners only; use \"TCP\"",
            ));
        }
        let entries = sc
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!("service_config.targets[{i}]"),
                    t.id.clone(),
                    t.target_port,
                    seed_label(&t.id),
                    t.protocol.clone(),
                    None,
                )
            })
            .chain(self.target_endpoints.iter().enumerate().map(|(i, t)| {
                (
                    format!("target_endpoints[{i}]"),
                    t.id.clone(),
                    t.port,
                    t.name.clone(),
                    None,
                    Some(t),
                )
            }));
        let mut out = Vec::new();
        let mut hosts = BTreeSet::new();
        let mut ids = BTreeMap::new();
        for (index, (source, host, port, label, protocol, endpoint)) in entries.enumerate() {
            if protocol
                .as_deref()
                .is_some_and(|p| !p.eq_ignore_ascii_case("TCP"))
            {
                return Err(err(format!("{source}.protocol"), "TCP only"));
            }
            // The seed keys its databases by id, exactly as written (Terraform map keys).
            if !hosts.insert(host.clone()) {
                return Err(err(
                    format!("{source}.id"),
                    format!("{host} is listed twice (the seed keys its databases by id)"),
                ));
            }
            let port_field = if source.starts_with("service_config") {
                "target_port"
            } else {
                "port"
            };
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| err(format!("{source}.{port_field}"), "1-65535"))?;
            let route_id = label.to_ascii_lowercase();
            let name_field = if source.starts_with("service_config") {
                "id"
            } else {
                "name"
            };
            RouteId::parse(&route_id)
                .map_err(|e| err(format!("{source}.{name_field}"), e.to_string()))?;
            if let Some(first) = ids.insert(route_id.clone(), source.clone()) {
                return Err(err(
                    format!("{source}.{name_field}"),
                    format!(
                        "route name {route_id} is also {first}'s: give one of them another name"
                    ),
                ));
            }
            let pinned = endpoint.and_then(|e| e.listener_port);
            let listener_port = u16::try_from(pinned.unwrap_or(sc.base_port + index as i64))
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| {
                    err(
                        "service_config.base_port",
                        "base_port + index must stay within 1-65535",
                    )
                })?;
            out.push(SeedDatabase {
                target_group: format!("{}-tg-{label}", self.nlb_name()),
                route_id,
                label,
                host: host.to_ascii_lowercase(),
                port,
                listener_port,
                account_id: endpoint.and_then(|e| e.account_id.clone()),
                rds_identifier: endpoint.and_then(|e| e.rds_identifier.clone()),
                tags: endpoint.map(|e| e.tags.clone()).unwrap_or_default(),
                source,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_seed_call_expands_like_the_seed_targets_first() {
        let inputs = SeedInputs::from_json(&json!({
            "vpc_id": "vpc-1", "subnet_ids": ["subnet-1"], "service_name": "analytics",
            "target_endpoints": [
                {"id": "orders-db.abc.us-east-1.rds.amazonaws.com", "port": 5432, "name": "orders"},
                {"id": "billing.cluster-abc.us-east-1.rds.amazonaws.com", "port": 3306, "name": "Billing"}
            ],
            "service_config": {"targets": [{"id": "ledger.abc.us-east-1.rds.amazonaws.com", "target_port": 5432}]}
        }))
        .unwrap();
        let dbs = inputs.databases().unwrap();
        let got: Vec<(&str, u16, &str)> = dbs
            .iter()
            .map(|d| {
                (
                    d.route_id.as_str(),
                    d.listener_port,
                    d.target_group.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "ledger-abc-us-east-1-rds-amazonaws-com",
                    10000,
                    "analytics-nlb-tg-ledger-abc-us-east-1-rds-amazonaws-com"
                ),
                ("orders", 10001, "analytics-nlb-tg-orders"),
                ("billing", 10002, "analytics-nlb-tg-Billing"),
            ]
        );
        assert_eq!(inputs.health_check().unwrap().interval_seconds, 30);
    }

    #[test]
    fn attributes_that_cannot_be_honoured_are_named() {
        let bad = |v: serde_json::Value| {
            let i = SeedInputs::from_json(&v).unwrap();
            i.databases()
                .and(i.health_check().map(drop))
                .unwrap_err()
                .attribute
        };
        assert_eq!(
            bad(json!({"service_config": {"target_type": "instance"}})),
            "service_config.target_type"
        );
        assert_eq!(
            bad(json!({"health_check_config": {"path": "/health"}})),
            "health_check_config.path"
        );
        assert_eq!(
            bad(json!({"target_endpoints": [
                {"id": "a.example", "port": 1, "name": "x"},
                {"id": "b.example", "port": 1, "name": "X"}]})),
            "target_endpoints[1].name"
        );
        let unknown = SeedInputs::from_json(&json!({"target_endpoint": []})).unwrap_err();
        assert_eq!(unknown.attribute, "target_endpoint", "{unknown}");
        // The router module's own variables may share the file.
        assert!(
            SeedInputs::from_json(&json!({"routers": ["nlb"], "target_endpoints": []})).is_ok()
        );
        let list = SeedInputs::from_json(&json!([{"id": "a.example", "port": 5432, "name": "a"}]));
        assert_eq!(list.unwrap().databases().unwrap()[0].host, "a.example");
    }
}
