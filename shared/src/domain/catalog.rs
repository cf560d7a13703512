//! The consumer's side of a route, pure: the address a consumer (Databricks serverless
//! compute, or any PrivateLink consumer) connects to, the connection strings for its engine,
//! and the domain names each router's private endpoint rule must carry.
//!
//! A Databricks private endpoint rule names the router's endpoint service and up to 10
//! domain names, which serverless compute resolves to the private endpoint (Databricks docs,
//! "Configure private connectivity to resources in your VPC"; API reference, "NCC private
//! endpoint rule", `domain_names`). Two kinds of name reach a route:
//! - the router's **consumer domain** (`ROUTER_FLEET` `consumer_domain`): one name for every
//!   route of the router, `<consumer domain>:<listener port>`. TLS works, but a certificate
//!   check by name fails: the RDS certificate names the RDS endpoint.
//! - a route's **TLS name** (`tls_name: true`): the database's own host name, added to the
//!   rule, `<rds host>:<listener port>`; PostgreSQL `verify-full` and MySQL
//!   `VERIFY_IDENTITY` then pass (RDS user guide, "Using SSL/TLS to encrypt a connection to a
//!   DB instance").

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::route::{Engine, Route};
use crate::domain::router::RouterConfig;

/// Domain names one private endpoint rule may carry (Databricks: "up to 10 domain names").
pub const DOMAIN_NAMES_PER_RULE: usize = 10;

/// Where a consumer connects to reach a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConsumerAddress {
    /// Host name the consumer resolves (to the private endpoint).
    pub host: String,
    /// The route's listener port.
    pub port: u16,
    /// True when the host is the database's own name (`tls_name`), the name its server
    /// certificate carries (RDS certificates name the RDS endpoint): the connection strings
    /// then verify it.
    pub tls_verified: bool,
}

/// The address of a route for its router: its TLS name when it has one, else the router's
/// consumer domain; `None` when the router has no consumer domain and the route no TLS name.
pub fn consumer_address(route: &Route, router: Option<&RouterConfig>) -> Option<ConsumerAddress> {
    let host = if route.spec.tls_name {
        route.spec.host.to_string()
    } else {
        router?.consumer_domain.clone()?
    };
    Some(ConsumerAddress {
        host,
        port: route.listener_port,
        tls_verified: route.spec.tls_name,
    })
}

/// Connection strings for a route, with placeholders in angle brackets (`<database>`,
/// `<user>`) for what only the consumer knows. Verified TLS when the address is the
/// database's own name, else encrypted without a name check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ConnectionUrls {
    /// JDBC URL (Spark's `jdbc` source, DBeaver, …).
    pub jdbc: String,
    /// URI for the engine's own clients: libpq (`psql`, psycopg) or MySQL's (`mysql`,
    /// MySQL Shell).
    pub uri: String,
}

/// The connection strings of `engine` at `address`. TLS parameters by client:
/// pgJDBC and libpq `sslmode=verify-full` / `require` (PostgreSQL docs, "SSL Support");
/// MySQL Connector/J `sslMode=VERIFY_IDENTITY` / `REQUIRED` and the `mysql` client's
/// `ssl-mode` (MySQL docs, "Connection options"); MariaDB Connector/J `sslMode=verify-full`
/// / `trust` (MariaDB Connector/J, "TLS").
pub fn connection_urls(engine: Engine, address: &ConsumerAddress) -> ConnectionUrls {
    let (host, port, verified) = (&address.host, address.port, address.tls_verified);
    let pick = |yes: &'static str, no: &'static str| if verified { yes } else { no };
    match engine {
        Engine::Postgres => {
            let mode = pick("verify-full", "require");
            ConnectionUrls {
                jdbc: format!("jdbc:postgresql://{host}:{port}/<database>?sslmode={mode}"),
                uri: format!("postgresql://<user>@{host}:{port}/<database>?sslmode={mode}"),
            }
        }
        Engine::Mysql => {
            let mode = pick("VERIFY_IDENTITY", "REQUIRED");
            ConnectionUrls {
                jdbc: format!("jdbc:mysql://{host}:{port}/<database>?sslMode={mode}"),
                uri: format!("mysql://<user>@{host}:{port}/<database>?ssl-mode={mode}"),
            }
        }
        Engine::Mariadb => ConnectionUrls {
            jdbc: format!(
                "jdbc:mariadb://{host}:{port}/<database>?sslMode={}",
                pick("verify-full", "trust")
            ),
            uri: format!(
                "mysql://<user>@{host}:{port}/<database>?ssl-mode={}",
                pick("VERIFY_IDENTITY", "REQUIRED")
            ),
        },
    }
}

