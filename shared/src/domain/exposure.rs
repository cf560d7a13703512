//! Who may put which database behind a port: the deployment's exposure policy.
//!
//! A router is shared: every consumer of its endpoint service reaches every route. So a route
//! is a publication, and this module decides what may be published:
//! - **ports**: a route's database port must be one of the deployment's database ports
//!   (`ROUTER_DATABASE_PORTS`, the Terraform module's `database_ports`, which also open the
//!   NLBs' security group egress) — for everyone, admins and Terraform seeds included;
//! - **addresses**: targets only inside the database CIDRs and never the router's own
//!   addresses ([`crate::domain::net::AddressPolicy`]) — for everyone;
//! - **ownership**: a caller that is not an admin may publish only a database it owns: an RDS
//!   database of its own AWS account, or of an account granted to it, that the router verifies
//!   through that account's RDS API; or a name under a host suffix granted to it
//!   (`ROUTER_CALLER_GRANTS`, the module's `caller_grants`). The flow does the RDS lookup;
//!   this module says which accounts and suffixes a caller has ([`ExposurePolicy::scope`]) and
//!   words every refusal with the variable that would allow it ([`Denial`]).
//!
//! A policy change never removes an existing route: the audit reports routes outside the
//! policy ([`ExposurePolicy::violations`]) for an operator to act on.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::host::under_domain;

/// What a caller was granted beyond its own account (`ROUTER_CALLER_GRANTS`, one entry per IAM
/// principal ARN as the API sees it — an assumed role's session counts as its role — or `*`
/// for every caller).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// AWS accounts (12 digits) whose RDS databases the caller may publish, once the router
    /// verifies them through that account's RDS API (a role in `ROUTER_RDS_ROLE_ARNS`).
    #[serde(default)]
    pub accounts: BTreeSet<String>,
    /// DNS domains whose names the caller may publish without an RDS lookup (matched on a
    /// label boundary, as `ROUTER_HOST_SUFFIXES`): the grant is the operator's word that the
    /// caller owns what those names answer. Targets stay bound by the database CIDRs.
    #[serde(default)]
    pub host_suffixes: Vec<String>,
}

/// The key of a [`Grant`] that applies to every caller.
pub const ANY_CALLER: &str = "*";

/// Which databases a caller may publish: those of `accounts` the router verifies, and any name
/// under `host_suffixes`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The caller's own account (from its principal ARN) and the granted ones.
    pub accounts: BTreeSet<String>,
    /// Granted host suffixes.
    pub host_suffixes: Vec<String>,
}

impl Scope {
    /// True when `host` is under one of the granted suffixes.
    pub fn grants_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.host_suffixes.iter().any(|s| under_domain(&host, s))
    }
}

/// Caps that keep one caller from filling the shared routers (0 = no cap). Terraform's
/// `quotas` sets them; the module's defaults are 25 routes and 2 TLS names per owner, 16
/// targets per route (an Aurora cluster has at most 15 replicas and a writer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Quotas {
    /// Routes one owner that is not an admin may hold (`ROUTER_ROUTES_PER_OWNER`).
    pub routes_per_owner: usize,
    /// Routes with `tls_name` one owner that is not an admin may hold: each takes one of a
    /// private endpoint rule's 10 domain names (`ROUTER_TLS_NAMES_PER_OWNER`).
    pub tls_names_per_owner: usize,
    /// Addresses one answer may hold: a larger answer registers nothing and is reported, as a
    /// failed lookup is (`ROUTER_TARGETS_PER_ROUTE`). Binds everyone: the NLB's 500 targets
    /// (cross-zone) and the route item's 400 KB are shared.
    pub targets_per_route: usize,
}

impl Quotas {
    /// `Ok` while `used` is under the cap `what` (one of this struct's field names) of
    /// `limit`; otherwise the refusal, saying what `used` counts.
    pub fn check(
        what: &'static str,
        limit: usize,
        used: usize,
        counted: impl Into<String>,
    ) -> Result<(), Denial> {
        if limit == 0 || used < limit {
            return Ok(());
        }
        Err(Denial::Quota {
            what,
            limit,
            detail: counted.into(),
        })
    }
}

/// The deployment's exposure policy, from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExposurePolicy {
    /// Database ports routes may use (`ROUTER_DATABASE_PORTS`); empty = any.
    pub database_ports: BTreeSet<u16>,
    /// Grants by principal ARN, or [`ANY_CALLER`].
    pub grants: BTreeMap<String, Grant>,
    /// Per-owner and per-route caps.
    pub quotas: Quotas,
}

