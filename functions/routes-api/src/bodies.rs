//! The JSON bodies of successful answers that are not the service's own types: pages,
//! deletions and sync results. `openapi.rs` documents them from these types.

use privatelink_router::domain::plan::Plan;
use privatelink_router::domain::route::RouteId;
use privatelink_router::flows::service::{CatalogEntry, RouteView, RuleNames};
use schemars::JsonSchema;
use serde::Serialize;

/// `GET /routes`: one page of routes, in id order.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RoutePage {
    /// The routes of this page the caller may see.
    pub routes: Vec<RouteView>,
    /// Pass as `next` for the following page; null on the last.
    #[schemars(with = "Option<RouteId>")]
    pub next: Option<String>,
}

/// `GET /catalog`: one page of routes as consumers reach them, and the private endpoint
/// rules of their routers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CatalogPage {
    /// The routes of this page the caller may see, in id order.
    pub routes: Vec<CatalogEntry>,
    /// The private endpoint rule of each router of these routes: the domain names it must
    /// carry (give them to the NCC rule's `domain_names`).
    pub rules: Vec<RuleNames>,
    /// Pass as `next` for the following page; null on the last.
    #[schemars(with = "Option<RouteId>")]
    pub next: Option<String>,
}

/// `DELETE /routes/{id}`: the route is gone (listener and target group removed, port
/// quarantined).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    /// The route removed.
    pub id: RouteId,
    /// Always true.
    #[schemars(extend("const" = true))]
    pub deleted: bool,
}

/// `POST /routes/{id}/sync`: the plan the reconcile applied, and the route afterwards.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SyncResult {
    /// The route synced.
    pub route_id: String,
    /// Whether the plan was applied (false only in a dry run).
    pub applied: bool,
    /// Structural conflicts found (targets were reconciled anyway). Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    /// What the reconcile decided, as applied.
    pub plan: Plan,
    /// The route as stored afterwards.
    pub route: RouteView,
}
