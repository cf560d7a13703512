//! Listener port allocation in the table: stable for a route's life, race-free, quarantined
//! after release (which port is free: [`crate::domain::ports`]).
//!
//! A route, its port and its router's listener count are written in one DynamoDB transaction
//! with conditions: the route must be new, the port free (or out of quarantine), and the router
//! below the NLB's hard limit of 50 listeners (NLB quotas page: "Listeners per load balancer:
//! 50", not adjustable). Concurrent creates that collide retry with another port.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem, Update,
};
use chrono::Utc;

use crate::adapters::aws::store::{n, route_item, s, DynamoStore, StoreError};
use crate::domain::ports::{PortEntry, MAX_LISTENERS_PER_NLB};
use crate::domain::route::Route;

/// A router's load as its `META` item records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouterLoad {
    /// Listeners allocated (at most [`MAX_LISTENERS_PER_NLB`]).
    pub listeners: u32,
    /// Hosts of its `tls_name` routes: domain names its private endpoint rule must carry.
    pub tls_names: std::collections::BTreeSet<String>,
}

/// How an allocation attempt ended.
#[derive(Debug)]
pub enum Allocation {
    /// The route was written with this router and port.
    Done,
    /// The route id exists already.
    RouteExists,
    /// The port was taken meanwhile: pick another.
    PortTaken,
    /// The router is at its listener limit.
    RouterFull,
    /// Another route holds the host as its TLS name (on this or another router): a domain
    /// name leads to one private endpoint. The holder's router, when the item says.
    TlsNameTaken(Option<String>),
    /// The owner's counter says a quota is reached (a concurrent create took the last room).
    OwnerQuotaReached,
    /// A concurrent transaction touched the same items: retry.
    Contended,
}

/// The per-owner quotas one allocation must respect, written in its transaction: the owner's
/// counter item (`OWNER#<principal>`, `QUOTA`: `routes`, `tls_names`) goes up by one only
/// while under the caps, so concurrent creates by one owner cannot all pass a read-then-write
/// check. A counter not written yet starts from what the route index showed; releasing a
/// route takes one off again.
#[derive(Debug, Clone, Copy)]
pub struct OwnerQuota {
    /// `routes_per_owner` (0 = none).
    pub routes_limit: usize,
    /// `tls_names_per_owner` (0 = none).
    pub tls_names_limit: usize,
    /// The owner's routes as read before.
    pub routes_held: usize,
    /// The owner's TLS-named routes as read before.
    pub tls_names_held: usize,
}

fn owner_key(owner: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(format!("OWNER#{owner}"))),
        ("sk".to_owned(), s("QUOTA")),
    ])
}

/// The key of a host's TLS-name item: one per host in the whole table, written in the same
/// transaction as the route, so two routers can never take one host at once.
fn tls_name_key(host: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_owned(), s(format!("TLSNAME#{host}"))),
        ("sk".to_owned(), s("TLSNAME")),
    ])
}

fn router_pk(router: &str) -> AttributeValue {
    s(format!("ROUTER#{router}"))
}

fn port_sk(port: u16) -> AttributeValue {
    s(format!("PORT#{port:05}"))
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, k: &str) -> Option<&'a String> {
    item.get(k).and_then(|v| v.as_s().ok())
}

