//! One full audit at a time: a lease item in the route table, taken with a conditional write
//! and an expiry, so a slow full audit and the next schedule never work on the same routes at
//! once (the DNS watch takes none: it writes nothing when nothing moved). A run that finds the lease held exits at once and
//! says so in its report. A run that dies leaves the lease to expire (`until`).
//!
//! Item: `pk = AUDIT`, `sk = LEASE#<kind>` (layout in [`crate::adapters::aws::store`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;

use crate::adapters::aws::store::audit_records::AUDIT_PK;
use crate::adapters::aws::store::{n, s, DynamoStore, StoreError};

/// A lease held by this run; release it with [`Lease::release`].
#[derive(Debug)]
pub struct Lease {
    kind: &'static str,
    owner: String,
}

/// Why a lease was not taken.
#[derive(Debug)]
pub enum Taken {
    /// Another run holds it until this time (epoch seconds).
    Elsewhere(i64),
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl Lease {
    /// Takes the `kind` lease for `hold` (the run's budget plus a margin), unless another run
    /// holds an unexpired one.
    pub async fn take(
        store: &DynamoStore,
        kind: &'static str,
        hold: Duration,
    ) -> Result<Result<Lease, Taken>, StoreError> {
        let t = now();
        let owner = format!(
            "{}-{}-{}",
            std::process::id(),
            t,
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default()
        );
        let put = store
            .client
            .put_item()
            .table_name(&store.table)
            .item("pk", s(AUDIT_PK))
            .item("sk", s(format!("LEASE#{kind}")))
            .item("owner", s(owner.clone()))
            .item("until", n(t + hold.as_secs() as i64))
            .condition_expression("attribute_not_exists(pk) OR #u < :now")
            .expression_attribute_names("#u", "until")
            .expression_attribute_values(":now", n(t))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match put {
            Ok(_) => Ok(Ok(Lease { kind, owner })),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                let until = e
                    .as_service_error()
                    .and_then(|se| match se {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                        _ => None,
                    })
                    .and_then(|item| item.get("until"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(t);
                Ok(Err(Taken::Elsewhere(until)))
            }
            Err(e) => Err(StoreError::aws("PutItem", e)),
        }
    }

    /// Gives the lease back (only if still ours: an expired lease may have been taken since).
    pub async fn release(self, store: &DynamoStore) -> Result<(), StoreError> {
        let out = store
            .client
            .delete_item()
            .table_name(&store.table)
            .key("pk", s(AUDIT_PK))
            .key("sk", s(format!("LEASE#{}", self.kind)))
            .condition_expression("#o = :me")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":me", s(self.owner))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(StoreError::aws("DeleteItem", e)),
        }
    }
}
