//! RDS adapter: reads cluster members and custom endpoints (read-only), in the router's own
//! account with the Lambda's credentials and in other accounts through a role the router
//! assumes there (`ROUTER_RDS_ROLE_ARNS`). Domain values out ([`crate::membership`]).
//!
//! Calls (RDS API reference): DescribeDBClusters, DescribeDBInstances (filter `db-cluster-id`),
//! DescribeDBClusterEndpoints. IAM: `rds:DescribeDBClusters`, `rds:DescribeDBInstances`,
//! `rds:DescribeDBClusterEndpoints`, and `sts:AssumeRole` on the configured roles.

use std::collections::BTreeMap;

use aws_sdk_rds as rds;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use rds::types::Filter;

use crate::host::{RdsEndpoint, RdsEndpointKind};
use crate::membership::{CustomEndpoint, Member};

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
        R: std::fmt::Debug,
    {
        Self {
            operation,
            code: err.code().map(str::to_owned),
            message: DisplayErrorContext(&err).to_string(),
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

    /// True when the RDS API of `account` in `region` can be read.
    pub fn covers(&self, account: &str, region: &str) -> bool {
        self.region
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(region))
            && self.clients.contains_key(account)
    }

    fn client(&self, account: &str) -> Result<&rds::Client, RdsError> {
        self.clients.get(account).ok_or_else(|| {
            RdsError::missing(
                "client",
                format!("no RDS access to account {account}: add a role to ROUTER_RDS_ROLE_ARNS"),
            )
        })
    }

    /// The members of a DB cluster with their writer flag, status and instance endpoint.
    pub async fn cluster_members(
        &self,
        account: &str,
        cluster: &str,
    ) -> Result<Vec<Member>, RdsError> {
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
                        .map(str::to_ascii_lowercase),
                    id,
                });
            }
            marker = page.marker().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        members.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(members)
    }

    /// Whether the database an endpoint name belongs to exists in `account`: the DB instance
    /// (instance endpoints), the DB cluster (writer and reader endpoints) or the custom
    /// endpoint. `Ok(false)` for a proxy (not looked up) or when RDS answers "not found".
    pub async fn has_database(
        &self,
        account: &str,
        endpoint: &RdsEndpoint,
    ) -> Result<bool, RdsError> {
        let client = self.client(account)?;
        let id = endpoint.identifier.as_str();
        let not_found = |code: Option<&str>| code.is_some_and(|c| c.contains("NotFound"));
        match endpoint.kind {
            RdsEndpointKind::Instance => match client
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
            {
                Ok(out) => Ok(!out.db_instances().is_empty()),
                Err(e) if not_found(e.code()) => Ok(false),
                Err(e) => Err(RdsError::from_sdk("DescribeDBInstances", e)),
            },
            RdsEndpointKind::ClusterWriter | RdsEndpointKind::ClusterReader => {
                match client
                    .describe_db_clusters()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                {
                    Ok(out) => Ok(!out.db_clusters().is_empty()),
                    Err(e) if not_found(e.code()) => Ok(false),
                    Err(e) => Err(RdsError::from_sdk("DescribeDBClusters", e)),
                }
            }
            RdsEndpointKind::ClusterCustom => match self.custom_endpoint(account, id).await {
                Ok(_) => Ok(true),
                Err(e) if e.code.is_none() || not_found(e.code.as_deref()) => Ok(false),
                Err(e) => Err(e),
            },
            RdsEndpointKind::Proxy => Ok(false),
        }
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
            .ok_or_else(|| {
                RdsError::missing(
                    "DescribeDBClusterEndpoints",
                    format!("custom endpoint {endpoint} not found"),
                )
            })?;
        let lower = |v: &[String]| v.iter().map(|s| s.to_ascii_lowercase()).collect();
        Ok(CustomEndpoint {
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
