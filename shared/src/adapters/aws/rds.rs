//! RDS adapter: reads cluster members and custom endpoints (read-only), in the router's own
//! account with the Lambda's credentials and in other accounts through a role the router
//! assumes there (`ROUTER_RDS_ROLE_ARNS`). Domain values out ([`crate::domain::membership`]).
//!
//! Calls (RDS API reference): DescribeDBClusters, DescribeDBInstances (filter `db-cluster-id`),
//! DescribeDBClusterEndpoints, DescribeDBProxies, DescribeDBProxyEndpoints,
//! DescribeGlobalClusters, DescribeBlueGreenDeployments, DescribeDBParameters (a diagnosis).
//! IAM: `rds:DescribeDBClusters`, `rds:DescribeDBInstances`, `rds:DescribeDBClusterEndpoints`,
//! `rds:DescribeDBProxies`, `rds:DescribeDBProxyEndpoints`, `rds:DescribeGlobalClusters`,
//! `rds:DescribeBlueGreenDeployments`, `rds:DescribeDBParameters`, and `sts:AssumeRole` on
//! the configured roles.

use std::collections::BTreeMap;

use aws_sdk_rds as rds;
use aws_sdk_rds::error::ProvideErrorMetadata;
use rds::types::Filter;

use crate::domain::host::{RdsEndpoint, RdsEndpointKind};
use crate::domain::membership::{CustomEndpoint, Member};

/// The engine a proxy's engine family (DBProxy.EngineFamily: `MYSQL`, `POSTGRESQL`,
/// `SQLSERVER`) fronts, named as `DBInstance.Engine` names it.
fn proxy_engine(family: Option<&str>) -> Option<String> {
    family.map(|f| match f {
        "MYSQL" => "mysql".to_owned(),
        "POSTGRESQL" => "postgres".to_owned(),
        other => other.to_ascii_lowercase(),
    })
}

/// Error code of a custom endpoint DescribeDBClusterEndpoints does not list (it answers an
/// empty list, not an error).
const ENDPOINT_ABSENT: &str = "DBClusterEndpointNotFoundFault";

/// A DB cluster as the RDS API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The cluster (writer) endpoint name.
    pub writer_endpoint: Option<String>,
    /// The reader endpoint name.
    pub reader_endpoint: Option<String>,
    /// Member instances.
    pub members: Vec<Member>,
}

/// A database the router's RDS API found for a host name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Database {
    /// Its RDS engine (`postgres`, `aurora-postgresql`, `mysql`, …), when RDS reports it; a
    /// proxy's engine family as the engine it fronts (`MYSQL` → `mysql`, `POSTGRESQL` →
    /// `postgres`).
    pub engine: Option<String>,
    /// The RDS identifier whose events concern the name, when it is not the name's own: the
    /// proxy of an added proxy endpoint (RDS Proxy events name the proxy).
    pub events_from: Option<String>,
}

/// An Aurora global database as DescribeGlobalClusters describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalCluster {
    /// Its global writer endpoint name (`GlobalCluster.Endpoint`), lowercase.
    pub endpoint: Option<String>,
    /// Its engine (`GlobalCluster.Engine`).
    pub engine: Option<String>,
    /// Its member clusters, from `GlobalClusterMembers[].DBClusterArn` (members whose ARN does
    /// not parse are left out).
    pub members: Vec<GlobalMember>,
}

/// One member cluster of a global database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalMember {
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// Its cluster identifier (lowercase).
    pub cluster: String,
    /// True for the primary cluster (`IsWriter`).
    pub writer: bool,
}

/// An RDS call failed, or the account has no client.
#[derive(Debug, thiserror::Error)]
#[error("RDS {operation} failed: {message}")]
pub struct RdsError {
    /// The API operation (or `client` when the account is not configured).
    pub operation: &'static str,
    /// The AWS error code, when AWS gave one (e.g. `DBClusterNotFoundFault`).
    pub code: Option<String>,
    /// Human-readable detail.
    pub message: String,
}

impl RdsError {
    fn from_sdk<E, R>(operation: &'static str, err: rds::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        // One line: the service's code and message, or the transport failure's kind
        // (timeout, connection refused) — never the raw response.
        let message = match err.message() {
            Some(m) => m.to_owned(),
            None => match &err {
                rds::error::SdkError::TimeoutError(_) => "timed out".to_owned(),
                rds::error::SdkError::DispatchFailure(d) if d.is_timeout() => {
                    "timed out".to_owned()
                }
                rds::error::SdkError::DispatchFailure(d) if d.is_io() => {
                    "could not reach the RDS endpoint".to_owned()
                }
                other => crate::adapters::aws::clients::error_chain(other)
                    .chars()
                    .take(200)
                    .collect(),
            },
        };
        Self {
            operation,
            code: err.code().map(str::to_owned),
            message,
        }
    }

