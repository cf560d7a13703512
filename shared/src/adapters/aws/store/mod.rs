//! The DynamoDB table: every item the router keeps, in one table. This module reads and writes
//! routes; its submodules the other item kinds ([`ports`], [`lease`], [`audit_records`],
//! [`seed_records`], [`event_aliases`]). No other code touches the table.
//!
//! Table layout (hash key `pk`, range key `sk`, both strings; on-demand):
//!
//! | item             | pk                | sk               | other attributes                                   |
//! |------------------|-------------------|------------------|----------------------------------------------------|
//! | route            | `ROUTE#<id>`      | `ROUTE`          | the [`Route`] fields, `gsi1pk`=`ROUTES`, `gsi1sk`=id, `rds_key` |
//! | port             | `ROUTER#<router>` | `PORT#<05d>`     | `route_id`, `state` (`allocated`/`quarantined`), `until` (epoch s) |
//! | router meta      | `ROUTER#<router>` | `META`           | `active`: listeners allocated; `tls_names`: its TLS-named hosts (string set) |
//! | TLS name         | `TLSNAME#<host>`  | `TLSNAME`        | `route_id`, `router`: the one route that has the host as its TLS name (written with the route) |
//! | owner quota      | `OWNER#<principal>` | `QUOTA`        | `routes`, `tls_names`: what the owner holds, kept under the quotas in the allocation transaction |
//! | lease            | `AUDIT`           | `LEASE#<kind>`   | `owner` (the run's token), `until` (epoch s): one `full` audit, one `rules` sync at a time |
//! | resume cursor    | `AUDIT`           | `CURSOR`         | `after` (route id), `at` (RFC 3339)                |
//! | dry runs' cursor | `AUDIT`           | `CURSOR#dry`     | `after` (route id), `at` (RFC 3339)                |
//! | orphan           | `AUDIT`           | `ORPHAN#<arn>`   | `arn`, `kind`, `router`, `route_id`, `first_seen` (epoch s) |
//! | seed             | `SEEDS`           | route name       | what Terraform declared ([`seed_records::SeedItem`]) |
//! | event alias      | `ALIAS#<account>#<region>#<identifier>` | `ALIAS` | `target`: the identifier whose routes its events concern (a global database's member cluster → the global database) |
//!
//! Indexes: `gsi1` (`gsi1pk`, `gsi1sk`) lists routes in id order for the API and the audit;
//! `by_rds` (`rds_key`) finds the routes of an RDS identifier for event handling.
//! Every route write is conditional on `version` (optimistic concurrency: no lost updates).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb as ddb;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use ddb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};

use crate::domain::route::{Route, RouteId};

pub mod audit_records;
pub mod event_aliases;
pub mod lease;
pub mod ports;
pub mod seed_records;

/// Name of the index listing all routes.
pub const GSI_ROUTES: &str = "gsi1";
/// Name of the index from RDS identifier to routes.
pub const GSI_RDS: &str = "by_rds";

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost a race: someone else changed the item first.
    #[error("route {0} was changed concurrently")]
    Conflict(String),
    /// The item to change does not exist.
    #[error("route {0} does not exist")]
    NotFound(String),
    /// A stored item could not be decoded (or encoded).
    #[error("stored item is malformed: {0}")]
    Codec(String),
    /// DynamoDB failed.
    #[error("DynamoDB {operation} failed: {message}")]
    Aws {
        /// Operation.
        operation: &'static str,
        /// AWS error code.
        code: Option<String>,
        /// Detail.
        message: String,
    },
}

impl StoreError {
    pub(crate) fn aws<E, R>(operation: &'static str, err: ddb::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        Self::Aws {
            operation,
            code: err.code().map(str::to_owned),
            message: crate::adapters::aws::clients::error_chain(&err),
        }
    }
}

/// One page of routes.
#[derive(Debug, Clone, Default)]
pub struct RoutePage {
    /// Routes in id order.
    pub routes: Vec<Route>,
    /// Id to continue after, when more remain.
    pub next: Option<String>,
}

/// The route persistence the reconcile loop, API and handlers need.
#[async_trait]
pub trait RouteStore: Send + Sync {
    /// Reads one route.
    async fn get(&self, id: &RouteId) -> Result<Option<Route>, StoreError>;
    /// Writes a route whose stored version is `route.version - 1` (or creates version 1).
    async fn save(&self, route: &Route) -> Result<(), StoreError>;
    /// Lists routes in id order, after `start` (exclusive), at most `limit`.
    async fn list(&self, start: Option<&str>, limit: i32) -> Result<RoutePage, StoreError>;
    /// Routes whose RDS identifier is `identifier` (lowercase).
    async fn by_rds_identifier(&self, identifier: &str) -> Result<Vec<Route>, StoreError>;
}

/// DynamoDB-backed store.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    pub(crate) client: ddb::Client,
    pub(crate) table: String,
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn route_key(id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(format!("ROUTE#{id}"))),
        ("sk".to_owned(), s("ROUTE")),
    ])
}

