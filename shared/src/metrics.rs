//! CloudWatch Embedded Metric Format (EMF): one JSON line on stdout per call, which Lambda's
//! log pipeline turns into metrics without any API call.
//!
//! Format: "Specification: Embedded metric format" in the CloudWatch user guide — a `_aws`
//! object naming the namespace, the dimension keys and the metric names, and the values as
//! top-level members of the same object.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

/// Renders one EMF record: every metric in `metrics` under `namespace`, with `dimensions`
/// (name, value) as the record's single dimension set.
pub fn render(namespace: &str, metrics: &[(&str, f64)], dimensions: &[(&str, &str)]) -> String {
    let mut root = Map::new();
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    for (name, value) in metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    let names: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| json!({ "Name": name }))
        .collect();
    let dimension_keys: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": chrono::Utc::now().timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dimension_keys],
                "Metrics": names,
            }],
        }),
    );
    Value::Object(root).to_string()
}

/// Where EMF records go instead of stdout, when set (the local demo sends them to its log).
static SINK: Mutex<Option<Box<dyn Write + Send>>> = Mutex::new(None);

/// Sends EMF records to `writer` instead of stdout (stdout is what Lambda needs).
pub fn redirect(writer: Box<dyn Write + Send>) {
    if let Ok(mut sink) = SINK.lock() {
        *sink = Some(writer);
    }
}

/// Prints one EMF record to stdout (see [`render`]); nothing is printed for no metrics.
pub fn emit(namespace: &str, metrics: &[(&str, f64)], dimensions: &[(&str, &str)]) {
    if metrics.is_empty() {
        return;
    }
    let line = render(namespace, metrics, dimensions);
    match SINK.lock().as_deref_mut() {
        Ok(Some(w)) => {
            let _ = writeln!(w, "{line}");
        }
        _ => println!("{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_namespace_dimensions_and_values() {
        let line = render(
            "PrivateLinkRouter",
            &[("RdsEventMalformed", 1.0), ("RoutesReconciled", 2.0)],
            &[("Function", "rds-events")],
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'));
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "PrivateLinkRouter");
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(
            cw["Metrics"],
            json!([{"Name": "RdsEventMalformed"}, {"Name": "RoutesReconciled"}])
        );
        assert_eq!(v["Function"], "rds-events");
        assert_eq!(v["RdsEventMalformed"], 1.0);
        assert_eq!(v["RoutesReconciled"], 2.0);
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    }

    #[test]
    fn record_without_dimensions_has_one_empty_dimension_set() {
        let v: Value = serde_json::from_str(&render("N", &[("M", 1.0)], &[])).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }
}
