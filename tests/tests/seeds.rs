//! Terraform's `target_endpoints` arrive as seed items; the audit turns them into routes with
//! allocator ports through the API's create path, and consumes them.

use aws_sdk_dynamodb::types::AttributeValue;
use dns_audit::handler;
use privatelink_router::adapters::aws::store::seed_records::SEEDS_PK;
use rds_events::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use router_tests::fixtures::Bed;
use serde_json::json;

/// Writes a seed exactly as infra/modules/privatelink-router/table.tf does, with the seed's
/// listener port (`base_port + index`).
async fn put_seed(bed: &Bed, name: &str, host: &str, port: u16, listener_port: u16) {
    let ddb = aws_sdk_dynamodb::Client::new(&bed.sdk);
    let n = |v: u32| AttributeValue::N(v.to_string());
    ddb.put_item()
        .item("listener_port", n(listener_port.into()))
        .table_name(&bed.ctx.config.table)
        .item("pk", AttributeValue::S(SEEDS_PK.into()))
        .item("sk", AttributeValue::S(name.into()))
        .item("name", AttributeValue::S(name.into()))
        .item("host", AttributeValue::S(host.into()))
        .item("port", n(port.into()))
        .item(
            "health_check",
            AttributeValue::M(
                [
                    ("interval_seconds".to_owned(), n(10)),
                    ("timeout_seconds".to_owned(), n(5)),
                    ("healthy_threshold".to_owned(), n(3)),
                    ("unhealthy_threshold".to_owned(), n(3)),
                ]
                .into(),
            ),
        )
        .item(
            "tags",
            AttributeValue::M([("team".to_owned(), AttributeValue::S("data".into()))].into()),
        )
        .item("owner", AttributeValue::S("terraform".into()))
        .item("seeded_by", AttributeValue::S("terraform".into()))
        .send()
        .await
        .unwrap();
}

async fn seeds_left(bed: &Bed) -> usize {
    let ddb = aws_sdk_dynamodb::Client::new(&bed.sdk);
    let out = ddb
        .query()
        .table_name(&bed.ctx.config.table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", AttributeValue::S(SEEDS_PK.into()))
        .send()
        .await
        .unwrap();
    out.items.unwrap_or_default().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_turns_terraform_seeds_into_routes_on_the_seeds_ports_and_consumes_them() {
    let bed = Bed::start("seeds").await;
    bed.set_ip("alpha.db.test", [10, 3, 0, 1]);
    bed.set_ip("beta.db.test", [10, 3, 0, 2]);
    put_seed(&bed, "alpha", "alpha.db.test", 5432, 10000).await;
    put_seed(&bed, "beta", "beta.db.test", 3306, 10001).await;

    let report = handler(
        &bed.ctx,
        LambdaEvent::new(json!({}), LambdaContext::default()),
    )
    .await
    .unwrap();
    assert_eq!(report["seeds"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(seeds_left(&bed).await, 0);
    let alpha = bed.route("alpha").await;
    let beta = bed.route("beta").await;
    // The seed's ports: base_port + index, pinned.
    assert_eq!((alpha.listener_port, beta.listener_port), (10000, 10001));
    assert_eq!(alpha.owner, "terraform");
    assert_eq!(bed.targets(&alpha).await, vec!["10.3.0.1:5432"]);
    assert_eq!(bed.targets(&beta).await, vec!["10.3.0.2:3306"]);

    // Terraform writing the same seed again (a later apply) changes nothing.
    put_seed(&bed, "alpha", "alpha.db.test", 5432, 10000).await;
    let report = handler(
        &bed.ctx,
        LambdaEvent::new(json!({}), LambdaContext::default()),
    )
    .await
    .unwrap();
    assert_eq!(report["seeds"][0]["outcome"], "existing", "{report}");
    assert_eq!(bed.route("alpha").await.listener_port, alpha.listener_port);
    assert_eq!(seeds_left(&bed).await, 0);
}