/// How many TLS names a router's private endpoint rule can hold: [`DOMAIN_NAMES_PER_RULE`],
/// less the router's consumer domain when it has one.
pub fn tls_names_capacity(router: &RouterConfig) -> usize {
    DOMAIN_NAMES_PER_RULE - usize::from(router.consumer_domain.is_some())
}

/// The domain names a router's private endpoint rule must carry: its consumer domain, then
/// the TLS names of its routes, sorted; at most [`DOMAIN_NAMES_PER_RULE`] when the router
/// placed them.
pub fn rule_domain_names(router: &RouterConfig, tls_names: &BTreeSet<String>) -> Vec<String> {
    router
        .consumer_domain
        .iter()
        .cloned()
        .chain(tls_names.iter().cloned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(domain: Option<&str>) -> RouterConfig {
        RouterConfig {
            id: "r1".into(),
            nlb_arn: "arn".into(),
            endpoint_service_name: "com.amazonaws.vpce.us-east-1.vpce-svc-0a".into(),
            consumer_domain: domain.map(str::to_owned),
        }
    }

    fn route(host: &str, tls_name: bool) -> Route {
        let mut route: Route = serde_json::from_value(serde_json::json!({
            "id": "orders", "host": host, "port": 5432, "protocol": "TCP",
            "health_check": {}, "tags": {}, "rds_identifier": null, "owner": "o",
            "router": "r1", "listener_port": 10003, "status": "active",
            "target_group_arn": null, "listener_arn": null, "last_event_at": null,
            "created_at": "2026-12-01T00:00:00Z", "updated_at": "2026-12-01T00:00:00Z",
            "version": 1
        }))
        .unwrap();
        route.spec.tls_name = tls_name;
        route
    }

    const RDS: &str = "orders.c9akciq32abc.us-east-1.rds.amazonaws.com";

    #[test]
    fn a_tls_name_is_the_database_host_and_verifies_it() {
        let a =
            consumer_address(&route(RDS, true), Some(&router(Some("db.corp.example")))).unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.tls_verified),
            (RDS, 10003, true)
        );
        let urls = connection_urls(Engine::Postgres, &a);
        assert_eq!(
            urls.jdbc,
            format!("jdbc:postgresql://{RDS}:10003/<database>?sslmode=verify-full")
        );
        assert_eq!(
            connection_urls(Engine::Mysql, &a).jdbc,
            format!("jdbc:mysql://{RDS}:10003/<database>?sslMode=VERIFY_IDENTITY")
        );
    }

    #[test]
    fn otherwise_the_consumer_domain_encrypts_without_a_name_check() {
        let a =
            consumer_address(&route(RDS, false), Some(&router(Some("db.corp.example")))).unwrap();
        assert_eq!(
            (a.host.as_str(), a.tls_verified),
            ("db.corp.example", false)
        );
        assert_eq!(
            connection_urls(Engine::Postgres, &a).uri,
            "postgresql://<user>@db.corp.example:10003/<database>?sslmode=require"
        );
        assert_eq!(
            connection_urls(Engine::Mariadb, &a).jdbc,
            "jdbc:mariadb://db.corp.example:10003/<database>?sslMode=trust"
        );
        assert_eq!(
            consumer_address(&route(RDS, false), Some(&router(None))),
            None
        );
        assert_eq!(consumer_address(&route(RDS, false), None), None);
    }

    #[test]
    fn a_rule_carries_the_consumer_domain_then_the_tls_names() {
        let names = BTreeSet::from([RDS.to_owned(), "a.db.test".to_owned()]);
        assert_eq!(
            rule_domain_names(&router(Some("db.corp.example")), &names),
            ["db.corp.example", "a.db.test", RDS]
        );
        assert_eq!(
            rule_domain_names(&router(None), &BTreeSet::new()),
            Vec::<String>::new()
        );
    }
}
