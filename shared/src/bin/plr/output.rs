//! How `plr` prints: JSON as the API answers, or tables that fit the terminal; the prompt
//! before a removal; paging through listings.

use comfy_table::{presets::UTF8_BORDERS_ONLY, ContentArrangement, Table};
use privatelink_router::flows::service::{ListFilter, ServiceError};
use serde_json::Value;

use crate::errors::Hint;
use crate::Output;

/// Prints `value` as JSON, or `rows` under `headers` as a table ([`render`]).
pub(crate) fn print(output: Output, value: &Value, headers: &[&str], rows: Vec<Vec<String>>) {
    if output == Output::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    println!("{}", render(headers, rows, terminal_width()));
}

/// The width to fit: COLUMNS when set (shells export it, and pipes need it), else the
/// terminal's; none when neither is known (a pipe: print whole lines). A width of 0 (a
/// pseudo-terminal without a size, or COLUMNS=0) would fit nothing: 100 then.
pub(crate) fn terminal_width() -> Option<u16> {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .or_else(|| Table::new().width());
    width.map(|w| if w < 20 { 100 } else { w })
}

/// Rows as a table when it fits `width`, else as one block of `header  value` lines per
/// row (psql's expanded display): a host or endpoint service name is never broken across
/// lines, so it can be read and copied whole. A key/value table (two columns) that does not
/// fit wraps its values instead.
pub(crate) fn render(headers: &[&str], rows: Vec<Vec<String>>, width: Option<u16>) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.to_vec());
    for r in &rows {
        t.add_row(r.clone());
    }
    let table = t.to_string();
    let widest = table.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    if width.is_none_or(|w| widest <= usize::from(w)) {
        return table;
    }
    if let (2, Some(w)) = (headers.len(), width) {
        // A key/value table is already one value per line: wrap the values (at spaces).
        t.set_content_arrangement(ContentArrangement::Dynamic)
            .set_width(w);
        return t.to_string();
    }
    let key_width = headers.iter().map(|h| h.chars().count()).max().unwrap_or(0);
    let mut out = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        out.push(format!("-[ RECORD {} ]-", i + 1));
        for (header, value) in headers.iter().zip(row) {
            out.push(format!("{header:<key_width$}  {value}"));
        }
    }
    out.join("\n")
}

/// Asks `question` on the terminal; true for `y`/`yes`. Without a terminal, refuses with the
/// fix (`--yes`) rather than guess: `{undone}: there is no terminal to ask for confirmation
/// on; pass --yes to confirm`.
pub(crate) fn confirm(question: &str, undone: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(Hint(format!(
            "{undone}: there is no terminal to ask for confirmation on; pass --yes to confirm"
        )));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// A route's table row: what a database owner and a Databricks admin need (the endpoint
/// service and listener port are the consumer's address).
pub(crate) fn route_row(v: &Value) -> Vec<String> {
    vec![
        cell(&v["id"]),
        cell(&v["host"]),
        cell(&v["port"]),
        cell(&v["connection"]["endpoint_service_name"]),
        cell(&v["listener_port"]),
        match v["policy_violations"].as_array().map_or(0, Vec::len) {
            0 => cell(&v["status"]),
            // Marked for an operator: the route is outside the exposure policy now.
            _ => format!("{} (outside policy)", cell(&v["status"])),
        },
    ]
}

pub(crate) const ROUTE_HEADERS: [&str; 6] = [
    "route",
    "host",
    "db port",
    "endpoint service",
    "listener port",
    "status",
];

/// Every page of a listing of `owner`'s routes (all routes when `None`), 100 at a time:
/// `page` answers one page and the id to continue after.
pub(crate) async fn all_pages<P, F, Fut>(
    owner: &Option<String>,
    mut page: F,
) -> anyhow::Result<Vec<P>>
where
    F: FnMut(ListFilter) -> Fut,
    Fut: std::future::Future<Output = Result<(P, Option<String>), ServiceError>>,
{
    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let filter = ListFilter {
            owner: owner.clone(),
            tag: None,
            limit: 100,
            next,
        };
        let (one, n) = page(filter).await?;
        pages.push(one);
        match n {
            Some(n) => next = Some(n),
            None => return Ok(pages),
        }
    }
}

/// A JSON value as a table cell: strings bare, null as `-`.
pub(crate) fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_outside_the_policy_is_marked_in_the_list() {
        let inside = serde_json::json!({"id": "a", "status": "active"});
        assert_eq!(route_row(&inside)[5], "active");
        let outside = serde_json::json!({"id": "b", "status": "active",
            "policy_violations": ["port 1433 is not a database port"]});
        assert_eq!(route_row(&outside)[5], "active (outside policy)");
    }

    fn rows() -> Vec<Vec<String>> {
        let row = |id: &str, host: &str| {
            [
                id,
                host,
                "5432",
                "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                "10000",
                "active",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        vec![
            row(
                "orders",
                "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
            ),
            row("billing", "billing.db.test"),
        ]
    }

    /// Issue #17: at 80 columns a table of RDS hosts used to wrap them mid-name
    /// (`orders.cluste` / `r-c9akciq32ab` / …); now each row is a block of whole values.
    #[test]
    fn a_table_too_wide_for_the_terminal_becomes_records_with_whole_values() {
        let out = render(&ROUTE_HEADERS, rows(), Some(80));
        assert!(out.starts_with("-[ RECORD 1 ]-"), "{out}");
        for value in rows().concat() {
            assert!(
                out.lines().any(|l| l.ends_with(&format!("  {value}"))),
                "{value} is not whole on one line:\n{out}"
            );
        }
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
    }

    /// The newcomer trial: `plr audit` at 80 columns became 20 one-line records; a key/value
    /// table wraps its values instead.
    #[test]
    fn a_key_value_table_too_wide_wraps_its_values() {
        let calls = (1..=8)
            .map(|i| format!("DescribeTargetGroupAttributes{i}: {i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = vec![
            vec!["routes_seen".to_owned(), "3".to_owned()],
            vec!["aws_calls".to_owned(), calls],
        ];
        let out = render(&["audit", "value"], rows, Some(80));
        assert!(!out.contains("RECORD"), "{out}");
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(out.contains("routes_seen"), "{out}");
    }

    #[test]
    fn a_table_that_fits_or_goes_to_a_pipe_stays_a_table() {
        for width in [Some(200), None] {
            let out = render(&ROUTE_HEADERS, rows(), width);
            assert!(out.starts_with('┌'), "{out}");
            assert_eq!(out.lines().filter(|l| l.contains("vpce-svc")).count(), 2);
        }
    }
}