    fn missing(operation: &'static str, message: String) -> Self {
        Self {
            operation,
            code: None,
            message,
        }
    }
}

/// RDS clients by account: the router's own, and one per configured cross-account role.
#[derive(Debug, Clone, Default)]
pub struct Rds {
    /// The region the clients call (the Lambda's own).
    region: Option<String>,
    clients: BTreeMap<String, rds::Client>,
}

impl Rds {
    /// No RDS API at all (membership falls back to DNS).
    pub fn disabled() -> Self {
        Self::default()
    }

    /// RDS API access in `region` (no account yet).
    pub fn in_region(region: impl Into<String>) -> Self {
        Self {
            region: Some(region.into()),
            clients: BTreeMap::new(),
        }
    }

    /// Adds the client for one account.
    pub fn with_account(mut self, account: impl Into<String>, client: rds::Client) -> Self {
        self.clients.insert(account.into(), client);
        self
    }

    /// The endpoint name of any one DB instance of `account` (DescribeDBInstances, one call
    /// of at most 20 records), `None` when it has none: its account-and-region hash
    /// ([`crate::domain::host::account_hash`]) tells which unknown-account routes are this
    /// account's.
    pub async fn any_instance_endpoint(&self, account: &str) -> Result<Option<String>, RdsError> {
        let out = self
            .client(account)?
            .describe_db_instances()
            .max_records(20)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeDBInstances", e))?;
        Ok(out
            .db_instances()
            .iter()
            .find_map(|i| i.endpoint().and_then(|e| e.address()))
            .map(str::to_ascii_lowercase))
    }

