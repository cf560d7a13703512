//! `plr catalog`: how consumers reach each route, and each rule's domain names.

use std::collections::BTreeMap;

use privatelink_router::context::Context;
use privatelink_router::flows::service::{self, Caller};
use serde_json::json;

use crate::output::{all_pages, print};
use crate::Output;

/// Runs `catalog`.
pub(crate) async fn run(
    ctx: &Context,
    caller: &Caller,
    output: Output,
    owner: &Option<String>,
) -> anyhow::Result<()> {
    let (ctx, caller) = (ctx, caller);
    let pages = all_pages(owner, |filter| async move {
        let page = service::catalog(ctx, caller, &filter).await?;
        let next = page.next.clone();
        Ok((page, next))
    })
    .await?;
    let (mut routes, mut rules) = (Vec::new(), BTreeMap::new());
    for page in pages {
        routes.extend(page.routes);
        for rule in page.rules {
            rules.insert(rule.router.clone(), rule);
        }
    }
    let rules: Vec<_> = rules.into_values().collect();
    let v = json!({"routes": routes, "rules": rules});
    let rows = routes.iter().map(catalog_row).collect();
    print(
        output,
        &v,
        &[
            "route",
            "consumer address",
            "engine",
            "connection",
            "health",
        ],
        rows,
    );
    if output == Output::Table {
        for rule in &rules {
            println!(
                "\n# router {} (endpoint service {}): its private endpoint rule's domain names, {} more fit\ndomain_names = {}",
                rule.router,
                rule.endpoint_service_name,
                rule.room,
                serde_json::to_string(&rule.domain_names)?
            );
        }
    }
    Ok(())
}

/// A catalog entry's table row: the consumer address and one connection string (JDBC), or
/// what is missing.
fn catalog_row(e: &service::CatalogEntry) -> Vec<String> {
    let address = e
        .consumer
        .as_ref()
        .map_or("-".to_owned(), |a| format!("{}:{}", a.host, a.port));
    let connection = match (&e.urls, e.notes.first()) {
        (Some(urls), _) => urls.jdbc.clone(),
        (None, Some(note)) => note.clone(),
        (None, None) => "-".to_owned(),
    };
    let tag = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    vec![
        e.route.to_string(),
        address,
        tag(e
            .engine
            .map(|x| privatelink_router::domain::log_fields::tag(&x))),
        connection,
        tag(e
            .health
            .map(|x| privatelink_router::domain::log_fields::tag(&x))),
    ]
}
