//! Issue #18: the routers' Databricks private endpoint rules follow their routes, through the
//! real handlers, moto (the client secret in Secrets Manager) and a local Databricks account
//! API that follows the API reference (`router_tests::databricks`).

use privatelink_router::adapters::aws::clients::Clients;
use privatelink_router::config::Config;
use privatelink_router::context::Context;
use privatelink_router::domain::route::RouteStatus;
use privatelink_router::flows::service;
use router_tests::databricks::{Fault, Server};
use router_tests::fixtures::Bed;
use router_tests::handlers::{audit, post_route};
use serde_json::{json, Value};

const DOMAIN: &str = "db.corp.example";
/// The caller of the sample events (owner of the routes).
const OWNER_SESSION: &str = "arn:aws:sts::123456789012:assumed-role/pipeline/terraform-run-4711";

/// An RDS instance endpoint name (it need not resolve).
fn rds_host(name: &str) -> String {
    format!("{name}.c9akciq32abc.us-east-1.rds.amazonaws.com")
}

/// The bed's router with a consumer domain and the Databricks API of `server` configured
/// (its client secret in moto's Secrets Manager): the context every Lambda would build.
async fn context(bed: &Bed, server: &Server) -> Context {
    let clients = Clients::from_sdk_config(&bed.sdk);
    let secret = aws_sdk_secretsmanager::Client::new(&bed.sdk)
        .create_secret()
        .name(format!("databricks-{}", bed.router_id))
        .secret_string(&server.client_secret)
        .send()
        .await
        .expect("secret created");
    let mut env = bed.env.clone();
    let mut fleet: Value = serde_json::from_str(&env["ROUTER_FLEET"]).unwrap();
    fleet[0]["consumer_domain"] = DOMAIN.into();
    env.insert("ROUTER_FLEET".into(), fleet.to_string());
    for (k, v) in [
        ("ROUTER_DATABRICKS_HOST", server.host()),
        ("ROUTER_DATABRICKS_ACCOUNT_ID", server.account_id.clone()),
        ("ROUTER_DATABRICKS_NCC_ID", server.ncc_id.clone()),
        ("ROUTER_DATABRICKS_CLIENT_ID", server.client_id.clone()),
        (
            "ROUTER_DATABRICKS_CLIENT_SECRET_ARN",
            secret.arn().unwrap().to_owned(),
        ),
    ] {
        env.insert(k.into(), v);
    }
    let config = Config::from_lookup(&|k| env.get(k).cloned()).expect("valid config");
    Context::with_resolver(config, clients, bed.ctx.dns.clone())
        .await
        .expect("context")
}

fn endpoint_service(ctx: &Context) -> String {
    ctx.config.fleet[0].endpoint_service_name.clone()
}

async fn create_tls_route(ctx: &Context, name: &str) -> (u16, Value) {
    let body = json!({"name": name, "host": rds_host(name), "port": 5432, "engine": "postgres", "tls_name": true});
    post_route(ctx, &body, OWNER_SESSION).await
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// A route created with `tls_name` puts its host on its router's rule (read back from the
/// API), next to the consumer domain; removing the route takes the name away again. The
/// client secret never shows in the client's debug form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_named_route_puts_its_host_on_the_rule_and_takes_it_away_when_removed() {
    let bed = Bed::start("dbx-sync").await;
    let server = Server::start().await.unwrap();
    let ctx = context(&bed, &server).await;
    let rule = server.add_rule(&endpoint_service(&ctx), "ESTABLISHED", 3);
    bed.set_ip(&rds_host("orders"), [10, 0, 1, 90]);

    let (status, body) = create_tls_route(&ctx, "orders").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        sorted(server.domain_names(&rule)),
        sorted(vec![DOMAIN.into(), rds_host("orders")])
    );
    let patches: Vec<String> = server
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("PATCH"))
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(
        patches[0].ends_with(&format!(
            "/private-endpoint-rules/{rule}?update_mask=domain_names"
        )),
        "{patches:?}"
    );
    let debug = format!("{:?}", ctx.databricks);
    assert!(!debug.contains(&server.client_secret), "{debug}");

    // An audit with nothing to change writes nothing and finds the rule healthy.
    let report = audit(&ctx).await;
    let rules = &report["rules"]["rules"];
    assert_eq!(rules[0]["updated"], false, "{report:#}");
    assert_eq!(rules[0]["problem"], Value::Null, "{report:#}");
    assert_eq!(
        server
            .calls()
            .iter()
            .filter(|c| c.starts_with("PATCH"))
            .count(),
        1
    );

    service::delete(&ctx, &Bed::owner(), "orders")
        .await
        .unwrap();
    assert_eq!(server.domain_names(&rule), vec![DOMAIN.to_owned()]);
    println!("Databricks API calls:\n{}", server.calls().join("\n"));
}