    /// True when the RDS API of `account` in `region` can be read.
    pub fn covers(&self, account: &str, region: &str) -> bool {
        self.region
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(region))
            && self.clients.contains_key(account)
    }

    /// True when the RDS API can describe `endpoint` of `account`: a regional name in the
    /// region the clients call ([`Rds::covers`]); a global writer endpoint from any region
    /// (DescribeGlobalClusters answers for global databases whatever their primary region).
    pub fn reads(&self, account: &str, endpoint: &RdsEndpoint) -> bool {
        match endpoint.kind {
            RdsEndpointKind::GlobalWriter => {
                self.region.is_some() && self.clients.contains_key(account)
            }
            _ => self.covers(account, &endpoint.region),
        }
    }

    fn client(&self, account: &str) -> Result<&rds::Client, RdsError> {
        self.clients.get(account).ok_or_else(|| {
            RdsError::missing(
                "client",
                format!("no RDS access to account {account}: add a role to ROUTER_RDS_ROLE_ARNS"),
            )
        })
    }

    /// A DB cluster: its endpoint names and its members with their writer flag, status and
    /// instance endpoint. A member DescribeDBInstances does not return is an error (a partial
    /// member list would drop a live reader).
    pub async fn cluster(&self, account: &str, cluster: &str) -> Result<Cluster, RdsError> {
        let client = self.client(account)?;
        let out = client
            .describe_db_clusters()
            .db_cluster_identifier(cluster)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeDBClusters", e))?;
        let found = out.db_clusters().first().ok_or_else(|| {
            RdsError::missing("DescribeDBClusters", format!("cluster {cluster} not found"))
        })?;
        let writers: BTreeMap<String, bool> = found
            .db_cluster_members()
            .iter()
            .filter_map(|m| {
                Some((
                    m.db_instance_identifier()?.to_ascii_lowercase(),
                    m.is_cluster_writer().unwrap_or(false),
                ))
            })
            .collect();
        let mut members = Vec::with_capacity(writers.len());
        let mut marker = None;
        loop {
            let page = client
                .describe_db_instances()
                .filters(
                    Filter::builder()
                        .name("db-cluster-id")
                        .values(cluster)
                        .build(),
                )
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("DescribeDBInstances", e))?;
            for i in page.db_instances() {
                let Some(id) = i.db_instance_identifier().map(str::to_ascii_lowercase) else {
                    continue;
                };
                let Some(writer) = writers.get(&id) else {
                    continue;
                };
                members.push(Member {
                    writer: *writer,
                    status: i.db_instance_status().unwrap_or("unknown").to_owned(),
                    address: i
                        .endpoint()
                        .and_then(|e| e.address())
                        .filter(|a| !a.is_empty())
                        .map(str::to_ascii_lowercase),
                    id,
                });
            }
            marker = page.marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        if let Some(missing) = writers
            .keys()
            .find(|id| !members.iter().any(|m| &m.id == *id))
        {
            return Err(RdsError::missing(
                "DescribeDBInstances",
                format!("member {missing} of cluster {cluster} was not returned"),
            ));
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let lower = |v: Option<&str>| v.map(str::to_ascii_lowercase);
        Ok(Cluster {
            writer_endpoint: lower(found.endpoint()),
            reader_endpoint: lower(found.reader_endpoint()),
            members,
        })
    }

    /// The database of `account` that `endpoint` (a host name) belongs to: the DB instance,
    /// cluster or custom endpoint of that identifier exists **and** its endpoint name is the
    /// host (identifiers are unique per account and region only; the name's hash tells
    /// accounts apart), with its engine (`DBInstance.Engine`, `DBCluster.Engine`, a proxy's
    /// engine family; unknown for a custom endpoint). RDS Proxy names are found by
    /// DescribeDBProxies (default endpoint) and DescribeDBProxyEndpoints (an added endpoint,
    /// whose proxy is then [`Database::events_from`]). `Ok(None)` when RDS answers "not
    /// found" or shows the identifier under another name.
    pub async fn find_database(
        &self,
        account: &str,
        host: &str,
        endpoint: &RdsEndpoint,
    ) -> Result<Option<Database>, RdsError> {
        let client = self.client(account)?;
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let id = endpoint.identifier.as_str();
        let not_found = |code: Option<&str>| code.is_some_and(|c| c.contains("NotFound"));
        let same = |name: Option<&str>| name.is_some_and(|n| n.eq_ignore_ascii_case(&host));
        match endpoint.kind {
            RdsEndpointKind::Instance => {
                match client
                    .describe_db_instances()
                    .db_instance_identifier(id)
                    .send()
                    .await
                {
                    Ok(out) => Ok(out
                        .db_instances()
                        .iter()
                        .find(|i| same(i.endpoint().and_then(|e| e.address())))
                        .map(|i| Database {
                            engine: i.engine().map(str::to_owned),
                            events_from: None,
                        })),
                    Err(e) if not_found(e.code()) => Ok(None),
                    Err(e) => Err(RdsError::from_sdk("DescribeDBInstances", e)),
                }
            }
            RdsEndpointKind::ClusterWriter | RdsEndpointKind::ClusterReader => {
                match client
                    .describe_db_clusters()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                {
                    Ok(out) => Ok(out
                        .db_clusters()
                        .iter()
                        .find(|c| same(c.endpoint()) || same(c.reader_endpoint()))
                        .map(|c| Database {
                            engine: c.engine().map(str::to_owned),
                            events_from: None,
                        })),
                    Err(e) if not_found(e.code()) => Ok(None),
                    Err(e) => Err(RdsError::from_sdk("DescribeDBClusters", e)),
                }
            }
            RdsEndpointKind::ClusterCustom => match self.custom_endpoint(account, id).await {
                Ok(custom) => Ok(same(Some(&custom.endpoint)).then(Database::default)),
                Err(e)
                    if not_found(e.code.as_deref())
                        || e.code.as_deref() == Some(ENDPOINT_ABSENT) =>
                {
                    Ok(None)
                }
                Err(e) => Err(e),
            },
            RdsEndpointKind::Proxy => {
                match client.describe_db_proxies().db_proxy_name(id).send().await {
                    Ok(out) => Ok(out
                        .db_proxies()
                        .iter()
                        .find(|p| same(p.endpoint()))
                        .map(|p| Database {
                            engine: proxy_engine(p.engine_family()),
                            events_from: None,
                        })),
                    Err(e) if not_found(e.code()) => Ok(None),
                    Err(e) => Err(RdsError::from_sdk("DescribeDBProxies", e)),
                }
            }
            RdsEndpointKind::GlobalWriter => match self.global_cluster(account, id).await {
                Ok(global) => Ok(same(global.endpoint.as_deref()).then_some(Database {
                    engine: global.engine,
                    events_from: None,
                })),
                Err(e) if not_found(e.code.as_deref()) => Ok(None),
                Err(e) => Err(e),
            },
            RdsEndpointKind::ProxyEndpoint => {
                let out = client
                    .describe_db_proxy_endpoints()
                    .db_proxy_endpoint_name(id)
                    .send()
                    .await;
                let endpoint = match out {
                    Ok(out) => out
                        .db_proxy_endpoints()
                        .iter()
                        .find(|e| same(e.endpoint()))
                        .and_then(|e| e.db_proxy_name())
                        .map(str::to_ascii_lowercase),
                    Err(e) if not_found(e.code()) => None,
                    Err(e) => return Err(RdsError::from_sdk("DescribeDBProxyEndpoints", e)),
                };
                let Some(proxy) = endpoint else {
                    return Ok(None);
                };
                // The engine is the proxy's; a proxy deleted meanwhile leaves it unknown.
                let engine = match client
                    .describe_db_proxies()
                    .db_proxy_name(&proxy)
                    .send()
                    .await
                {
                    Ok(out) => out
                        .db_proxies()
                        .first()
                        .and_then(|p| proxy_engine(p.engine_family())),
                    Err(e) if not_found(e.code()) => None,
                    Err(e) => return Err(RdsError::from_sdk("DescribeDBProxies", e)),
                };
                Ok(Some(Database {
                    engine,
                    events_from: Some(proxy),
                }))
            }
        }
    }

    /// An Aurora global database: its writer endpoint, engine and member clusters
    /// (DescribeGlobalClusters; RDS API reference, GlobalCluster and GlobalClusterMember).
    /// A global database unknown to `account` is the error `GlobalClusterNotFoundFault`.
    pub async fn global_cluster(
        &self,
        account: &str,
        identifier: &str,
    ) -> Result<GlobalCluster, RdsError> {
        let out = self
            .client(account)?
            .describe_global_clusters()
            .global_cluster_identifier(identifier)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeGlobalClusters", e))?;
        let found = out
            .global_clusters()
            .iter()
            .find(|g| {
                g.global_cluster_identifier()
                    .is_some_and(|id| id.eq_ignore_ascii_case(identifier))
            })
            .ok_or_else(|| RdsError {
                operation: "DescribeGlobalClusters",
                code: Some("GlobalClusterNotFoundFault".into()),
                message: format!("global database {identifier} not found"),
            })?;
        let members = found
            .global_cluster_members()
            .iter()
            .filter_map(|m| {
                let arn = crate::domain::validation::parse_rds_arn(m.db_cluster_arn()?).ok()?;
                Some(GlobalMember {
                    account: arn.account,
                    region: arn.region,
                    cluster: arn.identifier,
                    writer: m.is_writer().unwrap_or(false),
                })
            })
            .collect();
        Ok(GlobalCluster {
            endpoint: found.endpoint().map(str::to_ascii_lowercase),
            engine: found.engine().map(str::to_owned),
            members,
        })
    }

    /// The databases a Blue/Green deployment concerns, as identifiers (lowercase): its
    /// `Source` and `Target` and every `SwitchoverDetails` member, DB instances of a cluster
    /// included (DescribeBlueGreenDeployments; RDS API reference, BlueGreenDeployment and
    /// SwitchoverDetail). Before a switchover they are the blue names and the green ones;
    /// after it, the blue names (now the green databases') and their `-old1` renames: either
    /// way the names routes use. ARNs that name no DB instance or cluster are left out.
    pub async fn blue_green_databases(
        &self,
        account: &str,
        deployment: &str,
    ) -> Result<std::collections::BTreeSet<String>, RdsError> {
        let out = self
            .client(account)?
            .describe_blue_green_deployments()
            .blue_green_deployment_identifier(deployment)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeBlueGreenDeployments", e))?;
        let database = |arn: &str| {
            crate::domain::validation::parse_rds_arn(arn)
                .ok()
                .filter(|a| a.kind == "db" || a.kind == "cluster")
                .map(|a| a.identifier)
        };
        let mut names = std::collections::BTreeSet::new();
        for d in out.blue_green_deployments() {
            names.extend(d.source().and_then(database));
            names.extend(d.target().and_then(database));
            for member in d.switchover_details() {
                names.extend(member.source_member().and_then(database));
                names.extend(member.target_member().and_then(database));
            }
        }
        Ok(names)
    }

    /// A custom cluster endpoint's definition.
    pub async fn custom_endpoint(
        &self,
        account: &str,
        endpoint: &str,
    ) -> Result<CustomEndpoint, RdsError> {
        let out = self
            .client(account)?
            .describe_db_cluster_endpoints()
            .db_cluster_endpoint_identifier(endpoint)
            .send()
            .await
            .map_err(|e| RdsError::from_sdk("DescribeDBClusterEndpoints", e))?;
        let e = out
            .db_cluster_endpoints()
            .iter()
            .find(|e| {
                e.db_cluster_endpoint_identifier()
                    .is_some_and(|id| id.eq_ignore_ascii_case(endpoint))
            })
            .ok_or_else(|| RdsError {
                operation: "DescribeDBClusterEndpoints",
                code: Some(ENDPOINT_ABSENT.into()),
                message: format!("custom endpoint {endpoint} not found"),
            })?;
        let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect();
        Ok(CustomEndpoint {
            endpoint: e.endpoint().unwrap_or_default().to_ascii_lowercase(),
            cluster: e
                .db_cluster_identifier()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            kind: e.custom_endpoint_type().unwrap_or("ANY").to_owned(),
            static_members: lower(e.static_members()),
            excluded_members: lower(e.excluded_members()),
        })
    }
}

