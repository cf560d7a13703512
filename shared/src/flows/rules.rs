//! Keeps each router's Databricks private endpoint rule equal to its routes: its
//! `domain_names` are the router's consumer domain and the hosts of its `tls_name` routes
//! ([`crate::domain::catalog::rule_domain_names`]), and its health is reported. Runs after a
//! TLS-named route is created or removed, and in every audit, which repairs what an earlier
//! run could not.
//!
//! A rule is found by its `endpoint_service` (the router's). An update is a read-modify-write
//! of `domain_names` only (`update_mask=domain_names`): under the `rules` lease (one rule sync
//! at a time in the whole deployment), the rule is read again and written only if it still
//! differs, then the answer is checked. Every Databricks failure — 401, 404, 409, 429,
//! 5xx, malformed JSON — is reported and changes no route.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;
use tracing::{info, warn};

use crate::adapters::aws::store::lease::{Lease, Taken};
use crate::adapters::databricks::{Databricks, PrivateEndpointRule};
use crate::context::Context;
use crate::domain::catalog::rule_domain_names;

/// A rule still `PENDING` this long is reported as about to expire: Databricks expires one
/// left `PENDING` after 14 days ("Manage private endpoint rules"); 11 leave three to act.
pub const PENDING_ALARM_AFTER: Duration = Duration::from_secs(11 * 24 * 3600);

/// How long the `rules` lease is held at most.
const LEASE: Duration = Duration::from_secs(30);

/// One router's rule after a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStatus {
    /// The router.
    pub router: String,
    /// The rule naming the router's endpoint service; `None` when the NCC has none.
    pub rule_id: Option<String>,
    /// `ESTABLISHED`, `PENDING`, …, as Databricks reports it.
    pub connection_state: Option<String>,
    /// The rule's domain names afterwards (as read back).
    pub domain_names: Vec<String>,
    /// The names the rule must carry.
    pub wanted: Vec<String>,
    /// Whether this sync changed the rule.
    pub updated: bool,
    /// `PENDING` for longer than [`PENDING_ALARM_AFTER`]: accept the endpoint connection.
    pub expiring: bool,
    /// What is wrong, in one line with the fix; `None` when the rule is established and equal.
    pub problem: Option<String>,
}

/// What a sync saw and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RulesReport {
    /// Per router of the fleet.
    pub rules: Vec<RuleStatus>,
    /// Set when the rules could not be read at all (nothing was changed).
    pub error: Option<String>,
}

impl RulesReport {
    /// Rules that are not `ESTABLISHED` (missing ones included).
    pub fn not_established(&self) -> usize {
        self.rules
            .iter()
            .filter(|r| r.connection_state.as_deref() != Some("ESTABLISHED"))
            .count()
    }

    /// Rules about to expire.
    pub fn expiring(&self) -> usize {
        self.rules.iter().filter(|r| r.expiring).count()
    }

    /// Rules this sync changed.
    pub fn updated(&self) -> usize {
        self.rules.iter().filter(|r| r.updated).count()
    }

    /// Problems: the read error, and every rule with one.
    pub fn problems(&self) -> usize {
        usize::from(self.error.is_some())
            + self.rules.iter().filter(|r| r.problem.is_some()).count()
    }
}

/// Syncs every router's rule (`dry_run`: reports what differs, changes nothing). `None` when
/// the Databricks API is not configured.
pub async fn sync(ctx: &Context, dry_run: bool) -> Option<RulesReport> {
    let api = ctx.databricks.as_ref()?;
    let mut report = RulesReport::default();
    // The lease first, then the reads: a sync that waited sees the names of the route whose
    // creation made the other one start.
    let lease = match dry_run {
        true => None,
        false => match take_lease(ctx).await {
            Ok(lease) => Some(lease),
            Err(why) => {
                report.error = Some(why);
                return Some(report);
            }
        },
    };
    let ids: Vec<&str> = ctx.config.fleet.iter().map(|r| r.id.as_str()).collect();
    let read = async {
        let loads = ctx
            .store
            .router_loads(&ids)
            .await
            .map_err(|e| format!("route table: {e}"))?;
        let rules = api.rules().await.map_err(|e| {
            warn!(error = %e, "Databricks private endpoint rules not read; nothing changed");
            e.to_string()
        })?;
        Ok::<_, String>((loads, rules))
    };
    let (loads, rules) = match read.await {
        Ok(read) => read,
        Err(why) => {
            report.error = Some(why);
            give_back(ctx, lease).await;
            return Some(report);
        }
    };
    let by_service: BTreeMap<&str, &PrivateEndpointRule> = rules
        .iter()
        .filter_map(|r| Some((r.endpoint_service.as_deref()?, r)))
        .collect();
    for router in &ctx.config.fleet {
        let tls_names = loads
            .get(&router.id)
            .map(|l| l.tls_names.clone())
            .unwrap_or_default();
        let wanted = rule_domain_names(router, &tls_names);
        let status = match by_service.get(router.endpoint_service_name.as_str()) {
            None => RuleStatus {
                router: router.id.clone(),
                rule_id: None,
                connection_state: None,
                domain_names: vec![],
                wanted,
                updated: false,
                expiring: false,
                problem: Some(format!(
                    "NCC {} has no private endpoint rule for {}: create it (infra/examples/databricks-serverless) with domain_names from `plr catalog`",
                    api.config().ncc_id, router.endpoint_service_name
                )),
            },
            Some(rule) => sync_rule(api, &router.id, rule, wanted, lease.is_some()).await,
        };
        report.rules.push(status);
    }
    give_back(ctx, lease).await;
    Some(report)
}

