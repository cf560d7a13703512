//! Values for structured log fields. A field holds what the API, the report and the table call
//! a thing (`kept_in_window`, `stale`, `us-east-1a`), never Rust's `Debug` text
//! (`Some("all")`, `KeptInWindow { … }`), so a CloudWatch Logs Insights query can match the
//! words a person reads elsewhere.

use serde::Serialize;
use serde_json::Value;

/// The serde name of a value: a unit variant's `snake_case` name, a tagged enum's `kind`, a
/// string as itself; anything else as compact JSON.
pub fn tag<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(map)) => match map.get("kind") {
            Some(Value::String(kind)) => kind.clone(),
            _ => Value::Object(map).to_string(),
        },
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// A list as one comma-separated field (`db-1,db-2`): identifiers, members, resources.
pub fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::plan::{Note, Reason};

    #[test]
    fn fields_carry_serde_names_not_debug_text() {
        assert_eq!(tag(&Reason::WrongPort), "wrong_port");
        let note = Note::KeptInWindow {
            ip: "10.0.0.1".parse().unwrap(),
            misses: 1,
        };
        assert_eq!(tag(&note), "kept_in_window");
        assert_eq!(tag("all"), "all");
        assert_eq!(list(["db-1", "db-2"]), "db-1,db-2");
    }
}
