//! Reading an RDS event from EventBridge: the envelope and `detail` as RDS sends them, the
//! database names it concerns (`SourceIdentifier`; for Blue/Green events the names in
//! `Message` and `resources`), and whether its account is heard.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Config;
use crate::domain::rds_events::{classify, source_type_of, Action};

/// Why an event could not be read; it is dropped, since no retry can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed RDS event: {0}")]
pub struct Malformed(pub String);

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    account: String,
    time: DateTime<Utc>,
    region: String,
    #[serde(default)]
    resources: Vec<String>,
    detail: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Detail {
    #[serde(rename = "EventID")]
    event_id: String,
    source_identifier: String,
    #[serde(default)]
    source_type: Option<String>,
    #[serde(default)]
    source_arn: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    event_categories: Vec<String>,
}

/// An RDS event from EventBridge, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RdsEvent {
    /// EventBridge event id (UUID).
    pub id: String,
    /// EventBridge detail-type, one of [`DETAIL_TYPES`](crate::domain::rds_events::DETAIL_TYPES) for events the router acts on.
    pub detail_type: String,
    /// Account the event comes from.
    pub account: String,
    /// Region of the event.
    pub region: String,
    /// When it happened: `detail.Date` (millisecond precision) or else the envelope `time`.
    pub time: DateTime<Utc>,
    /// ARNs of the resources concerned.
    pub resources: Vec<String>,
    /// RDS event ID, e.g. `RDS-EVENT-0049`.
    pub event_id: String,
    /// Instance, cluster, proxy or deployment identifier the event is about.
    pub source_identifier: String,
    /// `DB_INSTANCE`, `CLUSTER`, `DB_PROXY`, `BLUE_GREEN_DEPLOYMENT`…
    pub source_type: Option<String>,
    /// ARN of the source.
    pub source_arn: Option<String>,
    /// Human-readable message (carries the renamed names of Blue/Green events).
    pub message: String,
    /// Event categories (`failover`, `deletion`…).
    pub categories: Vec<String>,
}