/// The `rules` lease, waiting up to 5 s for another sync to finish.
async fn take_lease(ctx: &Context) -> Result<Lease, String> {
    for _ in 0..20 {
        match Lease::take(&ctx.store, "rules", LEASE).await {
            Ok(Ok(lease)) => return Ok(lease),
            Ok(Err(Taken::Elsewhere(_))) => tokio::time::sleep(Duration::from_millis(250)).await,
            Err(e) => return Err(format!("rules lease: {e}")),
        }
    }
    Err("another rule sync held the lease for 5 s; the next audit applies the names".into())
}

async fn give_back(ctx: &Context, lease: Option<Lease>) {
    if let Some(lease) = lease {
        if let Err(e) = lease.release(&ctx.store).await {
            warn!(error = %e, "rules lease not released; it expires by itself");
        }
    }
}

/// One rule: written when its names differ (and `write`), then judged.
async fn sync_rule(
    api: &Databricks,
    router: &str,
    rule: &PrivateEndpointRule,
    wanted: Vec<String>,
    write: bool,
) -> RuleStatus {
    let same = |names: &[String]| {
        names.iter().collect::<BTreeSet<_>>() == wanted.iter().collect::<BTreeSet<_>>()
    };
    let mut current = rule.clone();
    let mut updated = false;
    let mut problem = None;
    if !same(&current.domain_names) && write {
        // Read again under the lease: write only what still differs.
        let result = match api.rule(&rule.rule_id).await {
            Ok(fresh) if same(&fresh.domain_names) => Ok(fresh),
            Ok(_) => {
                let written = api.set_domain_names(&rule.rule_id, &wanted).await;
                updated = written.is_ok();
                written
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(after) => current = after,
            Err(e) => {
                warn!(router, rule_id = %rule.rule_id, error = %e, "private endpoint rule not updated");
                problem = Some(format!("rule {} not updated: {e}", rule.rule_id));
            }
        }
        if updated {
            info!(router, rule_id = %rule.rule_id, domain_names = ?current.domain_names, "private endpoint rule updated");
        }
    }
    let state = current.connection_state.clone();
    let age = current
        .creation_time
        .map(|ms| chrono::Utc::now().timestamp_millis().saturating_sub(ms))
        .unwrap_or(0);
    let expiring = state.as_deref() == Some("PENDING")
        && u128::try_from(age).unwrap_or(0) > PENDING_ALARM_AFTER.as_millis();
    if problem.is_none() && !same(&current.domain_names) {
        problem = Some(format!(
            "rule {} has domain_names {:?}, its routes need {:?}",
            rule.rule_id, current.domain_names, wanted
        ));
    }
    if problem.is_none() {
        problem = match state.as_deref() {
            Some("ESTABLISHED") => None,
            Some("PENDING") => Some(format!(
                "rule {} is PENDING{}: accept VPC endpoint {} on the router's endpoint service (it expires after 14 days)",
                rule.rule_id,
                if expiring { " for more than 11 days" } else { "" },
                current.vpc_endpoint_id.as_deref().unwrap_or("(not yet known)")
            )),
            other => Some(format!(
                "rule {} is {}: it carries no traffic; recreate it (infra/examples/databricks-serverless)",
                rule.rule_id,
                other.unwrap_or("in no state")
            )),
        };
    }
    RuleStatus {
        router: router.to_owned(),
        rule_id: Some(rule.rule_id.clone()),
        connection_state: state,
        domain_names: current.domain_names,
        wanted,
        updated,
        expiring,
        problem,
    }
}