/// Issue #28 case 7: the client secret was cached for the sandbox's life, so after a rotation
/// (new secret in Secrets Manager, the old one deleted in Databricks) every rule sync failed
/// until a cold start. A 401 from the token endpoint now reads the secret again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_client_secret_is_read_again_when_the_token_endpoint_refuses_the_old_one() {
    let bed = Bed::start("dbx-rotate").await;
    let server = Server::start().await.unwrap();
    let ctx = context(&bed, &server).await;
    let rule = server.add_rule(&endpoint_service(&ctx), "ESTABLISHED", 3);
    bed.set_ip(&rds_host("orders"), [10, 0, 1, 91]);
    bed.set_ip(&rds_host("billing"), [10, 0, 1, 92]);
    let (status, body) = create_tls_route(&ctx, "orders").await;
    assert_eq!(status, 201, "{body}");

    let rotated = "rotated-secret-77aa";
    let arn = ctx
        .config
        .databricks
        .as_ref()
        .unwrap()
        .client_secret_arn
        .clone();
    aws_sdk_secretsmanager::Client::new(&bed.sdk)
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(rotated)
        .send()
        .await
        .unwrap();
    server.rotate_secret(rotated);

    let (status, body) = create_tls_route(&ctx, "billing").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        sorted(server.domain_names(&rule)),
        sorted(vec![DOMAIN.into(), rds_host("billing"), rds_host("orders")]),
        "the rule was synced with the rotated secret: {:?}",
        server.calls()
    );
}

/// Bad answers — 401 (twice: a fresh token does not help), 404, 409, 429 with Retry-After,
/// 500, malformed JSON — leave the route as created and serving, and are reported; the next
/// audit with a well API puts the name on the rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_databricks_answers_leave_routes_untouched_are_reported_and_the_audit_repairs() {
    let bed = Bed::start("dbx-faults").await;
    let server = Server::start().await.unwrap();
    let ctx = context(&bed, &server).await;
    let rule = server.add_rule(&endpoint_service(&ctx), "ESTABLISHED", 3);
    let malformed = Fault {
        status: 200,
        body: "{\"items\": [".into(),
        retry_after: None,
    };
    let mut throttled = Fault::api(429, "REQUEST_LIMIT_EXCEEDED");
    throttled.retry_after = Some(7);
    let cases: Vec<(&str, Vec<Fault>, &str)> = vec![
        (
            "401",
            vec![
                Fault::api(401, "UNAUTHENTICATED"),
                Fault::api(401, "UNAUTHENTICATED"),
            ],
            "HTTP 401",
        ),
        (
            "404",
            vec![Fault::api(404, "RESOURCE_DOES_NOT_EXIST")],
            "HTTP 404",
        ),
        (
            "409",
            vec![Fault::api(409, "RESOURCE_CONFLICT")],
            "HTTP 409",
        ),
        ("429", vec![throttled], "HTTP 429"),
        ("500", vec![Fault::api(500, "INTERNAL_ERROR")], "HTTP 500"),
        ("malformed", vec![malformed], "not the documented JSON"),
    ];
    for (i, (case, faults, said)) in cases.into_iter().enumerate() {
        let name = format!("bad{i}");
        bed.set_ip(&rds_host(&name), [10, 0, 2, 10 + i as u8]);
        let before = server.domain_names(&rule);
        // The rule list is the first call of every sync: the faults hit it.
        server.fail_next_on("GET", faults.clone());
        let (status, body) = create_tls_route(&ctx, &name).await;
        assert_eq!(status, 201, "{case}: {body}");
        assert_eq!(server.faults_left(), 0, "{case}: the fault was not met");
        assert_eq!(
            server.domain_names(&rule),
            before,
            "{case}: the rule changed"
        );
        let route = bed.route(&name).await;
        assert_eq!(route.status, RouteStatus::Active, "{case}");
        assert!(!bed.targets(&route).await.is_empty(), "{case}: no targets");

        // The audit meets the same answer: reported in the API's terms, nothing changed.
        server.fail_next_on("GET", faults);
        let report = audit(&ctx).await;
        let error = report["rules"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(said), "{case}: {report:#}");
        assert_eq!(server.domain_names(&rule), before, "{case}");
    }
    // A failing update is reported per rule; the routes stay.
    server.fail_next_on("PATCH", [Fault::api(409, "RESOURCE_CONFLICT")]);
    let report = audit(&ctx).await;
    let problem = report["rules"]["rules"][0]["problem"]
        .as_str()
        .unwrap_or_default();
    assert!(problem.contains("HTTP 409"), "{report:#}");

    // A well API: the audit puts every TLS name on the rule.
    let report = audit(&ctx).await;
    assert_eq!(report["rules"]["rules"][0]["updated"], true, "{report:#}");
    let mut wanted: Vec<String> = (0..6).map(|i| rds_host(&format!("bad{i}"))).collect();
    wanted.push(DOMAIN.into());
    assert_eq!(sorted(server.domain_names(&rule)), sorted(wanted));
}

/// The audit reports each rule's health: a rule PENDING for 12 days is about to expire (the
/// RulesExpiring metric the alarm watches), with the VPC endpoint to accept; a router whose
/// endpoint service has no rule says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_health_reports_pending_rules_about_to_expire_and_missing_rules() {
    let bed = Bed::start("dbx-health").await;
    let server = Server::start().await.unwrap();
    let ctx = context(&bed, &server).await;
    let report = audit(&ctx).await;
    let problem = report["rules"]["rules"][0]["problem"]
        .as_str()
        .unwrap_or_default();
    assert!(
        problem.contains("has no private endpoint rule"),
        "{report:#}"
    );

    let rule = server.add_rule(&endpoint_service(&ctx), "PENDING", 12);
    let report = audit(&ctx).await;
    let status = &report["rules"]["rules"][0];
    assert_eq!(status["rule_id"], json!(rule), "{report:#}");
    assert_eq!(status["expiring"], true, "{report:#}");
    let problem = status["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("PENDING for more than 11 days") && problem.contains("vpce-0"),
        "{problem}"
    );
    let vpce = server.rule(&rule)["vpc_endpoint_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(problem.contains(&vpce), "{problem}");
}