/// Why a route may not be published, in the caller's terms, naming the setting that would
/// allow it (environment variable and Terraform variable).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The database port is not one of the deployment's database ports.
    #[error("port {port} is not a database port of this router (allowed: {allowed}): the deployment's database_ports (ROUTER_DATABASE_PORTS) would have to include it")]
    Port {
        /// The refused port.
        port: u16,
        /// The allowed ports, comma-separated.
        allowed: String,
    },
    /// The host answers an address outside the database CIDRs, or one of the router's own
    /// (a route is created for its whole answer or not at all). `ips` is empty in answers to
    /// callers that are not admins: a refusal must not tell them what a name answers.
    #[error("{}", if ips.is_empty() { format!("host {host} answers an address that may not be a target: {why}") } else { format!("host {host} answers {ips}, which may not be targets: {why}") })]
    Addresses {
        /// The host.
        host: String,
        /// The refused addresses, comma-separated (empty: not shown).
        ips: String,
        /// Why, with the setting that would allow it.
        why: String,
        /// The refusal of the first refused address.
        refusal: crate::domain::net::Refusal,
    },
    /// A quota would be exceeded.
    #[error("{detail}: this router's quota {what} is {limit} (Terraform quotas.{what}, ROUTER_{upper}); remove a route first, or ask an operator to raise it", upper = what.to_ascii_uppercase())]
    Quota {
        /// The quota (`routes_per_owner`, `tls_names_per_owner`, `targets_per_route`).
        what: &'static str,
        /// Its value.
        limit: usize,
        /// What was counted, e.g. `arn:…:role/pipeline holds 25 routes`.
        detail: String,
    },
    /// The caller is no admin and the database is not verifiably its own.
    #[error("{principal} may publish only RDS databases the router verifies in account(s) {accounts}, or names under granted host suffixes: {reason}; an operator can grant an account or a host suffix in caller_grants (ROUTER_CALLER_GRANTS), or make the caller an admin (admin_principals)")]
    NotOwner {
        /// The caller.
        principal: String,
        /// The accounts it may publish from, comma-separated.
        accounts: String,
        /// What failed, e.g. `db.corp.example is not an RDS endpoint name`.
        reason: String,
    },
}

/// The 12-digit account of an IAM or STS principal ARN (`arn:<partition>:<service>::<account>:…`);
/// `None` for anything else.
pub fn principal_account(principal: &str) -> Option<String> {
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam" | "sts", "", account, _]
            if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Some((*account).to_owned())
        }
        _ => None,
    }
}

impl ExposurePolicy {
    /// `Ok` when `port` is a database port of the deployment (or no list is configured).
    pub fn check_port(&self, port: u16) -> Result<(), Denial> {
        if self.database_ports.is_empty() || self.database_ports.contains(&port) {
            return Ok(());
        }
        Err(Denial::Port {
            port,
            allowed: join(self.database_ports.iter()),
        })
    }

    /// What `principal` (not an admin) may publish: its own account's and granted accounts'
    /// verified RDS databases, and names under granted suffixes (its own grant and `*`'s).
    pub fn scope(&self, principal: &str) -> Scope {
        let mut scope = Scope::default();
        scope.accounts.extend(principal_account(principal));
        for key in [principal, ANY_CALLER] {
            if let Some(g) = self.grants.get(key) {
                scope.accounts.extend(g.accounts.iter().cloned());
                scope.host_suffixes.extend(g.host_suffixes.iter().cloned());
            }
        }
        scope
    }

    /// The refusal for a caller whose database could not be verified, naming its accounts.
    pub fn not_owner(&self, principal: &str, reason: impl Into<String>) -> Denial {
        let accounts = self.scope(principal).accounts;
        Denial::NotOwner {
            principal: principal.to_owned(),
            accounts: if accounts.is_empty() {
                "(none)".into()
            } else {
                join(accounts.iter())
            },
            reason: reason.into(),
        }
    }

    /// Why an existing route is outside the policy now (empty: it is inside), without any AWS
    /// call: a port that is no database port; for an owner that is an API caller (an IAM
    /// principal ARN) and not an admin, a host under no granted suffix whose database's
    /// account (stored when verified or learned) is not the owner's or granted. Owners that
    /// are no ARN — Terraform seeds (`seed_route_owner`, default `terraform`) and `plr`
    /// (`plr-cli`) — are trusted creators, bound by the port only. Routes are never removed
    /// for it: the audit reports them.
    pub fn violations(
        &self,
        port: u16,
        host: &str,
        account: Option<&str>,
        owner: &str,
        owner_is_admin: bool,
    ) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(d) = self.check_port(port) {
            out.push(d.to_string());
        }
        if owner_is_admin || principal_account(owner).is_none() {
            return out;
        }
        let scope = self.scope(owner);
        if scope.grants_host(host) {
            return out;
        }
        // An account is evidence only for an RDS endpoint name (verified through the RDS API
        // at creation); for any other name the caller may have stated it, and only a grant
        // of the name's domain admits the route.
        let account = account.filter(|_| crate::domain::host::parse_rds_endpoint(host).is_some());
        match account {
            Some(a) if scope.accounts.contains(a) => {}
            Some(a) => out.push(format!(
                "the database is in account {a}, which is not its owner's nor granted to it"
            )),
            None => out.push(
                "the name is under no host suffix granted to its owner, and is no RDS database the router verified in its owner's or a granted account"
                    .to_owned(),
            ),
        }
        out
    }
}

fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIPELINE: &str = "arn:aws:iam::111122223333:role/pipeline";

    fn policy() -> ExposurePolicy {
        ExposurePolicy {
            database_ports: [3306, 5432].into(),
            grants: BTreeMap::from([
                (
                    PIPELINE.to_owned(),
                    Grant {
                        accounts: ["444455556666".to_owned()].into(),
                        host_suffixes: vec![".corp.example".into()],
                    },
                ),
                (
                    ANY_CALLER.to_owned(),
                    Grant {
                        accounts: BTreeSet::new(),
                        host_suffixes: vec!["shared.example".into()],
                    },
                ),
            ]),
            quotas: Quotas::default(),
        }
    }

    #[test]
    fn ports_outside_the_list_are_refused_naming_the_variable() {
        let p = policy();
        assert!(p.check_port(5432).is_ok());
        let e = p.check_port(22).unwrap_err().to_string();
        assert!(e.contains("port 22") && e.contains("database_ports"), "{e}");
        assert!(e.contains("3306, 5432"), "{e}");
        assert!(ExposurePolicy::default().check_port(22).is_ok());
    }

    #[test]
    fn a_scope_is_the_own_account_plus_the_callers_and_everyones_grants() {
        let s = policy().scope(PIPELINE);
        assert_eq!(
            s.accounts,
            BTreeSet::from(["111122223333".to_owned(), "444455556666".to_owned()])
        );
        assert!(s.grants_host("db.corp.example"));
        assert!(s.grants_host("DB.Shared.Example."));
        assert!(!s.grants_host("evilcorp.example"));
        let other = policy().scope("arn:aws:iam::999988887777:role/other");
        assert_eq!(other.accounts, BTreeSet::from(["999988887777".to_owned()]));
        assert!(!other.grants_host("db.corp.example"));
        assert!(other.grants_host("x.shared.example"));
    }

    #[test]
    fn a_quota_refuses_at_its_limit_naming_the_setting_and_zero_means_none() {
        assert!(Quotas::check("routes_per_owner", 2, 1, "x").is_ok());
        let e = Quotas::check("routes_per_owner", 2, 2, "p holds 2 routes").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("quotas.routes_per_owner") && text.contains("ROUTER_ROUTES_PER_OWNER"),
            "{text}"
        );
        assert!(Quotas::check("routes_per_owner", 0, 1000, "x").is_ok());
    }

    #[test]
    fn principal_accounts_come_from_iam_and_sts_arns_only() {
        assert_eq!(principal_account(PIPELINE).as_deref(), Some("111122223333"));
        assert_eq!(
            principal_account("arn:aws:sts::111122223333:assumed-role/r/s").as_deref(),
            Some("111122223333")
        );
        for none in [
            "arn:aws:s3:::bucket",
            "arn:aws:iam::12:role/x",
            "not-an-arn",
            "",
        ] {
            assert_eq!(principal_account(none), None, "{none}");
        }
    }

    #[test]
    fn violations_name_the_port_and_unowned_databases_and_spare_admins() {
        let p = policy();
        let own = p.violations(
            5432,
            "a.c9akciq32abc.us-east-1.rds.amazonaws.com",
            Some("111122223333"),
            PIPELINE,
            false,
        );
        assert!(own.is_empty(), "{own:?}");
        let granted = p.violations(3306, "db.corp.example", None, PIPELINE, false);
        assert!(granted.is_empty(), "{granted:?}");
        let foreign = p.violations(
            5432,
            "a.c9akciq32abc.us-east-1.rds.amazonaws.com",
            Some("999988887777"),
            PIPELINE,
            false,
        );
        assert_eq!(foreign.len(), 1, "{foreign:?}");
        let unknown = p.violations(22, "bastion.internal", None, PIPELINE, false);
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        // A stated account is no evidence for a name that is not an RDS endpoint.
        let stated = p.violations(
            5432,
            "bastion.internal",
            Some("111122223333"),
            PIPELINE,
            false,
        );
        assert_eq!(stated.len(), 1, "{stated:?}");
        let admin = p.violations(22, "bastion.internal", None, PIPELINE, true);
        assert_eq!(admin.len(), 1, "only the port binds an admin: {admin:?}");
        let seed = p.violations(5432, "bastion.internal", None, "terraform", false);
        assert!(
            seed.is_empty(),
            "seeds and plr are trusted creators: {seed:?}"
        );
    }
}
