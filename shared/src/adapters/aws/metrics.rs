//! CloudWatch Embedded Metric Format (EMF): one JSON line on stdout per call, which Lambda's
//! log pipeline turns into metrics without any API call.
//!
//! Format: "Specification: Embedded metric format" in the CloudWatch user guide — a `_aws`
//! object naming the namespace, the dimension keys and the metric names, and the values as
//! top-level members of the same object.

use std::io::Write;
use std::sync::Mutex;

use serde_json::{json, Map, Value};

/// The CloudWatch unit of a metric (EMF `Unit`; CloudWatch's `StandardUnit` names), so graphs
/// and alarms read "Milliseconds" instead of a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Things counted: routes, events, repairs, calls.
    Count,
    /// Elapsed time in milliseconds.
    Milliseconds,
}

impl Unit {
    /// The name CloudWatch expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One metric value: name, value, unit.
pub type Metric<'a> = (&'a str, f64, Unit);

/// A count metric.
pub fn count(name: &str, value: u64) -> Metric<'_> {
    (name, value as f64, Unit::Count)
}

/// A duration metric in milliseconds.
pub fn millis(name: &str, ms: u64) -> Metric<'_> {
    (name, ms as f64, Unit::Milliseconds)
}

/// Renders one EMF record: every metric in `metrics` under `namespace`, with `dimensions`
/// (name, value) as the record's single dimension set, and `properties` as further members
/// (EMF keeps them as log fields, nested objects included, queryable in Logs Insights).
pub fn render(
    namespace: &str,
    metrics: &[Metric<'_>],
    dimensions: &[(&str, &str)],
    properties: Map<String, Value>,
) -> String {
    let mut root = properties;
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    for (name, value, _) in metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    let names: Vec<Value> = metrics
        .iter()
        .map(|(name, _, unit)| json!({ "Name": name, "Unit": unit.as_str() }))
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
pub fn emit(namespace: &str, metrics: &[Metric<'_>], dimensions: &[(&str, &str)]) {
    emit_with(namespace, metrics, dimensions, Map::new());
}

/// Prints one EMF record with further log `properties` (see [`render`]).
pub fn emit_with(
    namespace: &str,
    metrics: &[Metric<'_>],
    dimensions: &[(&str, &str)],
    properties: Map<String, Value>,
) {
    if metrics.is_empty() {
        return;
    }
    let line = render(namespace, metrics, dimensions, properties);
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
            &[
                count("RdsEventMalformed", 1),
                millis("RdsEventHandlingMs", 2),
            ],
            &[("Function", "rds-events")],
            Map::from_iter([("aws_calls".to_owned(), json!({ "DescribeTargetHealth": 2 }))]),
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(!line.contains('\n'));
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "PrivateLinkRouter");
        assert_eq!(cw["Dimensions"], json!([["Function"]]));
        assert_eq!(
            cw["Metrics"],
            json!([
                {"Name": "RdsEventMalformed", "Unit": "Count"},
                {"Name": "RdsEventHandlingMs", "Unit": "Milliseconds"}
            ])
        );
        assert_eq!(v["Function"], "rds-events");
        assert_eq!(v["RdsEventMalformed"], 1.0);
        assert_eq!(v["RdsEventHandlingMs"], 2.0);
        assert_eq!(v["aws_calls"]["DescribeTargetHealth"], 2);
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    }

    #[test]
    fn record_without_dimensions_has_one_empty_dimension_set() {
        let v: Value =
            serde_json::from_str(&render("N", &[count("M", 1)], &[], Map::new())).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }
}