/// Encodes a route as its DynamoDB item, keys and index attributes included.
pub(crate) fn route_item(route: &Route) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(route).map_err(|e| StoreError::Codec(e.to_string()))?;
    item.extend(route_key(route.id().as_str()));
    item.insert("gsi1pk".into(), s("ROUTES"));
    item.insert("gsi1sk".into(), s(route.id().as_str()));
    if let Some(rds) = &route.spec.rds_identifier {
        item.insert("rds_key".into(), s(rds.to_ascii_lowercase()));
    }
    Ok(item)
}

pub(crate) fn decode(mut item: HashMap<String, AttributeValue>) -> Result<Route, StoreError> {
    for k in ["pk", "sk", "gsi1pk", "gsi1sk", "rds_key"] {
        item.remove(k);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Codec(e.to_string()))
}

impl DynamoStore {
    /// Every item a Query matches, page after page (each page up to 1 MB): on `index` (`None`:
    /// the table), `condition` naming its one value `:v`, read consistently when `consistent`
    /// (tables only; DynamoDB refuses it on a global secondary index).
    pub(crate) async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        value: AttributeValue,
        consistent: bool,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression(condition)
                .expression_attribute_values(":v", value.clone())
                .set_consistent_read(consistent.then_some(true))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Wraps an SDK client and the table name (both from config, built once).
    pub fn new(client: ddb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Creates the table with its indexes, as Terraform would (tests and the demo use it).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type set")
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("name and type set")
        };
        let all = Projection::builder()
            .projection_type(ProjectionType::All)
            .build();
        let gsi1 = GlobalSecondaryIndex::builder()
            .index_name(GSI_ROUTES)
            .key_schema(key("gsi1pk", KeyType::Hash))
            .key_schema(key("gsi1sk", KeyType::Range))
            .projection(all.clone())
            .build()
            .expect("index complete");
        let by_rds = GlobalSecondaryIndex::builder()
            .index_name(GSI_RDS)
            .key_schema(key("rds_key", KeyType::Hash))
            .projection(all)
            .build()
            .expect("index complete");
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .attribute_definitions(attr("rds_key"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .global_secondary_indexes(gsi1)
            .global_secondary_indexes(by_rds)
            .send()
            .await
            .map_err(|e| StoreError::aws("CreateTable", e))?;
        Ok(())
    }

    /// Deletes a route item if its version still matches.
    pub async fn delete_route(&self, route: &Route) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(route_key(route.id().as_str())))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(route.version))
            .send()
            .await
            .map_err(|e| match e.code() {
                Some("ConditionalCheckFailedException") => {
                    StoreError::Conflict(route.id().to_string())
                }
                _ => StoreError::aws("DeleteItem", e),
            })?;
        Ok(())
    }
}

#[async_trait]
impl RouteStore for DynamoStore {
    async fn get(&self, id: &RouteId) -> Result<Option<Route>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(route_key(id.as_str())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        out.item.map(decode).transpose()
    }

    async fn save(&self, route: &Route) -> Result<(), StoreError> {
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(route_item(route)?));
        let req = if route.version <= 1 {
            req.condition_expression("attribute_not_exists(pk)")
        } else {
            req.condition_expression("version = :prev")
                .expression_attribute_values(":prev", n(route.version - 1))
        };
        // A write whose answer was lost (timeout, dropped connection) is retried by the SDK
        // and then fails its own condition: the stored item, returned with the failure, is
        // then exactly this route, and the write succeeded.
        let req = req.return_values_on_condition_check_failure(
            ddb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        );
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                let stored = match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
                    _ => None,
                };
                if stored
                    .map(decode)
                    .is_some_and(|r| r.is_ok_and(|r| r == *route))
                {
                    return Ok(());
                }
                Err(StoreError::Conflict(route.id().to_string()))
            }
            Err(e) => Err(StoreError::aws("PutItem", e)),
        }
    }

    async fn list(&self, start: Option<&str>, limit: i32) -> Result<RoutePage, StoreError> {
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_ROUTES)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s("ROUTES"))
            .limit(limit.max(1));
        if let Some(start) = start {
            req = req.set_exclusive_start_key(Some(HashMap::from([
                ("gsi1pk".to_owned(), s("ROUTES")),
                ("gsi1sk".to_owned(), s(start)),
                ("pk".to_owned(), s(format!("ROUTE#{start}"))),
                ("sk".to_owned(), s("ROUTE")),
            ])));
        }
        let out = req.send().await.map_err(|e| StoreError::aws("Query", e))?;
        // One item the code cannot read (edited by hand, written by a newer version) must not
        // fail every caller's listing: it is logged and left out (the audit reports it, and
        // reading it by id answers 500 naming it).
        let routes = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| {
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned();
                decode(item)
                    .map_err(|e| tracing::warn!(item = pk.as_deref().unwrap_or(""), error = %e, "route item not readable; left out of the listing"))
                    .ok()
            })
            .collect();
        let next = out
            .last_evaluated_key
            .and_then(|k| k.get("gsi1sk").and_then(|v| v.as_s().ok()).cloned());
        Ok(RoutePage { routes, next })
    }

    async fn by_rds_identifier(&self, identifier: &str) -> Result<Vec<Route>, StoreError> {
        self.query_all(
            Some(GSI_RDS),
            "rds_key = :v",
            s(identifier.to_ascii_lowercase()),
            false,
        )
        .await?
        .into_iter()
        .map(decode)
        .collect()
    }
}