/// Where a DB instance listens and what guards it, for diagnosing its targets
/// ([`crate::domain::diagnosis`]): DescribeDBInstances' `Engine`, `Endpoint.Port`,
/// `VpcSecurityGroups`, `DBSubnetGroup.Subnets` and `DBParameterGroups`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceNetwork {
    /// DB instance identifier.
    pub id: String,
    /// `Engine`.
    pub engine: Option<String>,
    /// `Endpoint.Port`.
    pub port: Option<u16>,
    /// `VpcSecurityGroups[].VpcSecurityGroupId`.
    pub security_groups: Vec<String>,
    /// `DBSubnetGroup.Subnets[].SubnetIdentifier`.
    pub subnets: Vec<String>,
    /// `DBParameterGroups[0].DBParameterGroupName`.
    pub parameter_group: Option<String>,
}

impl Rds {
    /// A DB instance's network facts ([`InstanceNetwork`]); `Ok(None)` when RDS answers
    /// "not found". One DescribeDBInstances.
    pub async fn instance_network(
        &self,
        account: &str,
        instance: &str,
    ) -> Result<Option<InstanceNetwork>, RdsError> {
        let out = match self
            .client(account)?
            .describe_db_instances()
            .db_instance_identifier(instance)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.code().is_some_and(|c| c.contains("NotFound")) => return Ok(None),
            Err(e) => return Err(RdsError::from_sdk("DescribeDBInstances", e)),
        };
        Ok(out.db_instances().first().map(|i| InstanceNetwork {
            id: instance.to_owned(),
            engine: i.engine().map(str::to_owned),
            port: i
                .endpoint()
                .and_then(|e| e.port())
                .and_then(|p| u16::try_from(p).ok()),
            security_groups: i
                .vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id().map(str::to_owned))
                .collect(),
            subnets: i
                .db_subnet_group()
                .map(|g| {
                    g.subnets()
                        .iter()
                        .filter_map(|s| s.subnet_identifier().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            parameter_group: i
                .db_parameter_groups()
                .first()
                .and_then(|g| g.db_parameter_group_name().map(str::to_owned)),
        }))
    }

    /// One parameter's value in a DB parameter group: DescribeDBParameters, page by page
    /// (`Marker`; at most 100 parameters a page, and a group has several hundred — RDS API
    /// reference, DescribeDBParameters), stopping at the parameter. `Ok(None)` when the group
    /// does not set it (the engine's default applies). A default group (`default.<family>`)
    /// cannot be modified (RDS user guide, "Working with parameter groups"), so it is not read.
    pub async fn parameter(
        &self,
        account: &str,
        group: &str,
        name: &str,
    ) -> Result<Option<String>, RdsError> {
        if group.starts_with("default.") {
            return Ok(None);
        }
        let client = self.client(account)?;
        let mut marker = None;
        loop {
            let out = client
                .describe_db_parameters()
                .db_parameter_group_name(group)
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| RdsError::from_sdk("DescribeDBParameters", e))?;
            if let Some(p) = out
                .parameters()
                .iter()
                .find(|p| p.parameter_name() == Some(name))
            {
                return Ok(p.parameter_value().map(str::to_owned));
            }
            marker = out.marker().map(str::to_owned);
            if marker.is_none() {
                return Ok(None);
            }
        }
    }
}