fn get_n(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

impl DynamoStore {
    /// Every port record of a router, and its allocated-listener count.
    pub async fn ports(&self, router: &str) -> Result<(Vec<PortEntry>, u32), StoreError> {
        let mut entries = Vec::new();
        let mut active = 0;
        for item in self
            .query_all(None, "pk = :v", router_pk(router), true)
            .await?
        {
            match get_s(&item, "sk").map(String::as_str) {
                Some("META") => active = get_n(&item, "active").unwrap_or(0) as u32,
                Some(sk) if sk.starts_with("PORT#") => entries.push(PortEntry {
                    router: router.to_owned(),
                    port: sk[5..].parse().unwrap_or(0),
                    route_id: get_s(&item, "route_id").cloned().unwrap_or_default(),
                    state: get_s(&item, "state").cloned().unwrap_or_default(),
                    until: get_n(&item, "until"),
                }),
                _ => {}
            }
        }
        Ok((entries, active))
    }

    /// Each router's load (its `META` item; empty when it has none), read in BatchGetItem
    /// calls of up to 100 keys (`batch_get`): placing a route reads one item per
    /// router this way, so a full router costs a fraction of one call instead of a Query of its
    /// port table.
    pub async fn router_loads(
        &self,
        routers: &[&str],
    ) -> Result<HashMap<String, RouterLoad>, StoreError> {
        let mut counts: HashMap<String, RouterLoad> = routers
            .iter()
            .map(|r| (r.to_string(), RouterLoad::default()))
            .collect();
        let keys = routers
            .iter()
            .map(|r| {
                HashMap::from([
                    ("pk".to_owned(), router_pk(r)),
                    ("sk".to_owned(), s("META")),
                ])
            })
            .collect();
        for item in self.batch_get(keys, None).await? {
            if let Some(router) = get_s(&item, "pk").and_then(|pk| pk.strip_prefix("ROUTER#")) {
                counts.insert(
                    router.to_owned(),
                    RouterLoad {
                        listeners: get_n(&item, "active").unwrap_or(0) as u32,
                        tls_names: item
                            .get("tls_names")
                            .and_then(|v| v.as_ss().ok())
                            .map(|names| names.iter().cloned().collect())
                            .unwrap_or_default(),
                    },
                );
            }
        }
        Ok(counts)
    }

    /// How many targets each of `route_ids` keeps: the addresses of its `sightings` (its
    /// window, which the router keeps registered), read with BatchGetItem (one call per 100
    /// routes, only that attribute). A route not found counts none. The NLB's own count also
    /// holds draining targets and other deployments' target groups: placement keeps room for
    /// that, and a registration past the quota is still refused safely.
    pub async fn route_target_counts(&self, route_ids: &[&str]) -> Result<Vec<usize>, StoreError> {
        let keys = route_ids
            .iter()
            .map(|id| crate::adapters::aws::store::route_key(id))
            .collect();
        Ok(self
            .batch_get(keys, Some("sightings"))
            .await?
            .iter()
            .map(|item| {
                item.get("sightings")
                    .and_then(|v| v.as_m().ok())
                    .map_or(0, HashMap::len)
            })
            .collect())
    }

    /// Reads `keys` with BatchGetItem, 100 a call (the API's limit), strongly consistent,
    /// retrying unprocessed keys with backoff (five rounds at most); `projection` limits the
    /// attributes returned.
    async fn batch_get(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .set_projection_expression(projection.map(str::to_owned))
                    .build()
                    .map_err(|e| StoreError::Codec(e.to_string()))?,
            );
            let mut pause = std::time::Duration::from_millis(20);
            let mut rounds = 0;
            while let Some(request) = pending.take() {
                rounds += 1;
                if rounds > 5 {
                    return Err(StoreError::Aws {
                        operation: "BatchGetItem",
                        code: Some("ProvisionedThroughputExceededException".into()),
                        message: "items left unprocessed five times in a row; retry later".into(),
                    });
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("BatchGetItem", e))?;
                items.extend(
                    out.responses
                        .unwrap_or_default()
                        .remove(&self.table)
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    // DynamoDB asks for a backoff before unprocessed keys are sent again.
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(1));
                }
            }
        }
        Ok(items)
    }

    /// Writes a new route with its port and the router's count, all or nothing. A `tls_name`
    /// route also adds its host to the router's TLS names, on condition that the host is not
    /// there yet and fewer than `tls_names_cap` are (its private endpoint rule's room).
    pub async fn allocate(
        &self,
        route: &Route,
        tls_names_cap: usize,
        owner_quota: Option<OwnerQuota>,
    ) -> Result<Allocation, StoreError> {
        let now = Utc::now().timestamp();
        let put_route = Put::builder()
            .table_name(&self.table)
            .set_item(Some(route_item(route)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let put_port = Put::builder()
            .table_name(&self.table)
            .item("pk", router_pk(&route.router))
            .item("sk", port_sk(route.listener_port))
            .item("route_id", s(route.id().as_str()))
            .item("state", s("allocated"))
            .condition_expression("attribute_not_exists(pk) OR (#st = :q AND #u < :now)")
            .expression_attribute_names("#st", "state")
            .expression_attribute_names("#u", "until")
            .expression_attribute_values(":q", s("quarantined"))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        // The router's count, and with a `tls_name` route its TLS names: one update, one
        // condition, the TLS part added to the count's.
        let mut update = String::from("SET active = if_not_exists(active, :zero) + :one");
        let mut condition = String::from("(attribute_not_exists(active) OR active < :limit)");
        let mut count = Update::builder()
            .table_name(&self.table)
            .key("pk", router_pk(&route.router))
            .key("sk", s("META"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(MAX_LISTENERS_PER_NLB));
        if route.spec.tls_name {
            update.push_str(" ADD tls_names :host");
            condition.push_str(
                " AND (attribute_not_exists(tls_names) OR \
                 (NOT contains(tls_names, :name) AND size(tls_names) < :cap))",
            );
            count = count
                .expression_attribute_values(
                    ":host",
                    AttributeValue::Ss(vec![route.spec.host.to_string()]),
                )
                .expression_attribute_values(":name", s(route.spec.host.as_str()))
                .expression_attribute_values(":cap", n(tls_names_cap as u32));
        }
        let count = count
            .update_expression(update)
            .condition_expression(condition)
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put_route).build(),
            TransactWriteItem::builder().put(put_port).build(),
            TransactWriteItem::builder().update(count).build(),
        ];
        if route.spec.tls_name {
            let mut item = tls_name_key(route.spec.host.as_str());
            item.insert("route_id".into(), s(route.id().as_str()));
            item.insert("router".into(), s(&route.router));
            let put_name = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .map_err(|e| StoreError::Codec(e.to_string()))?;
            items.push(TransactWriteItem::builder().put(put_name).build());
        }
        let mut owner_at = None;
        if let Some(q) = owner_quota {
            let mut update = String::from("SET routes = if_not_exists(routes, :held) + :one");
            let mut conditions = Vec::new();
            let mut write = Update::builder()
                .table_name(&self.table)
                .set_key(Some(owner_key(&route.owner)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":held", n(q.routes_held as u32));
            if q.routes_limit > 0 {
                conditions.push("(attribute_not_exists(routes) OR routes < :rlimit)");
                write = write.expression_attribute_values(":rlimit", n(q.routes_limit as u32));
            }
            if route.spec.tls_name {
                update.push_str(", tls_names = if_not_exists(tls_names, :theld) + :one");
                write = write.expression_attribute_values(":theld", n(q.tls_names_held as u32));
                if q.tls_names_limit > 0 {
                    conditions.push("(attribute_not_exists(tls_names) OR tls_names < :tlimit)");
                    write =
                        write.expression_attribute_values(":tlimit", n(q.tls_names_limit as u32));
                }
            }
            let mut write = write.update_expression(update);
            if !conditions.is_empty() {
                write = write.condition_expression(conditions.join(" AND "));
            }
            let write = write
                .build()
                .map_err(|e| StoreError::Codec(e.to_string()))?;
            owner_at = Some(items.len());
            items.push(TransactWriteItem::builder().update(write).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Allocation::Done),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                    e.as_service_error()
                {
                    let codes: Vec<&str> = c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().unwrap_or("None"))
                        .collect();
                    let failed = |i: usize| codes.get(i) == Some(&"ConditionalCheckFailed");
                    return Ok(if failed(0) {
                        Allocation::RouteExists
                    } else if owner_at.is_some_and(failed) {
                        Allocation::OwnerQuotaReached
                    } else if failed(3) {
                        let holder = c
                            .cancellation_reasons()
                            .get(3)
                            .and_then(|r| r.item())
                            .and_then(|i| i.get("router"))
                            .and_then(|v| v.as_s().ok())
                            .cloned();
                        Allocation::TlsNameTaken(holder)
                    } else if failed(1) {
                        Allocation::PortTaken
                    } else if failed(2) {
                        Allocation::RouterFull
                    } else {
                        Allocation::Contended
                    });
                }
                if matches!(
                    e.code(),
                    Some("TransactionConflictException" | "TransactionInProgressException")
                ) {
                    return Ok(Allocation::Contended);
                }
                Err(StoreError::aws("TransactWriteItems", e))
            }
        }
    }

    /// Removes a route and puts its port in quarantine until `until` (epoch seconds), in one
    /// transaction conditional on the route's version.
    pub async fn release(&self, route: &Route, until: i64) -> Result<(), StoreError> {
        let del = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(format!("ROUTE#{}", route.id())))
            .key("sk", s("ROUTE"))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(route.version))
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let quarantine = Put::builder()
            .table_name(&self.table)
            .item("pk", router_pk(&route.router))
            .item("sk", port_sk(route.listener_port))
            .item("route_id", s(route.id().as_str()))
            .item("state", s("quarantined"))
            .item("until", n(until))
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let mut update = String::from("SET active = active - :one");
        let mut count = Update::builder()
            .table_name(&self.table)
            .key("pk", router_pk(&route.router))
            .key("sk", s("META"))
            .condition_expression("active > :zero")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        if route.spec.tls_name {
            // The host's name leaves the rule with its one route (`TlsNameTaken` keeps it one).
            update.push_str(" DELETE tls_names :host");
            count = count.expression_attribute_values(
                ":host",
                AttributeValue::Ss(vec![route.spec.host.to_string()]),
            );
        }
        let count = count
            .update_expression(update)
            .build()
            .map_err(|e| StoreError::Codec(e.to_string()))?;
        let mut write = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(del).build())
            .transact_items(TransactWriteItem::builder().put(quarantine).build())
            .transact_items(TransactWriteItem::builder().update(count).build());
        if route.spec.tls_name {
            // The host's TLS-name item goes with its route (only its own: routes stored before
            // the item existed have none, and the condition spares another route's).
            let free = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(tls_name_key(route.spec.host.as_str())))
                .condition_expression("attribute_not_exists(pk) OR route_id = :id")
                .expression_attribute_values(":id", s(route.id().as_str()))
                .build()
                .map_err(|e| StoreError::Codec(e.to_string()))?;
            write = write.transact_items(TransactWriteItem::builder().delete(free).build());
        }
        if route.quota_counted {
            // The owner's counter (OwnerQuota) loses the route it counted; ADD never fails a
            // transaction. Routes it never counted (admins', seeds', older ones) leave it as is.
            let mut update = String::from("ADD routes :minus");
            if route.spec.tls_name {
                update.push_str(", tls_names :minus");
            }
            let counter = Update::builder()
                .table_name(&self.table)
                .set_key(Some(owner_key(&route.owner)))
                .update_expression(update)
                .expression_attribute_values(":minus", AttributeValue::N("-1".into()))
                .build()
                .map_err(|e| StoreError::Codec(e.to_string()))?;
            write = write.transact_items(TransactWriteItem::builder().update(counter).build());
        }
        write.send().await.map_err(|e| match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(_)) => {
                StoreError::Conflict(route.id().to_string())
            }
            _ => StoreError::aws("TransactWriteItems", e),
        })?;
        Ok(())
    }
}
