//! Input rules for route fields, shared by the API, the CLI, seeds and adoption: each failure is
//! a [`ValidationError`] that names the field and the rule in the user's terms.

use std::collections::BTreeMap;

/// Why a route field was rejected; each variant names the field and the rule in user terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The route name is not a lowercase DNS-label-like slug.
    #[error("route name {0:?} must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'")]
    RouteName(String),
    /// The host name breaks RFC 1123 or the configured policy.
    #[error("host {host:?} is not valid: {reason}")]
    Host {
        /// The rejected input.
        host: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A port outside 1-65535.
    #[error("{field} must be between 1 and 65535, got {value}")]
    Port {
        /// Which port field.
        field: &'static str,
        /// The rejected value.
        value: i64,
    },
    /// A protocol other than TCP.
    #[error("protocol {0:?} is not supported: only TCP")]
    Protocol(String),
    /// A health check value outside NLB's allowed range.
    #[error("health_check.{field} must be between {min} and {max}, got {value}")]
    HealthCheck {
        /// Which health check field.
        field: &'static str,
        /// Lowest allowed value.
        min: u32,
        /// Highest allowed value.
        max: u32,
        /// The rejected value.
        value: u32,
    },
    /// A listener idle timeout outside the NLB's range.
    #[error("idle_timeout_seconds must be between {min} and {max} (the NLB's TCP idle timeout range), got {value}")]
    IdleTimeout {
        /// Lowest allowed value.
        min: u32,
        /// Highest allowed value.
        max: u32,
        /// The rejected value.
        value: i64,
    },
    /// An account id that is not 12 digits, or an `rds_arn` that is not an RDS ARN.
    #[error("{field} {value:?} is not valid: {reason}")]
    Account {
        /// `account_id` or `rds_arn`.
        field: &'static str,
        /// The rejected input.
        value: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A tag key or value breaks the ELB tag rules.
    #[error("tag {0:?} is not valid: keys 1-128 and values 0-256 characters of letters, digits, spaces and _.:/=+-@, no 'aws:' or 'privatelink-router:' key prefix, at most 40 tags")]
    Tag(String),
}

/// Checks route tags against the ELB tagging rules (ELBv2 API reference, `Tag`: key 1-128,
/// value 0-256, pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`, `aws:` reserved), keeps the
/// router's own `privatelink-router:` keys for the router, and caps user tags at 40, leaving
/// room for the router's tags under ELB's 50 per resource.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if tags.len() > 40 {
        return Err(ValidationError::Tag(format!("{} tags", tags.len())));
    }
    for (k, v) in tags {
        let lower = k.to_ascii_lowercase();
        if k.is_empty()
            || k.chars().count() > 128
            || v.chars().count() > 256
            || lower.starts_with("aws:")
            || lower.starts_with("privatelink-router:")
            || !k.chars().chain(v.chars()).all(tag_char)
        {
            return Err(ValidationError::Tag(k.chars().take(128).collect()));
        }
    }
    Ok(())
}

/// A character ELB accepts in tag keys and values: letters, numbers, spaces and `_.:/=+-@`.
/// (`is_alphanumeric` approximates `\p{L}\p{N}`; control characters are refused.)
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || "_.:/=+-@".contains(c) || (c.is_whitespace() && !c.is_control())
}

/// Validates an AWS account id: exactly 12 digits.
pub fn validate_account(field: &'static str, value: &str) -> Result<String, ValidationError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ValidationError::Account {
            field,
            value: value.chars().take(64).collect(),
            reason: "an AWS account id is 12 digits".into(),
        })
    }
}

/// An RDS resource ARN: `arn:<partition>:rds:<region>:<account>:<db|cluster|db-proxy|
/// cluster-endpoint>:<name>` (RDS user guide, "Amazon Resource Names (ARNs) in Amazon RDS").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsArn {
    /// Region.
    pub region: String,
    /// Account (12 digits).
    pub account: String,
    /// Resource type: `db`, `cluster`, `db-proxy` or `cluster-endpoint`.
    pub kind: String,
    /// Identifier (lowercase).
    pub identifier: String,
}

/// Parses an RDS resource ARN ([`RdsArn`]).
pub fn parse_rds_arn(arn: &str) -> Result<RdsArn, ValidationError> {
    let bad = |reason: &str| ValidationError::Account {
        field: "rds_arn",
        value: arn.chars().take(128).collect(),
        reason: reason.into(),
    };
    let expected =
        "expected arn:aws:rds:<region>:<account>:<db|cluster|db-proxy|cluster-endpoint>:<name>";
    // Syntax by `scratchstack-arn`; an account that is not 12 digits fails there too.
    let parsed: scratchstack_arn::Arn = match arn.parse() {
        Ok(parsed) => parsed,
        Err(scratchstack_arn::ArnError::InvalidAccountId(_)) => {
            return Err(bad("the account in the ARN is not 12 digits"))
        }
        Err(_) => return Err(bad(expected)),
    };
    let (region, account) = (parsed.region(), parsed.account_id());
    let Some((kind, name)) = parsed.resource().split_once(':') else {
        return Err(bad(expected));
    };
    if parsed.service() != "rds"
        || !["db", "cluster", "db-proxy", "cluster-endpoint"].contains(&kind)
        || name.is_empty()
        || region.is_empty()
    {
        return Err(bad(expected));
    }
    Ok(RdsArn {
        region: region.to_ascii_lowercase(),
        account: validate_account("rds_arn", account)
            .map_err(|_| bad("the account in the ARN is not 12 digits"))?,
        kind: kind.to_owned(),
        identifier: name.to_ascii_lowercase(),
    })
}

/// Validates a port number from user input (1-65535).
pub fn validate_port(field: &'static str, value: i64) -> Result<u16, ValidationError> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or(ValidationError::Port { field, value })
}
