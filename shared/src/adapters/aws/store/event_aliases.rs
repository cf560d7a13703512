//! Event aliases: an RDS identifier whose events concern the routes of another one. An Aurora
//! global database's member clusters send its events (switchover, failover, the global writer
//! endpoint's DNS change: RDS-EVENT-0397), each from its own region and naming itself, while
//! the route of the global writer endpoint is indexed by the global database's identifier. One
//! item per member cluster, written when the router reads the global database's members
//! (layout in [`crate::adapters::aws::store`]). An alias left behind by a cluster that left
//! the global database only makes its events re-resolve the route: an alias never deletes or
//! creates a route ([`crate::flows::events`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::adapters::aws::store::{s, DynamoStore, StoreError};

/// Sort key of event alias items.
const ALIAS_SK: &str = "ALIAS";

/// One alias: events of `identifier` in `account` and `region` concern the routes of `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventAlias {
    /// The account of the identifier the events name.
    pub account: String,
    /// The region the events come from.
    pub region: String,
    /// The identifier the events name (a member cluster), any case.
    pub identifier: String,
    /// The identifier whose routes the events concern (the global database).
    pub target: String,
}

fn alias_key(account: &str, region: &str, identifier: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "pk".to_owned(),
            s(format!(
                "ALIAS#{account}#{}#{}",
                region.to_ascii_lowercase(),
                identifier.to_ascii_lowercase()
            )),
        ),
        ("sk".to_owned(), s(ALIAS_SK)),
    ])
}

impl DynamoStore {
    /// Writes the aliases (one PutItem each; rewriting one is harmless).
    pub async fn put_event_aliases(&self, aliases: &[EventAlias]) -> Result<(), StoreError> {
        for alias in aliases {
            let mut item = alias_key(&alias.account, &alias.region, &alias.identifier);
            item.insert("target".into(), s(alias.target.to_ascii_lowercase()));
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| StoreError::aws("PutItem", e))?;
        }
        Ok(())
    }

    /// The identifier whose routes events of `identifier` (from `account`, `region`) concern,
    /// when an alias says so (one GetItem).
    pub async fn event_alias(
        &self,
        account: &str,
        region: &str,
        identifier: &str,
    ) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(alias_key(account, region, identifier)))
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(out
            .item
            .and_then(|item| item.get("target").and_then(|v| v.as_s().ok()).cloned()))
    }
}
