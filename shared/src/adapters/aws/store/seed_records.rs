//! Seed items: routes declared in Terraform (`target_endpoints`), which the module writes in
//! the `SEEDS` partition and the audit consumes (layout in [`crate::adapters::aws::store`]).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

use crate::adapters::aws::store::{s, DynamoStore, StoreError};
use crate::domain::route::HealthCheck;

/// Partition key of seed items.
pub const SEEDS_PK: &str = "SEEDS";

/// A seed item as Terraform writes it (`sk` is the route name).
#[derive(Debug, Clone, Deserialize)]
pub struct SeedItem {
    /// Route name.
    pub name: String,
    /// Database host name.
    pub host: String,
    /// Database port.
    pub port: i64,
    /// Health check, when not the default.
    #[serde(default)]
    /// Health check, when not the default.
    pub health_check: Option<HealthCheck>,
    /// Route tags.
    #[serde(default)]
    /// Route tags.
    pub tags: BTreeMap<String, String>,
    /// RDS instance or cluster identifier, for event matching.
    #[serde(default)]
    /// RDS instance or cluster identifier, for event matching.
    pub rds_identifier: Option<String>,
    /// The database's account (`target_endpoints[*].account_id`).
    #[serde(default)]
    pub account_id: Option<String>,
    /// Listener idle timeout (`target_endpoints[*].idle_timeout_seconds`), when set.
    #[serde(default)]
    pub idle_timeout_seconds: Option<i64>,
    /// Pinned listener port (`base_port + index`, as the seed numbered its listeners).
    #[serde(default)]
    pub listener_port: Option<i64>,
    /// The principal that owns the route (the Terraform deployer).
    pub owner: String,
}

impl DynamoStore {
    /// Every seed item (one Query), by sort key; an item that does not decode is the reason,
    /// in words, instead of a seed.
    pub async fn seeds(&self) -> Result<Vec<(String, Result<SeedItem, String>)>, StoreError> {
        Ok(self
            .query_all(None, "pk = :v", s(SEEDS_PK), false)
            .await?
            .into_iter()
            .map(|item| {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                let seed =
                    serde_dynamo::from_item::<HashMap<String, AttributeValue>, SeedItem>(item)
                        .map_err(|e| format!("malformed seed: {e}"));
                (sk, seed)
            })
            .collect())
    }

    /// Deletes a consumed seed item.
    pub async fn delete_seed(&self, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(SEEDS_PK))
            .key("sk", s(sk))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }
}
