//! Errors as `plr` shows them: one line in the operator's terms with the fix, warnings (exit
//! 3) and declined confirmations (exit 1, no `error:`).

use privatelink_router::config::ConfigError;
use privatelink_router::domain::plan::LookupFailure;
use privatelink_router::domain::route::Route;
use privatelink_router::flows::service::ServiceError;
use serde_json::Value;

/// A requested change that was made only in part (e.g. a route created but its name does not
/// resolve): printed as `warning: …`, exit code 3 (1 is an error, 2 a usage error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Warning(pub(crate) String);

/// The warning for a route whose latest lookup failed: it has no target from it.
pub(crate) fn dns_warning(route: &Route) -> Option<String> {
    let stored = route.resolutions.first()?.error.as_ref()?;
    // Stored as the failure's serde name (`nx_domain`): shown in words.
    let error = serde_json::from_value::<LookupFailure>(Value::String(stored.clone()))
        .map_or_else(|_| stored.clone(), |f| f.to_string());
    Some(format!(
        "{} did not resolve: {error}; route {} has no new target and follows the name once it resolves (`plr routes sync {}`)",
        route.spec.host,
        route.id(),
        route.id()
    ))
}

/// A confirmation answered no: printed as is (no `error:`), exit code 1 — as `terraform
/// destroy` or `gcloud` do — so a script never reads a declined change as done.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Declined(pub(crate) String);

/// An error message already in the operator's terms, with the fix: printed alone (its causes
/// only with `--verbose`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Hint(pub(crate) String);

/// The one line shown for an error: a [`Hint`] as is; a missing table named with its fix;
/// otherwise the outermost message only. `verbose` adds every cause.
pub(crate) fn one_line(
    e: &anyhow::Error,
    table: Option<&str>,
    endpoint: Option<&str>,
    region: Option<&str>,
    verbose: bool,
) -> String {
    let text = e
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let head = if let Some(h) = e.chain().find_map(|c| c.downcast_ref::<Hint>()) {
        h.0.clone()
    } else if text.contains("ResourceNotFoundException") {
        format!(
            "the route table {} does not exist in {}: check --table/ROUTER_TABLE (the Terraform module's output table_name) and --region/AWS_REGION",
            table.unwrap_or("(ROUTER_TABLE unset)"),
            region.unwrap_or("this region")
        )
    } else if let Some(id) = e
        .chain()
        .find_map(|c| match c.downcast_ref::<ServiceError>() {
            Some(ServiceError::NotFound(id)) => Some(id.clone()),
            _ => None,
        })
    {
        format!("route {id} not found: `plr routes list` shows the routes you may see")
    } else if let Some(var @ ("ROUTER_TABLE" | "ROUTER_FLEET")) = e
        .chain()
        .find_map(|c| c.downcast_ref::<ConfigError>())
        .map(|c| c.var)
    {
        let (flag, output) = match var {
            "ROUTER_TABLE" => ("--table", "table_name"),
            _ => ("--fleet", "fleet"),
        };
        format!("{e}; set {flag} or {var} (the Terraform module's output {output})")
    } else if text.contains("failed to apply endpoint") {
        format!(
            "{} is not a valid endpoint URL (scheme://host[:port]); check --endpoint-url/AWS_ENDPOINT_URL",
            endpoint.unwrap_or("the AWS endpoint")
        )
    } else if text.contains("request has timed out") {
        format!(
            "AWS did not answer in time at {}: check --endpoint-url/AWS_ENDPOINT_URL, AWS_REGION and the network (-v for detail)",
            endpoint.unwrap_or("its regional endpoint")
        )
    } else if text.contains("unhandled error") && endpoint.is_some() {
        format!(
            "{} does not answer as AWS does (no AWS error in its reply): check --endpoint-url/AWS_ENDPOINT_URL (-v for detail)",
            endpoint.unwrap_or_default()
        )
    } else if text.contains("dispatch failure") {
        // The SDK never reached AWS: say where it tried and why, not the connector's dump.
        let why = [
            ("Connection refused", "connection refused"),
            ("dns error", "the host name does not resolve"),
            ("timed out", "timed out"),
            ("invalid URL", "not a valid URL"),
            ("InvalidUri", "not a valid URL"),
        ]
        .iter()
        .find(|(k, _)| text.contains(k))
        .map_or("unreachable", |(_, w)| w);
        format!(
            "cannot reach AWS at {}: {why}; check --endpoint-url/AWS_ENDPOINT_URL, AWS_REGION and the network (-v for detail)",
            endpoint.unwrap_or("its regional endpoint")
        )
    } else {
        e.to_string()
    };
    let head = head.replace('\n', " ");
    if !verbose {
        return head;
    }
    let head = head.replace(" (-v for detail)", "");
    // Each cause once (an outer message often ends with its cause's), at most 300 characters
    // (the SDK's own messages may carry a whole request).
    let mut causes: Vec<String> = Vec::new();
    for cause in e.chain().map(|c| c.to_string().replace('\n', " ")) {
        let repeated = head.ends_with(cause.as_str())
            || head.starts_with(cause.as_str())
            || causes
                .last()
                .is_some_and(|last| last.ends_with(cause.as_str()));
        if !repeated {
            causes.push(cause);
        }
    }
    let causes: Vec<String> = causes
        .into_iter()
        .map(|c| match c.char_indices().nth(300) {
            Some((cut, _)) => format!("{}…", &c[..cut]),
            None => c,
        })
        .collect();
    if causes.is_empty() {
        head
    } else {
        format!("{head}\n  caused by: {}", causes.join("\n  caused by: "))
    }
}