impl RdsEvent {
    /// Reads an EventBridge RDS event, naming the missing or ill-typed field on failure.
    pub fn parse(raw: &Value) -> Result<Self, Malformed> {
        if !raw.is_object() {
            return Err(Malformed(format!(
                "expected a JSON object, got {}",
                kind(raw)
            )));
        }
        let env: Envelope =
            serde_json::from_value(raw.clone()).map_err(|e| Malformed(format!("envelope: {e}")))?;
        if env.source != "aws.rds" {
            return Err(Malformed(format!(
                "source is {:?}, not \"aws.rds\"",
                env.source
            )));
        }
        if !env.detail.is_object() {
            return Err(Malformed(format!(
                "detail: expected an object, got {}",
                kind(&env.detail)
            )));
        }
        let detail: Detail =
            serde_json::from_value(env.detail).map_err(|e| Malformed(format!("detail: {e}")))?;
        let well_formed_id = detail
            .event_id
            .strip_prefix("RDS-EVENT-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed_id {
            return Err(Malformed(format!(
                "detail.EventID {:?} is not RDS-EVENT-<digits>",
                detail.event_id
            )));
        }
        let source_identifier = detail.source_identifier.trim().to_ascii_lowercase();
        if source_identifier.is_empty() {
            return Err(Malformed("detail.SourceIdentifier is empty".into()));
        }
        if env.account.is_empty() || !env.account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Malformed(format!(
                "account {:?} is not an AWS account id",
                env.account
            )));
        }
        let time = detail
            .date
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map_or(env.time, |d| d.with_timezone(&Utc));
        Ok(Self {
            id: env.id,
            detail_type: env.detail_type,
            account: env.account,
            region: env.region,
            time,
            resources: env.resources,
            event_id: detail.event_id,
            source_identifier,
            source_type: detail.source_type,
            source_arn: detail.source_arn,
            message: detail.message.unwrap_or_default(),
            categories: detail.event_categories,
        })
    }

    /// The action for this event: the table's ([`classify`]), or [`Action::Ignore`] for
    /// detail-types the router does not subscribe to.
    pub fn action(&self) -> Action {
        match source_type_of(&self.detail_type) {
            Some(source) => classify(&self.event_id, source),
            None => Action::Ignore,
        }
    }

    /// True for Blue/Green deployment events, whose databases are named in the message.
    pub fn is_blue_green(&self) -> bool {
        source_type_of(&self.detail_type) == Some("blue-green-deployment")
    }

    /// RDS identifiers (lowercase) whose routes the event concerns.
    ///
    /// Blue/Green events are about a deployment (`bgd-…`), so their databases are taken from the
    /// message ("Switchover from … X to Y completed. Renamed X to X-old and Y to X.") and from
    /// `db:`/`cluster:` ARNs in `resources`. Every other event names its source identifier.
    pub fn identifiers(&self) -> BTreeSet<String> {
        if self.is_blue_green() {
            let mut names = names_in_message(&self.message);
            names.extend(self.resources.iter().filter_map(|arn| database_in_arn(arn)));
            names
        } else {
            let mut names = BTreeSet::from([self.source_identifier.clone()]);
            if let Some((from, to)) = self.cluster_renamed() {
                names.extend([from, to]);
            }
            names
        }
    }

    /// For RDS-EVENT-0172 ("Renamed cluster from `old` to `new`", Aurora user guide, "Amazon
    /// RDS event categories and event messages for Aurora"), the old and the new identifier
    /// (lowercase): the routes of the old name must hear it, whichever the event's
    /// `SourceIdentifier` names. `None` for any other event or a message of another shape.
    pub fn cluster_renamed(&self) -> Option<(String, String)> {
        if !self.event_id.eq_ignore_ascii_case("RDS-EVENT-0172") {
            return None;
        }
        let at = after_ci(&self.message, "renamed cluster from ")?;
        let words: Vec<&str> = self.message.get(at..)?.split_whitespace().take(3).collect();
        match words.as_slice() {
            [from, to, into] if to.eq_ignore_ascii_case("to") => {
                Some((identifier_token(from)?, identifier_token(into)?))
            }
            _ => None,
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// RDS identifier rules: 1-63 letters, digits or hyphens, starting with a letter, no trailing
/// hyphen and no two consecutive hyphens (CreateDBInstance / CreateDBCluster reference).
fn is_rds_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// The database name in an `arn:aws:rds:<region>:<account>:db:<name>` (or `cluster:`) ARN.
fn database_in_arn(arn: &str) -> Option<String> {
    let arn: scratchstack_arn::Arn = arn.parse().ok()?;
    match arn.resource().split_once(':') {
        Some(("db" | "cluster", name)) if arn.service() == "rds" && is_rds_identifier(name) => {
            Some(name.to_ascii_lowercase())
        }
        _ => None,
    }
}

/// One message token as an identifier: punctuation trimmed, ARNs reduced to their name.
fn identifier_token(token: &str) -> Option<String> {
    let t = token.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'));
    if t.starts_with("arn:") {
        return database_in_arn(t);
    }
    let t = t.trim_matches(':');
    is_rds_identifier(t).then(|| t.to_ascii_lowercase())
}

/// Byte offset just after `pattern` in `text`, ignoring ASCII case.
fn after_ci(text: &str, pattern: &str) -> Option<usize> {
    text.to_ascii_lowercase()
        .find(&pattern.to_ascii_lowercase())
        .map(|at| at + pattern.len())
}

/// Database names in a Blue/Green message: the "Switchover from [kind] X to Y" pair and every
/// "Renamed A to B and C to D" pair (USER_Events.Messages, RDS-EVENT-0250..0252, 0259..0261).
pub(super) fn names_in_message(message: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(at) = after_ci(message, "switchover from ") {
        let mut rest = &message[at..];
        for kind in [
            "primary/read replica ",
            "db cluster ",
            "db instance ",
            "cluster ",
            "instance ",
        ] {
            // `get`: the message is free text, and a byte index may fall inside a character.
            if rest
                .get(..kind.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(kind))
            {
                rest = &rest[kind.len()..];
                break;
            }
        }
        let words: Vec<&str> = rest.split_whitespace().take(3).collect();
        if let [from, to, into] = words.as_slice() {
            if to.eq_ignore_ascii_case("to") {
                names.extend(identifier_token(from));
                names.extend(identifier_token(into));
            }
        }
    }
    if let Some(at) = after_ci(message, "renamed ") {
        for pair in message[at..].split(" and ") {
            if let Some((from, into)) = pair.split_once(" to ") {
                let (from, into) = (from.trim(), into.trim());
                if !from.contains(char::is_whitespace) {
                    names.extend(identifier_token(from));
                }
                if let Some(first) = into.split_whitespace().next() {
                    names.extend(identifier_token(first));
                }
            }
        }
    }
    names
}

/// The account in an ARN (`arn:partition:service:region:account:resource`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Whether events from `account` are heard: the router's own account and the accounts of the
/// fleet's NLBs always; others when listed in `event_accounts` (`ROUTER_EVENT_ACCOUNTS`).
pub fn account_allowed(config: &Config, account: &str) -> bool {
    config.event_accounts.contains(account)
        || config
            .fleet
            .iter()
            .any(|r| arn_account(&r.nlb_arn) == Some(account))
}
