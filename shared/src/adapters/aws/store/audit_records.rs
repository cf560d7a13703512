//! The audit's items in the route table: every route item as the audit reads it (a route, or
//! a malformed item kept by id), the resume cursors and the orphan first-seen records. The
//! layout is in the table of [`crate::adapters::aws::store`].

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use crate::adapters::aws::store::{decode, n, s, DynamoStore, StoreError, GSI_ROUTES};
use crate::domain::route::Route;

/// Partition key of the audit's own items (cursors, orphans, leases).
pub const AUDIT_PK: &str = "AUDIT";
/// Sort key of the resume cursor.
const CURSOR_SK: &str = "CURSOR";
/// Sort key of the dry runs' own resume cursor: a dry run resumes like a real one, without
/// moving the real runs' cursor.
const DRY_CURSOR_SK: &str = "CURSOR#dry";
/// Sort key prefix of orphan first-seen records.
const ORPHAN_SK: &str = "ORPHAN#";

/// An item of the route index, as the audit and the watch read it.
#[derive(Debug, Clone)]
pub enum RouteItem {
    /// A route.
    Route(Box<Route>),
    /// An item that does not decode as a route: reported, never touched, its id never
    /// orphaned.
    Malformed {
        /// The item's route id (`gsi1sk`).
        id: String,
        /// Why it does not decode.
        error: String,
    },
}

impl RouteItem {
    /// The route id (`gsi1sk`), also of a malformed item.
    pub fn id(&self) -> &str {
        match self {
            RouteItem::Route(r) => r.id().as_str(),
            RouteItem::Malformed { id, .. } => id,
        }
    }

    fn decode(item: HashMap<String, AttributeValue>) -> Self {
        let id = item
            .get("gsi1sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        match decode(item) {
            Ok(r) => RouteItem::Route(Box::new(r)),
            Err(e) => RouteItem::Malformed {
                id,
                error: e.to_string(),
            },
        }
    }
}

/// The audit's own records: resume cursors and orphan first-seen times (epoch seconds by ARN).
#[derive(Debug, Clone, Default)]
pub struct AuditRecords {
    cursor: Option<String>,
    dry_cursor: Option<String>,
    /// When each recorded orphan was first seen (epoch seconds), by ARN.
    pub orphans: BTreeMap<String, i64>,
}

impl AuditRecords {
    /// The cursor a run resumes from: the dry runs' for a dry run.
    pub fn cursor(&self, dry_run: bool) -> Option<&str> {
        if dry_run {
            self.dry_cursor.as_deref()
        } else {
            self.cursor.as_deref()
        }
    }
}

/// An orphan first-seen record: a target group or listener with our tags and no route.
#[derive(Debug, Clone, Copy)]
pub struct OrphanRecord<'a> {
    /// The resource's ARN.
    pub arn: &'a str,
    /// `target_group` or `listener`.
    pub kind: &'a str,
    /// The router its tags name.
    pub router: &'a str,
    /// The route its tags name.
    pub route_id: &'a str,
    /// When it was first seen (epoch seconds).
    pub first_seen: i64,
}

fn audit_key(sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(AUDIT_PK)), ("sk".to_owned(), s(sk))])
}

impl DynamoStore {
    /// Every item of the route index, in id order, one Query page at a time (each up to
    /// 1 MB). An item that does not decode is kept as [`RouteItem::Malformed`] rather than
    /// failing the run.
    pub async fn route_items(&self) -> Result<Vec<RouteItem>, StoreError> {
        let mut items: Vec<RouteItem> = self
            .query_all(Some(GSI_ROUTES), "gsi1pk = :v", s("ROUTES"), false)
            .await?
            .into_iter()
            .map(RouteItem::decode)
            .collect();
        items.sort_by(|a, b| a.id().cmp(b.id()));
        Ok(items)
    }

    /// The audit's records, read consistently in one Query (pages as needed).
    pub async fn audit_records(&self) -> Result<AuditRecords, StoreError> {
        let mut records = AuditRecords::default();
        for item in self.query_all(None, "pk = :v", s(AUDIT_PK), true).await? {
            let get_s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
            match get_s("sk").as_deref() {
                Some(CURSOR_SK) => records.cursor = get_s("after"),
                Some(DRY_CURSOR_SK) => records.dry_cursor = get_s("after"),
                Some(sk) if sk.starts_with(ORPHAN_SK) => {
                    let first = item
                        .get("first_seen")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| Utc::now().timestamp());
                    records
                        .orphans
                        .insert(sk[ORPHAN_SK.len()..].to_owned(), first);
                }
                _ => {}
            }
        }
        Ok(records)
    }

    /// Stores the route id the next run resumes after, or deletes the cursor (`None`: the
    /// run got round every route). A dry run has its own cursor.
    pub async fn write_audit_cursor(
        &self,
        dry_run: bool,
        after: Option<&str>,
    ) -> Result<(), StoreError> {
        let sk = if dry_run { DRY_CURSOR_SK } else { CURSOR_SK };
        match after {
            Some(after) => {
                let mut item = audit_key(sk.to_owned());
                item.insert("after".into(), s(after));
                item.insert("at".into(), s(Utc::now().to_rfc3339()));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("PutItem", e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(audit_key(sk.to_owned())))
                    .send()
                    .await
                    .map_err(|e| StoreError::aws("DeleteItem", e))?;
            }
        }
        Ok(())
    }

    /// Records an orphan's first sighting; an existing record (an earlier sighting) wins.
    pub async fn put_orphan(&self, o: OrphanRecord<'_>) -> Result<(), StoreError> {
        let mut item = audit_key(format!("{ORPHAN_SK}{}", o.arn));
        item.insert("arn".into(), s(o.arn));
        item.insert("kind".into(), s(o.kind));
        item.insert("router".into(), s(o.router));
        item.insert("route_id".into(), s(o.route_id));
        item.insert("first_seen".into(), n(o.first_seen));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }

    /// Deletes an orphan's record (deleted, or no longer an orphan).
    pub async fn forget_orphan(&self, arn: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(audit_key(format!("{ORPHAN_SK}{arn}"))))
            .send()
            .await
            .map_err(|e| StoreError::aws("DeleteItem", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_that_is_not_a_route_is_kept_as_malformed_with_its_id() {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(serde_json::json!({"gsi1sk": "weird", "status": "active"}))
                .unwrap();
        assert!(
            matches!(RouteItem::decode(item), RouteItem::Malformed { id, .. } if id == "weird")
        );
    }
}
