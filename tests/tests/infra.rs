//! Offline checks of the Terraform module `infra/modules/privatelink-router` (provider downloads
//! are impossible here, so `terraform validate`/`plan` cannot run; this test reads the HCL):
//!
//! - each Lambda's IAM policy grants exactly the actions its code calls
//!   (`privatelink_router::adapters::aws::permissions`), no wildcard, ELBv2 mutations only on resources
//!   carrying the router's ownership tag, DynamoDB only on the route table;
//! - every Lambda sets every environment variable the code reads (`config::ENV_VARS`);
//! - the EventBridge pattern of the RDS rule, evaluated with EventBridge's matching rules,
//!   matches every RDS sample in `events/` of a detail-type the handler subscribes to
//!   (`events::DETAIL_TYPES`) and nothing else;
//! - the dashboard graphs every EMF metric the code emits, from `var.metrics_namespace`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression, ObjectKey, TemplateExpr, TraversalOperator};
use privatelink_router::adapters::aws::elb::{MANAGED_BY, TAG_DEPLOYMENT, TAG_MANAGED_BY};
use privatelink_router::adapters::aws::permissions;
use privatelink_router::adapters::aws::store::{GSI_RDS, GSI_ROUTES};
use privatelink_router::config::ENV_VARS;
use privatelink_router::domain::rds_events::DETAIL_TYPES;
use privatelink_router::domain::route::target_group_name;
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

// ---------------------------------------------------------------------------------------------
// The module, parsed
// ---------------------------------------------------------------------------------------------

/// Every top-level block of every `.tf` file of the module.
struct Module {
    dir: PathBuf,
    blocks: Vec<Block>,
}

impl Module {
    fn load() -> Self {
        let dir = repo_root().join("infra/modules/privatelink-router");
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "tf"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no .tf files in {}", dir.display());
        let mut blocks = Vec::new();
        for file in files {
            let text = fs::read_to_string(&file).expect("readable .tf file");
            let body = hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            blocks.extend(body.into_blocks());
        }
        Self { dir, blocks }
    }

    /// `kind "type" "name" { ... }` blocks (kind: resource or data) of one type, by name.
    fn all(&self, kind: &str, ty: &str) -> Vec<(&str, &Body)> {
        self.blocks
            .iter()
            .filter_map(|b| match b.labels() {
                [t, name] if b.identifier() == kind && t.as_str() == ty => {
                    Some((name.as_str(), b.body()))
                }
                _ => None,
            })
            .collect()
    }

    fn resources(&self, ty: &str) -> Vec<(&str, &Body)> {
        self.all("resource", ty)
    }

    fn resource(&self, ty: &str, name: &str) -> &Body {
        self.resources(ty)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("resource {ty}.{name} not found"))
    }

    fn data(&self, ty: &str, name: &str) -> &Body {
        self.all("data", ty)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("data source {ty}.{name} not found"))
    }

    fn local(&self, name: &str) -> &Expression {
        self.blocks
            .iter()
            .filter(|b| b.identifier() == "locals")
            .find_map(|b| attr(b.body(), name))
            .unwrap_or_else(|| panic!("local.{name} not found"))
    }

    /// A local that must be a plain string.
    fn local_str(&self, name: &str) -> String {
        literal_str(self.local(name))
            .unwrap_or_else(|| panic!("local.{name} must be a string literal"))
    }

    /// An expression as text: string literals as their value, `local.X` and `${local.X}` replaced
    /// by X when X is a string literal; anything else (references to resources, calls) as HCL.
    fn render(&self, expr: &Expression) -> String {
        match expr {
            Expression::TemplateExpr(t) => {
                let text = template_text(t);
                let mut out = String::new();
                let mut rest = text;
                while let Some(start) = rest.find("${local.") {
                    out.push_str(&rest[..start]);
                    let end = start + rest[start..].find('}').expect("closed interpolation");
                    let name = &rest[start + "${local.".len()..end];
                    match self.local_literal(name) {
                        Some(value) => out.push_str(&value),
                        None => out.push_str(&rest[start..=end]),
                    }
                    rest = &rest[end + 1..];
                }
                out.push_str(rest);
                out
            }
            Expression::Traversal(_) => match path(expr).as_slice() {
                ["local", name] => self.local_literal(name).unwrap_or_else(|| expr.to_string()),
                _ => expr.to_string(),
            },
            other => literal_str(other).unwrap_or_else(|| other.to_string()),
        }
    }

    fn local_literal(&self, name: &str) -> Option<String> {
        self.blocks
            .iter()
            .filter(|b| b.identifier() == "locals")
            .find_map(|b| attr(b.body(), name))
            .and_then(literal_str)
    }
}

fn attr<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn blocks<'a>(body: &'a Body, identifier: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier() == identifier)
}

fn template_text(t: &TemplateExpr) -> &str {
    match t {
        TemplateExpr::QuotedString(s) => s,
        TemplateExpr::Heredoc(h) => &h.template,
    }
}

fn literal_str(expr: &Expression) -> Option<String> {
    match expr {
        Expression::String(s) => Some(s.clone()),
        Expression::TemplateExpr(t) if !template_text(t).contains("${") => {
            Some(template_text(t).to_owned())
        }
        _ => None,
    }
}

/// `a.b["c"].d` as `["a", "b", "c", "d"]`; empty when `expr` is not a plain reference.
fn path(expr: &Expression) -> Vec<&str> {
    let Expression::Traversal(t) = expr else {
        return Vec::new();
    };
    let Expression::Variable(root) = &t.expr else {
        return Vec::new();
    };
    let mut out = vec![root.as_str()];
    for op in &t.operators {
        match op {
            TraversalOperator::GetAttr(id) => out.push(id.as_str()),
            TraversalOperator::Index(Expression::String(s)) => out.push(s.as_str()),
            _ => return Vec::new(),
        }
    }
    out
}

/// A literal object key (`{ KEY = ... }` or `{ "KEY" = ... }`).
fn object_key(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(id) => id.as_str().to_owned(),
        ObjectKey::Expression(e) => {
            literal_str(e).unwrap_or_else(|| panic!("computed object key {e}"))
        }
        other => panic!("unsupported object key {other}"),
    }
}

/// An HCL expression made only of literals, as JSON (what `jsonencode` would produce).
fn to_json(expr: &Expression) -> Value {
    match expr {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::Number(n) => n.as_i64().map_or_else(|| json!(n.as_f64()), |i| json!(i)),
        Expression::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Expression::Object(object) => Value::Object(
            object
                .iter()
                .map(|(k, v)| (object_key(k), to_json(v)))
                .collect(),
        ),
        Expression::Parenthesis(inner) => to_json(inner),
        other => {
            Value::String(literal_str(other).unwrap_or_else(|| panic!("not a literal: {other}")))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IAM
// ---------------------------------------------------------------------------------------------

/// The three functions and the single list of what each one's code calls.
const FUNCTIONS: &[(&str, &[&str])] = &[
    ("routes_api", permissions::ROUTES_API),
    ("rds_events", permissions::RDS_EVENTS),
    ("dns_audit", permissions::DNS_AUDIT),
];

/// Services the code talks to: for these the policy must equal the code's list exactly.
const CODE_SERVICES: &[&str] = &[
    "elasticloadbalancing",
    "ec2",
    "dynamodb",
    "rds",
    "sts",
    "secretsmanager",
];

/// What the Lambda platform needs on the function's behalf, nothing the code calls: writing
/// its own log streams, (event-driven functions) sending failed invocations to the DLQ, and
/// (with Active tracing) writing trace segments.
const PLATFORM_ACTIONS: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "sqs:SendMessage",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

/// Actions another service performs with the caller's permissions on behalf of an action the
/// code calls (action, the code's action): reading a secret encrypted with a customer-managed
/// KMS key needs `kms:Decrypt` (Secrets Manager user guide, "Secret encryption and decryption").
const DEPENDENT_ACTIONS: &[(&str, &str)] = &[("kms:Decrypt", "secretsmanager:GetSecretValue")];

#[derive(Debug)]
struct Condition {
    test: String,
    variable: String,
    values: Vec<String>,
}

#[derive(Debug)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

fn strings(module: &Module, expr: &Expression, what: &str) -> Vec<String> {
    match expr {
        Expression::Array(items) => items.iter().map(|e| module.render(e)).collect(),
        // A list held in a local (e.g. resources = local.table_arns): keep the reference.
        Expression::Traversal(_) => match path(expr).as_slice() {
            ["local", name] => match module.local(name) {
                Expression::Array(items) => items.iter().map(|e| module.render(e)).collect(),
                other => vec![other.to_string()],
            },
            _ => vec![expr.to_string()],
        },
        Expression::FuncCall(call) if call.name.name.as_str() == "concat" => call
            .args
            .iter()
            .flat_map(|a| strings(module, a, what))
            .collect(),
        other => panic!("{what} must be a list, got {other}"),
    }
}

/// The Allow statements of an `aws_iam_policy_document`, following `source_policy_documents`.
fn policy_statements(module: &Module, doc: &str) -> Vec<Statement> {
    let body = module.data("aws_iam_policy_document", doc);
    for forbidden in [
        "override_policy_documents",
        "override_json",
        "source_json",
        "policy_id",
    ] {
        assert!(
            attr(body, forbidden).is_none(),
            "policy {doc}: {forbidden} is not checked by this test"
        );
    }
    assert!(
        blocks(body, "dynamic").next().is_none(),
        "policy {doc}: dynamic statements cannot be checked offline; write them out"
    );
    let mut out = Vec::new();
    if let Some(sources) = attr(body, "source_policy_documents") {
        let Expression::Array(items) = sources else {
            panic!("policy {doc}: source_policy_documents must be a list")
        };
        for item in items {
            match path(item).as_slice() {
                ["data", "aws_iam_policy_document", source, "json"] => {
                    out.extend(policy_statements(module, source))
                }
                _ => panic!("policy {doc}: source {item} is not a policy document of this module"),
            }
        }
    }
    for statement in blocks(body, "statement") {
        let s = statement.body();
        for forbidden in ["not_actions", "not_resources", "not_principals"] {
            assert!(
                attr(s, forbidden).is_none(),
                "policy {doc}: {forbidden} is too broad to check"
            );
        }
        let effect = attr(s, "effect").map_or_else(|| "Allow".to_owned(), |e| module.render(e));
        if effect != "Allow" {
            continue;
        }
        let sid = attr(s, "sid").map(|e| module.render(e)).unwrap_or_default();
        let actions = strings(
            module,
            attr(s, "actions").expect("statement has actions"),
            "actions",
        );
        let resources = strings(
            module,
            attr(s, "resources").expect("statement has resources"),
            "resources",
        );
        let conditions = blocks(s, "condition")
            .map(|c| Condition {
                test: module.render(attr(c.body(), "test").expect("condition test")),
                variable: module.render(attr(c.body(), "variable").expect("condition variable")),
                values: strings(
                    module,
                    attr(c.body(), "values").expect("condition values"),
                    "values",
                ),
            })
            .collect();
        out.push(Statement {
            sid: format!("{doc}/{sid}"),
            actions,
            resources,
            conditions,
        });
    }
    out
}

/// Function resource name => the Allow statements of every inline policy on its role.
fn lambda_policies(module: &Module) -> BTreeMap<String, Vec<Statement>> {
    let mut out = BTreeMap::new();
    for (function, body) in module.resources("aws_lambda_function") {
        let role_expr = attr(body, "role").expect("function has a role");
        let ["aws_iam_role", role, "arn"] = path(role_expr)[..] else {
            panic!("{function}: role must be aws_iam_role.<name>.arn, got {role_expr}");
        };
        let role_body = module.resource("aws_iam_role", role);
        assert!(
            attr(role_body, "managed_policy_arns").is_none()
                && blocks(role_body, "inline_policy").next().is_none(),
            "role {role}: policies must be aws_iam_role_policy resources so this test sees them"
        );
        let mut statements = Vec::new();
        for (policy, policy_body) in module.resources("aws_iam_role_policy") {
            match path(attr(policy_body, "role").expect("policy role"))[..] {
                ["aws_iam_role", r, _] if r == role => {}
                _ => continue,
            }
            match path(attr(policy_body, "policy").expect("policy document"))[..] {
                ["data", "aws_iam_policy_document", name, "json"] => statements.extend(policy_statements(module, name)),
                _ => panic!("aws_iam_role_policy.{policy}: policy must be data.aws_iam_policy_document.<name>.json"),
            }
        }
        assert!(
            !statements.is_empty(),
            "{function}: its role {role} has no inline policy"
        );
        out.insert(function.to_owned(), statements);
    }
    out
}

fn granted(statements: &[Statement]) -> BTreeSet<String> {
    statements
        .iter()
        .flat_map(|s| s.actions.iter().cloned())
        .collect()
}

fn service(action: &str) -> &str {
    action.split_once(':').map_or(action, |(s, _)| s)
}

#[test]
fn each_lambda_policy_grants_exactly_the_actions_its_code_calls() {
    let module = Module::load();
    let policies = lambda_policies(&module);
    let names: BTreeSet<&str> = policies.keys().map(String::as_str).collect();
    let expected_names: BTreeSet<&str> = FUNCTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names, expected_names,
        "every aws_lambda_function needs its action list in permissions.rs"
    );

    let mut problems = Vec::new();
    for (function, code_actions) in FUNCTIONS {
        let actions = granted(&policies[*function]);
        for action in &actions {
            if action.contains('*') || action.contains('?') || !action.contains(':') {
                problems.push(format!(
                    "{function}: wildcard or malformed action {action:?}"
                ));
            }
        }
        let expected: BTreeSet<String> = code_actions.iter().map(|a| (*a).to_owned()).collect();
        let for_code: BTreeSet<String> = actions
            .iter()
            .filter(|a| CODE_SERVICES.contains(&service(a)))
            .cloned()
            .collect();
        for missing in expected.difference(&for_code) {
            problems.push(format!(
                "{function}: code calls {missing} but the policy does not grant it"
            ));
        }
        for extra in for_code.difference(&expected) {
            problems.push(format!(
                "{function}: policy grants {extra}, which the code does not call"
            ));
        }
        for other in actions
            .iter()
            .filter(|a| !CODE_SERVICES.contains(&service(a)))
        {
            let dependent = DEPENDENT_ACTIONS
                .iter()
                .any(|(action, on)| action == other && code_actions.contains(on));
            if !PLATFORM_ACTIONS.contains(&other.as_str()) && !dependent {
                problems.push(format!(
                    "{function}: {other} is neither called by the code nor needed by Lambda"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "IAM policies differ from shared/src/adapters/aws/permissions.rs:\n{}",
        problems.join("\n")
    );
}

#[test]
fn elbv2_mutations_are_limited_to_resources_tagged_as_the_routers() {
    let module = Module::load();
    let resource_tag = format!("aws:ResourceTag/{TAG_MANAGED_BY}");
    let request_tag = format!("aws:RequestTag/{TAG_MANAGED_BY}");
    let deployment_request_tag = format!("aws:RequestTag/{TAG_DEPLOYMENT}");
    let deployment_resource_tag = format!("aws:ResourceTag/{TAG_DEPLOYMENT}");
    let mut problems = Vec::new();
    for (function, statements) in lambda_policies(&module) {
        for s in &statements {
            let mutations: Vec<&String> = s
                .actions
                .iter()
                .filter(|a| {
                    service(a) == "elasticloadbalancing"
                        && !a.starts_with("elasticloadbalancing:Describe")
                })
                .collect();
            if mutations.is_empty() {
                continue;
            }
            let tagged = s.conditions.iter().any(|c| {
                c.test == "StringEquals"
                    && (c.variable == resource_tag || c.variable == request_tag)
                    && c.values == [MANAGED_BY]
            });
            if !tagged {
                problems.push(format!("{function} {}: {mutations:?} without a {TAG_MANAGED_BY}={MANAGED_BY} tag condition", s.sid));
            }
            // Two deployments in one account share the managed-by tag: creations must name
            // this deployment, changes must not touch another deployment's resources.
            let deployment = s.conditions.iter().any(|c| {
                ((c.test == "StringEquals" && c.variable == deployment_request_tag)
                    || (c.test == "StringEqualsIfExists" && c.variable == deployment_resource_tag))
                    && c.values == ["var.service_name"]
            });
            if !deployment {
                problems.push(format!("{function} {}: {mutations:?} without a {TAG_DEPLOYMENT}=var.service_name tag condition", s.sid));
            }
            if s.resources.iter().any(|r| r == "*") {
                problems.push(format!(
                    "{function} {}: {mutations:?} on every resource (\"*\")",
                    s.sid
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn dynamodb_access_is_limited_to_the_route_table_and_its_indexes() {
    let module = Module::load();
    for (function, statements) in lambda_policies(&module) {
        for s in statements
            .iter()
            .filter(|s| s.actions.iter().any(|a| service(a) == "dynamodb"))
        {
            assert!(
                !s.resources.is_empty(),
                "{function} {}: no resources",
                s.sid
            );
            for r in &s.resources {
                assert!(
                    r.starts_with("aws_dynamodb_table.routes.arn")
                        || r.starts_with("${aws_dynamodb_table.routes.arn}/index/"),
                    "{function} {}: DynamoDB resource {r} is not the route table or its indexes",
                    s.sid
                );
            }
        }
    }
}

#[test]
fn target_group_scope_matches_the_names_the_code_generates() {
    let module = Module::load();
    let prefix = module.local_str("target_group_name_prefix");
    for (router, route) in [
        ("r1", "orders"),
        (
            "a-very-long-router",
            "a-forty-character-route-name-for-testing",
        ),
    ] {
        let name = target_group_name("privatelink-router", router, route);
        assert!(
            name.starts_with(&prefix),
            "target group {name} is outside the IAM scope {prefix}*"
        );
    }
    assert_eq!(module.local_str("managed_by_tag"), TAG_MANAGED_BY);
    assert_eq!(module.local_str("managed_by_value"), MANAGED_BY);
    assert_eq!(module.local_str("deployment_tag"), TAG_DEPLOYMENT);
}

#[test]
fn lambda_roles_get_no_managed_policy_but_vpc_network_interface_access() {
    let module = Module::load();
    for (name, body) in module.resources("aws_iam_role_policy_attachment") {
        let arn = module.render(attr(body, "policy_arn").expect("policy_arn"));
        assert!(
            arn.ends_with(":iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
            "aws_iam_role_policy_attachment.{name} attaches {arn}: put what the code needs in permissions.rs instead"
        );
        let for_each = attr(body, "for_each")
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            for_each.contains("var.lambda_vpc_config"),
            "{name}: attach only when the Lambdas run in a VPC"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Lambda configuration
// ---------------------------------------------------------------------------------------------

/// The keys of an object expression, through `local.X` and `merge(...)`.
fn object_keys(module: &Module, expr: &Expression) -> BTreeSet<String> {
    match expr {
        Expression::Object(object) => object.keys().map(object_key).collect(),
        Expression::Traversal(_) => match path(expr).as_slice() {
            ["local", name] => object_keys(module, module.local(name)),
            _ => panic!("cannot see the keys of {expr}"),
        },
        Expression::FuncCall(call) if call.name.name.as_str() == "merge" => call
            .args
            .iter()
            .flat_map(|a| object_keys(module, a))
            .collect(),
        other => panic!("cannot see the keys of {other}"),
    }
}

#[test]
fn every_lambda_sets_every_environment_variable_the_code_reads() {
    let module = Module::load();
    let functions = module.resources("aws_lambda_function");
    assert_eq!(
        functions.len(),
        FUNCTIONS.len(),
        "expected the three Lambdas"
    );
    let read: BTreeSet<&str> = ENV_VARS.iter().copied().collect();
    let mut problems = Vec::new();
    for (function, body) in functions {
        let Some(environment) = blocks(body, "environment").next() else {
            problems.push(format!("{function}: no environment block"));
            continue;
        };
        let keys = object_keys(
            &module,
            attr(environment.body(), "variables").expect("environment.variables"),
        );
        for var in &read {
            if !keys.contains(*var) {
                problems.push(format!("{function}: {var} is read by the code but not set"));
            }
        }
        for key in keys.iter().filter(|k| k.starts_with("ROUTER_")) {
            if !read.contains(key.as_str()) {
                problems.push(format!(
                    "{function}: sets {key}, which the code never reads (typo?)"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn lambdas_run_the_cargo_lambda_bootstrap_on_provided_al2023() {
    let module = Module::load();
    for (function, body) in module.resources("aws_lambda_function") {
        assert_eq!(
            module.render(attr(body, "runtime").expect("runtime")),
            "provided.al2023",
            "{function}"
        );
        assert_eq!(
            module.render(attr(body, "handler").expect("handler")),
            "bootstrap",
            "{function}"
        );
        let filename = attr(body, "filename")
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(
            filename,
            format!("local.packages.{function}"),
            "{function}: package path"
        );
    }
    let packages = module.local("packages").to_string();
    assert!(
        packages.contains("bootstrap.zip"),
        "cargo lambda --output-format zip writes <crate>/bootstrap.zip"
    );
}

#[test]
fn every_api_route_requires_iam_authorization_and_payload_v2() {
    let module = Module::load();
    let routes: BTreeSet<String> = strings(&module, module.local("api_routes"), "api_routes")
        .into_iter()
        .collect();
    // Every operation the OpenAPI document offers (the handler serves them all) is routed by
    // API Gateway, and nothing else is (issue #28: GET /catalog answered API Gateway's 404).
    let path = repo_root().join("functions/routes-api/openapi.yaml");
    let document: serde_json::Value =
        serde_norway::from_str(&fs::read_to_string(&path).expect("openapi.yaml")).expect("YAML");
    let expected: BTreeSet<String> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_ascii_uppercase()))
        })
        .collect();
    assert!(expected.contains("GET /catalog"), "{expected:?}");
    assert_eq!(
        routes, expected,
        "API Gateway routes (api.tf local.api_routes) vs the OpenAPI document's operations"
    );
    let mut count = 0;
    for (name, body) in module.resources("aws_apigatewayv2_route") {
        count += 1;
        assert_eq!(
            module.render(attr(body, "authorization_type").expect("authorization_type")),
            "AWS_IAM",
            "{name}"
        );
    }
    assert!(count > 0, "no API routes");
    let integration = module.resource("aws_apigatewayv2_integration", "routes_api");
    assert_eq!(
        module.render(attr(integration, "payload_format_version").expect("payload format")),
        "2.0"
    );
}

#[test]
fn the_table_has_the_keys_and_indexes_the_store_uses() {
    let module = Module::load();
    let table = module.resource("aws_dynamodb_table", "routes");
    let text = |k: &str| module.render(attr(table, k).unwrap_or_else(|| panic!("table.{k}")));
    assert_eq!(text("hash_key"), "pk");
    assert_eq!(text("range_key"), "sk");
    assert_eq!(text("billing_mode"), "PAY_PER_REQUEST");
    assert_eq!(
        text("deletion_protection_enabled"),
        "var.deletion_protection"
    );
    let indexes: BTreeMap<String, (String, Option<String>, String)> =
        blocks(table, "global_secondary_index")
            .map(|b| {
                let get = |k: &str| attr(b.body(), k).map(|e| module.render(e));
                (
                    get("name").expect("index name"),
                    (
                        get("hash_key").expect("hash"),
                        get("range_key"),
                        get("projection_type").expect("projection"),
                    ),
                )
            })
            .collect();
    assert_eq!(
        indexes[GSI_ROUTES],
        ("gsi1pk".into(), Some("gsi1sk".into()), "ALL".into())
    );
    assert_eq!(indexes[GSI_RDS], ("rds_key".into(), None, "ALL".into()));
    for (block, key) in [
        ("point_in_time_recovery", "enabled"),
        ("server_side_encryption", "enabled"),
    ] {
        let b = blocks(table, block)
            .next()
            .unwrap_or_else(|| panic!("table.{block}"));
        assert_eq!(
            attr(b.body(), key),
            Some(&Expression::Bool(true)),
            "table.{block}.{key}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// EventBridge patterns
// ---------------------------------------------------------------------------------------------

/// EventBridge's matching, for the subset of the pattern language a pattern may use here:
/// exact values (strings, numbers, booleans, null), `prefix`, `suffix`, `equals-ignore-case`,
/// `anything-but` and `exists`, nested objects, and array-valued event fields (any element
/// matches). Anything else panics, so a new operator gets an implementation before it is trusted.
fn pattern_matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(pattern) = pattern else {
        panic!("a pattern is a JSON object")
    };
    pattern.iter().all(|(key, expected)| {
        assert!(
            !key.starts_with('$'),
            "pattern operator {key} is not implemented in this test"
        );
        let field = event.as_object().and_then(|e| e.get(key));
        match expected {
            Value::Object(_) => {
                field.is_some_and(|f| f.is_object() && pattern_matches(expected, f))
            }
            Value::Array(alternatives) => field_matches(alternatives, field),
            other => panic!("pattern value of {key} must be an array or an object, got {other}"),
        }
    })
}

fn field_matches(alternatives: &[Value], field: Option<&Value>) -> bool {
    let values: Vec<&Value> = match field {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        // An object is not a leaf: no leaf rule matches it.
        Some(Value::Object(_)) => return false,
        Some(value) => vec![value],
    };
    alternatives.iter().any(|alternative| match alternative {
        Value::Object(rule) => {
            assert_eq!(
                rule.len(),
                1,
                "one operator per matching rule: {alternative}"
            );
            let (op, arg) = rule.iter().next().expect("one entry");
            let strings = || values.iter().filter_map(|v| v.as_str());
            match (op.as_str(), arg) {
                ("prefix", Value::String(p)) => strings().any(|s| s.starts_with(p.as_str())),
                ("suffix", Value::String(p)) => strings().any(|s| s.ends_with(p.as_str())),
                ("equals-ignore-case", Value::String(p)) => {
                    strings().any(|s| s.eq_ignore_ascii_case(p))
                }
                ("exists", Value::Bool(wanted)) => field.is_some() == *wanted,
                ("anything-but", Value::Array(excluded)) => {
                    !values.is_empty() && values.iter().all(|v| !excluded.contains(v))
                }
                ("anything-but", scalar) if !scalar.is_object() => {
                    !values.is_empty() && values.iter().all(|v| *v != scalar)
                }
                _ => panic!("matching rule {alternative} is not implemented in this test"),
            }
        }
        exact => values.contains(&exact),
    })
}

/// The pattern of the rule that targets the given Lambda, read as EventBridge would get it.
fn pattern_for(module: &Module, function: &str) -> Value {
    let mut patterns = Vec::new();
    for (target, body) in module.resources("aws_cloudwatch_event_target") {
        if path(attr(body, "arn").expect("target arn")) != ["aws_lambda_function", function, "arn"]
        {
            continue;
        }
        let rule_expr = attr(body, "rule").expect("target rule");
        let ["aws_cloudwatch_event_rule", rule_name, "name"] = path(rule_expr)[..] else {
            panic!("{target}: rule must be aws_cloudwatch_event_rule.<name>.name, got {rule_expr}");
        };
        let rule_body = module.resource("aws_cloudwatch_event_rule", rule_name);
        let Some(pattern) = attr(rule_body, "event_pattern") else {
            continue;
        };
        patterns.push(event_pattern_json(module, pattern));
    }
    assert_eq!(
        patterns.len(),
        1,
        "expected exactly one event-pattern rule targeting {function}"
    );
    patterns.pop().expect("one pattern")
}

fn event_pattern_json(module: &Module, expr: &Expression) -> Value {
    match expr {
        Expression::FuncCall(call) if call.name.name.as_str() == "file" => {
            let raw = module.render(&call.args[0]);
            let relative = raw
                .strip_prefix("${path.module}/")
                .unwrap_or_else(|| panic!("file({raw}) must be under path.module"));
            let path = module.dir.join(relative);
            let text =
                fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        }
        Expression::FuncCall(call) if call.name.name.as_str() == "jsonencode" => {
            to_json(&call.args[0])
        }
        other => serde_json::from_str(&module.render(other))
            .unwrap_or_else(|e| panic!("event_pattern {other}: {e}")),
    }
}

/// What the handler is for: an RDS event of a detail-type it subscribes to
/// (`events::DETAIL_TYPES`, the code's own list).
fn handled_by_rds_events(event: &Value) -> bool {
    event.get("source") == Some(&json!("aws.rds"))
        && event
            .get("detail-type")
            .and_then(Value::as_str)
            .is_some_and(|t| DETAIL_TYPES.contains(&t))
}

/// A kind of sample the router exists for, and how to recognise it.
type Category = (&'static str, fn(&Value) -> bool);

fn event_id(event: &Value) -> Option<u32> {
    event
        .pointer("/detail/EventID")?
        .as_str()?
        .strip_prefix("RDS-EVENT-")?
        .parse()
        .ok()
}

#[test]
fn rds_rule_pattern_matches_every_rds_sample_and_nothing_else() {
    let module = Module::load();
    let pattern = pattern_for(&module, "rds_events");
    let dir = repo_root().join("events");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();

    let mut problems = Vec::new();
    let mut matched = Vec::new();
    for file in &files {
        let name = file
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .into_owned();
        let text = fs::read_to_string(file).expect("readable sample");
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            // Not JSON: EventBridge could never deliver it, so no rule can match it.
            assert!(
                !name.starts_with("rds-"),
                "{name}: an RDS sample must be JSON"
            );
            continue;
        };
        let wanted = handled_by_rds_events(&event);
        let got = pattern_matches(&pattern, &event);
        if wanted != got {
            problems.push(format!(
                "{name}: pattern {} it",
                if got { "matches" } else { "does not match" }
            ));
        }
        if got {
            matched.push((name, event));
        }
    }
    assert!(
        problems.is_empty(),
        "rds-events rule vs events/:\n{}",
        problems.join("\n")
    );

    // The samples the router exists for must be there, and matched.
    let categories: [Category; 4] = [
        ("failover", |e| {
            event_id(e).is_some_and(|id| [13, 15, 49, 50, 51, 69, 70, 71, 72, 73].contains(&id))
        }),
        ("creation", |e| {
            event_id(e).is_some_and(|id| [5, 170, 203, 206].contains(&id))
        }),
        ("deletion", |e| {
            event_id(e).is_some_and(|id| [3, 171, 205, 208].contains(&id))
        }),
        ("blue-green", |e| {
            e.get("detail-type") == Some(&json!("RDS Blue Green Deployment Event"))
        }),
    ];
    for (category, is) in categories {
        let hits: Vec<&str> = matched
            .iter()
            .filter(|(_, e)| is(e))
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(
            !hits.is_empty(),
            "no {category} sample in events/ is matched by the rds-events rule"
        );
        println!("{category}: {}", hits.join(", "));
    }
}

#[test]
fn rds_rule_pattern_matches_each_subscribed_detail_type_and_rejects_look_alikes() {
    let pattern = pattern_for(&Module::load(), "rds_events");
    let event = |source: &str, detail_type: &str| {
        json!({
            "version": "0", "id": "1", "source": source, "detail-type": detail_type,
            "account": "123456789012", "region": "us-east-1", "time": "2026-01-01T00:00:00Z",
            "resources": [], "detail": {"EventID": "RDS-EVENT-0049", "SourceIdentifier": "db"}
        })
    };
    for detail_type in DETAIL_TYPES {
        assert!(
            pattern_matches(&pattern, &event("aws.rds", detail_type)),
            "{detail_type} is not delivered"
        );
    }
    for (source, detail_type) in [
        ("aws.ec2", "RDS DB Instance Event"),
        ("aws.rds", "RDS DB Snapshot Event"),
        ("aws.rds", "AWS API Call via CloudTrail"),
        ("custom.rds", "RDS DB Cluster Event"),
    ] {
        assert!(
            !pattern_matches(&pattern, &event(source, detail_type)),
            "{source} / {detail_type} is delivered"
        );
    }
}

#[test]
fn event_matcher_follows_eventbridge_rules() {
    let event = json!({"source": "aws.rds", "detail": {"EventCategories": ["failover", "notification"], "n": 5}});
    let m = |p: Value| pattern_matches(&p, &event);
    assert!(m(json!({"source": ["aws.ec2", "aws.rds"]})));
    assert!(!m(json!({"source": ["aws.ec2"]})));
    assert!(
        m(json!({"detail": {"EventCategories": ["failover"]}})),
        "array field: any element"
    );
    assert!(m(json!({"detail": {"n": [5]}})));
    assert!(!m(json!({"detail": {"n": ["5"]}})), "types are not coerced");
    assert!(m(json!({"source": [{"prefix": "aws."}]})));
    assert!(
        !m(json!({"source": [{"prefix": "AWS."}]})),
        "case-sensitive"
    );
    assert!(m(json!({"source": [{"equals-ignore-case": "AWS.RDS"}]})));
    assert!(
        !m(json!({"missing": ["x"]})),
        "a missing field matches nothing"
    );
    assert!(m(json!({"missing": [{"exists": false}]})));
    assert!(
        !m(json!({"detail": ["x"]})),
        "a leaf rule does not match an object"
    );
    assert!(
        !m(json!({"source": {"nested": ["x"]}})),
        "a nested pattern needs an object"
    );
    assert!(m(json!({"source": [{"anything-but": ["aws.ec2"]}]})));
    assert!(!m(json!({"source": [{"anything-but": "aws.rds"}]})));
    assert!(
        m(json!({})),
        "an empty pattern matches everything (EventBridge refuses it; we never write one)"
    );
}

/// Issue #14, case 2: Terraform renders `ROUTER_EVENT_ACCOUNTS` from `event_source_accounts`,
/// documented as *other* accounts. Rendered with only another account listed, the Lambdas
/// must still hear events from the router's own account (the NLBs' account).
#[test]
fn the_rendered_event_accounts_never_shut_out_the_routers_own_account() {
    let module = Module::load();
    let Expression::Object(env) = module.local("lambda_environment") else {
        panic!("local.lambda_environment must be an object");
    };
    let rendered = env
        .iter()
        .find(|(k, _)| object_key(k) == "ROUTER_EVENT_ACCOUNTS")
        .map(|(_, v)| v.to_string())
        .expect("ROUTER_EVENT_ACCOUNTS is set");
    assert_eq!(
        rendered.replace(' ', ""),
        r#"join(",",var.event_source_accounts)"#,
        "this test renders exactly that expression"
    );
    let event_source_accounts = ["210987654321"];
    let value = event_source_accounts.join(",");
    let fleet = r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/plr/1","endpoint_service_name":"s"}]"#;
    let config = privatelink_router::config::Config::from_lookup(&|k| match k {
        "ROUTER_TABLE" => Some("t".into()),
        "ROUTER_FLEET" => Some(fleet.into()),
        "ROUTER_EVENT_ACCOUNTS" => Some(value.clone()),
        _ => None,
    })
    .expect("config");
    use privatelink_router::flows::events::account_allowed;
    assert!(account_allowed(&config, "123456789012"), "own account");
    assert!(account_allowed(&config, "210987654321"), "listed account");
    assert!(!account_allowed(&config, "999988887777"));
    let description = module_variable_description(&module, "event_source_accounts");
    assert!(
        description.contains("own account") && description.contains("always"),
        "the variable says so: {description}"
    );
}

fn module_variable_description(module: &Module, name: &str) -> String {
    let body = module
        .blocks
        .iter()
        .find(|b| {
            b.identifier() == "variable" && b.labels().first().map(|l| l.as_str()) == Some(name)
        })
        .unwrap_or_else(|| panic!("variable {name}"))
        .body();
    module.render(attr(body, "description").expect("description"))
}

/// Runs `terraform` (offline: no provider is needed) on the module's `variables.tf` and
/// `seeds.tf` in a scratch directory with `vars`; the outputs as JSON, or the error text.
fn terraform_seeds(case: &str, vars: &Value) -> Result<Value, String> {
    terraform_offline(
        "infra/modules/privatelink-router",
        &["variables.tf", "seeds.tf"],
        case,
        vars,
    )
}

/// Applies `files` of the Terraform directory `source` (files that need no provider) in a
/// scratch directory with `vars`; the outputs as JSON, or the error text on one line.
fn terraform_offline(
    source: &str,
    files: &[&str],
    case: &str,
    vars: &Value,
) -> Result<Value, String> {
    let module = repo_root().join(source);
    let dir = std::env::temp_dir().join(format!("plr-tf-{}-{case}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for file in files {
        fs::copy(module.join(file), dir.join(file)).unwrap();
    }
    fs::write(dir.join("seed.tfvars.json"), vars.to_string()).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new("terraform")
            .args(args)
            .current_dir(&dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .expect("terraform is installed (it is on the CI image; .ci/run runs terraform fmt)")
    };
    let init = run(&["init", "-input=false", "-no-color"]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let apply = run(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-var-file=seed.tfvars.json",
    ]);
    if !apply.status.success() {
        // Terraform wraps its messages: one line, single spaces.
        let text = String::from_utf8_lossy(&apply.stderr);
        return Err(text.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let out = run(&["output", "-json", "-no-color"]);
    Ok(serde_json::from_slice(&out.stdout).expect("terraform output -json"))
}

/// Issue #15: a seed call — the seed's exact variable shapes, `id` a host name, one extra
/// database in `service_config.targets`, all seven `health_check_config` attributes — passes
/// the module's plan-time validation and yields one seed per database (none dropped), with
/// the seed's listener ports; an attribute the router cannot honour is named.
#[test]
fn a_seed_call_plans_and_keeps_every_database_and_port() {
    let seed_call = serde_json::json!({
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_ids": ["subnet-0a", "subnet-0b"],
        "tags": {"team": "data"},
        "service_name": "privatelink-router",
        "target_endpoints": [
            {"id": "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com", "port": 5432, "name": "orders"},
            {"id": "billing.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com", "port": 3306, "name": "billing"}
        ],
        "service_config": {
            "target_type": "ip", "protocol": "TCP", "base_port": 10000,
            "targets": [{"id": "ledger.c9akciq32abc.us-east-1.rds.amazonaws.com", "target_port": 5432}]
        },
        "health_check_config": {
            "port": "traffic-port", "path": null, "protocol": null,
            "healthy_threshold": 3, "unhealthy_threshold": 3, "interval": 30, "timeout": 10
        }
    });
    let out = terraform_seeds("ok", &seed_call).expect("a seed call plans");
    assert_eq!(
        out["route_ports"]["value"],
        serde_json::json!({
            "ledger-c9akciq32abc-us-east-1-rds-amazonaws-com": 10000,
            "orders": 10001,
            "billing": 10002
        })
    );
    // The seed items are written for exactly these databases.
    let module = Module::load();
    let item = module.resource("aws_dynamodb_table_item", "seeded_route");
    assert_eq!(
        attr(item, "for_each").map(|e| e.to_string().trim().to_owned()),
        Some("local.seed_routes".to_owned())
    );

    let mut bad = seed_call.clone();
    bad["health_check_config"]["path"] = "/health".into();
    let err = terraform_seeds("path", &bad).unwrap_err();
    assert!(err.contains("health_check_config.path"), "{err}");
    let mut bad = seed_call.clone();
    bad["service_config"]["target_type"] = "instance".into();
    let err = terraform_seeds("type", &bad).unwrap_err();
    assert!(err.contains("service_config.target_type"), "{err}");
    let mut bad = seed_call;
    bad["target_endpoints"][1]["name"] = "Orders".into();
    let err = terraform_seeds("collision", &bad).unwrap_err();
    assert!(
        err.contains("orders") && err.contains("more than one database"),
        "{err}"
    );
}

/// The module's README lists exactly its inputs and outputs, each with its description.
#[test]
fn the_module_readme_lists_every_input_and_output_with_its_description() {
    let module = Module::load();
    let readme = fs::read_to_string(repo_root().join("infra/modules/privatelink-router/README.md"))
        .expect("module README");
    // Markdown may quote `<placeholders>` in backticks: compare without them.
    let flat = |s: &str| {
        s.replace('`', "")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in readme.lines() {
        if let Some((name, _)) = l.strip_prefix("| `").and_then(|r| r.split_once('`')) {
            rows.entry(name.to_owned()).or_default().push(flat(l));
        }
    }
    let mut declared = BTreeSet::new();
    let mut problems = Vec::new();
    for kind in ["variable", "output"] {
        for block in module.blocks.iter().filter(|b| b.identifier() == kind) {
            let name = block.labels()[0].as_str().to_owned();
            let description = attr(block.body(), "description")
                .map(|d| flat(&module.render(d)).replace("\\\"", "\""))
                .unwrap_or_default();
            match rows.get(&name) {
                None => problems.push(format!("{kind} {name} is not in the module README")),
                Some(found) if !found.iter().any(|row| row.contains(&description)) => problems
                    .push(format!(
                        "{kind} {name}: README says {found:?}, the .tf says {description:?}"
                    )),
                Some(_) => {}
            }
            declared.insert(name);
        }
    }
    for name in rows.keys().filter(|n| !declared.contains(*n)) {
        problems.push(format!(
            "the module README lists {name}, which the module does not declare"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------

/// The EMF metrics the code emits under `Function=rds-events` (shared/src/flows/events/mod.rs)
/// and `Function=dns-audit` (shared/src/flows/audit/report.rs, shared/src/flows/watch.rs).
const EMITTED_METRICS: &str = "RdsEventHandled RdsEventMalformed RdsEventRefused \
    RdsEventIgnored RdsEventUnrouted RdsEventFailed RoutesChangedByEvent RoutesTargetQuotaFull \
    RdsEventHandlingMs \
    AwsCalls AwsThrottles RoutesSeen RoutesAudited RoutesServing RoutesNotServing RoutesDegraded \
    TargetsNotServing AddressesRefused ListenerConflicts OrphansFound OrphansDeleted Repairs \
    DnsFailures Errors AuditIncomplete AuditDurationMs RoutesWatched RoutesMoved WatchDurationMs \
    IpReused \
    RulesNotEstablished RulesExpiring RuleUpdates RuleProblems";

/// The rows of every `metrics` list in a dashboard body, through `concat(...)` and `for`.
fn metric_rows<'a>(expr: &'a Expression, metrics: bool, out: &mut Vec<&'a Expression>) {
    match expr {
        Expression::Array(rows) if metrics => out.extend(rows),
        Expression::FuncCall(call) if metrics => {
            for arg in &call.args {
                metric_rows(arg, true, out);
            }
        }
        Expression::ForExpr(f) if metrics => out.push(&f.value_expr),
        Expression::Array(items) => {
            for item in items {
                metric_rows(item, false, out);
            }
        }
        Expression::Object(object) => {
            for (key, value) in object.iter() {
                metric_rows(value, object_key(key) == "metrics", out);
            }
        }
        _ => {}
    }
}

/// The on-call dashboard graphs every metric the code emits, read from the namespace the
/// Lambdas write to (`var.metrics_namespace`, their ROUTER_METRICS_NAMESPACE).
#[test]
fn the_dashboard_shows_every_metric_the_code_emits() {
    let module = Module::load();
    let dashboard = module.resource("aws_cloudwatch_dashboard", "router");
    let gate = attr(dashboard, "count").expect("dashboard count");
    assert!(gate.to_string().contains("var.dashboard"), "count = {gate}");
    let Some(Expression::FuncCall(call)) = attr(dashboard, "dashboard_body") else {
        panic!("dashboard_body must be jsonencode(local.<name>)");
    };
    let ["local", name] = path(&call.args[0])[..] else {
        panic!("dashboard_body must be jsonencode(local.<name>)");
    };
    assert_eq!(call.name.name.as_str(), "jsonencode");
    let mut rows = Vec::new();
    metric_rows(module.local(name), false, &mut rows);
    let mut shown = BTreeSet::new();
    for row in rows {
        let Expression::Array(items) = row else {
            panic!("metric row {row} is not a list");
        };
        match items.as_slice() {
            // [{ expression = "SEARCH(...)" }]: a search names the namespace it reads.
            [Expression::Object(options)] => {
                for (key, value) in options.iter() {
                    let text = module.render(value);
                    if object_key(key) == "expression" && text.contains("SEARCH(") {
                        assert!(text.contains("var.metrics_namespace"), "{row}");
                    }
                }
            }
            [namespace, name, ..] => {
                let namespace = module.render(namespace);
                if !namespace.starts_with("AWS/") {
                    assert_eq!(namespace.trim(), "var.metrics_namespace", "{row}");
                    shown.insert(module.render(name));
                }
            }
            _ => panic!("metric row {row}: [namespace, name, ...] expected"),
        }
    }
    let missing: Vec<&str> = EMITTED_METRICS
        .split_whitespace()
        .filter(|m| !shown.contains(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics not on the dashboard: {missing:?}"
    );
}

/// Issue #18: the Databricks example refuses, at plan time, what Databricks would refuse
/// later — more than 10 domain names on a rule, more than 30 private endpoints in a region,
/// more than 50 workspaces on an NCC, a domain name on two rules, a router without a consumer
/// domain — and starts each rule with its consumer domain and TLS names.
#[test]
fn the_databricks_example_checks_the_documented_limits_offline() {
    let good = json!({
        "region": "us-east-1",
        "vpc_id": "vpc-0123456789abcdef0",
        "subnet_ids": ["subnet-0a", "subnet-0b"],
        "routers": ["r1", "r2"],
        "consumer_domains": {"r1": "db1.corp.example", "r2": "db2.corp.example"},
        "initial_tls_names": {"r1": ["orders.c9akciq32abc.us-east-1.rds.amazonaws.com"]},
        "databricks_account_id": "0d1e2a3b",
        "workspace_ids": ["1234567890123456"],
        "databricks_serverless_principals": ["arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"],
        "router_client_id": "router-sp",
        "router_client_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dbx-AbCdEf",
    });
    let run = |case: &str, vars: &Value| {
        terraform_offline(
            "infra/examples/databricks-serverless",
            &["variables.tf", "limits.tf"],
            case,
            vars,
        )
    };
    let out = run("dbx-good", &good).expect("the example's limits accept a valid call");
    assert_eq!(
        out["rule_domain_names"]["value"],
        json!({
            "r1": ["db1.corp.example", "orders.c9akciq32abc.us-east-1.rds.amazonaws.com"],
            "r2": ["db2.corp.example"],
        })
    );
    let with = |key: &str, value: Value| {
        let mut vars = good.clone();
        vars[key] = value;
        vars
    };
    let names: Vec<String> = (0..10).map(|i| format!("db{i}.example.internal")).collect();
    let routers: Vec<String> = (0..25).map(|i| format!("r{i}")).collect();
    let domains: serde_json::Map<String, Value> = routers
        .iter()
        .map(|r| (r.clone(), json!(format!("{r}.corp.example"))))
        .collect();
    let workspaces: Vec<String> = (0..51).map(|i| format!("{i:016}")).collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "dbx-11-names",
            with("initial_tls_names", json!({"r1": names})),
            "at most 9 per router",
        ),
        (
            "dbx-31-endpoints",
            {
                let mut v = with("routers", json!(routers));
                v["consumer_domains"] = Value::Object(domains);
                v["initial_tls_names"] = json!({});
                v["existing_private_endpoints"] = json!(6);
                v
            },
            "30 private endpoints per region",
        ),
        (
            "dbx-51-workspaces",
            with("workspace_ids", json!(workspaces)),
            "at most 50",
        ),
        (
            "dbx-shared-name",
            with(
                "consumer_domains",
                json!({"r1": "db.corp.example", "r2": "db.corp.example"}),
            ),
            "one rule only",
        ),
        (
            "dbx-no-domain",
            with("consumer_domains", json!({"r1": "db1.corp.example"})),
            "1 to 10 domain names",
        ),
    ];
    for (case, vars, said) in cases {
        let err = run(case, &vars).expect_err(case);
        assert!(err.contains(said), "{case}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tracing
// ---------------------------------------------------------------------------------------------

/// Issue #28 case 7: `lambda_tracing_mode = "Active"` without the X-Ray write actions in the
/// roles made Lambda refuse the configuration. Every function's tracing mode is the variable,
/// and with "Active" its role may write trace segments before the function is configured.
#[test]
fn active_tracing_gives_every_function_role_the_xray_write_actions() {
    let module = Module::load();
    let xray = module.resource("aws_iam_role_policy", "xray");
    let for_each = attr(xray, "for_each").expect("xray for_each").to_string();
    assert!(
        for_each.contains("var.lambda_tracing_mode == \"Active\""),
        "only with Active tracing: {for_each}"
    );
    let policy = attr(xray, "policy").expect("policy").to_string();
    let ["data", "aws_iam_policy_document", doc, "json"] =
        policy.split('.').collect::<Vec<_>>()[..]
    else {
        panic!("xray policy must be a policy document: {policy}");
    };
    let actions: BTreeSet<String> = policy_statements(&module, doc)
        .into_iter()
        .flat_map(|s| s.actions)
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from([
            "xray:PutTelemetryRecords".to_owned(),
            "xray:PutTraceSegments".to_owned()
        ])
    );
    for (function, body) in module.resources("aws_lambda_function") {
        let tracing = blocks(body, "tracing_config")
            .next()
            .unwrap_or_else(|| panic!("{function}: tracing_config"));
        assert_eq!(
            attr(tracing.body(), "mode")
                .map(ToString::to_string)
                .as_deref(),
            Some("var.lambda_tracing_mode"),
            "{function}"
        );
        let ["aws_iam_role", role, "arn"] = path(attr(body, "role").expect("role"))[..] else {
            panic!("{function}: role");
        };
        assert!(
            for_each.contains(&format!("aws_iam_role.{role}.id")),
            "{function}: its role {role} may write traces: {for_each}"
        );
        let depends = attr(body, "depends_on")
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            depends.contains("aws_iam_role_policy.xray"),
            "{function}: configured after its role may write traces: {depends}"
        );
    }
}

/// Issue #28 case 7: a Databricks secret given as a partial ARN (no random suffix) or
/// encrypted with a customer-managed KMS key was AccessDenied. The grant covers the suffix,
/// and a configured key may be used to decrypt only through Secrets Manager.
#[test]
fn the_databricks_secret_grant_covers_partial_arns_and_customer_keys() {
    let module = Module::load();
    let arns = module.local("databricks_secret_arns").to_string();
    assert!(
        arns.contains("${var.databricks.client_secret_arn}-??????"),
        "{arns}"
    );
    let statements = policy_statements(&module, "databricks_secret_kms");
    assert_eq!(statements.len(), 1);
    let kms = &statements[0];
    assert_eq!(kms.actions, vec!["kms:Decrypt".to_owned()]);
    assert!(
        kms.conditions.iter().any(|c| c.test == "StringEquals"
            && c.variable == "kms:ViaService"
            && c.values.iter().all(|v| v.starts_with("secretsmanager."))),
        "{kms:?}"
    );
    for function in ["routes_api", "dns_audit"] {
        let attached = module.resource(
            "aws_iam_role_policy",
            &format!("{function}_databricks_secret_kms"),
        );
        let count = attr(attached, "count").expect("count").to_string();
        assert!(count.contains("databricks_secret_kms_keys"), "{count}");
    }
}

/// Issue #28 case 8: rds-events could write any table item (seeds, ports, leases) though it
/// writes route items only; and `AddTags` on existing resources was granted to every Lambda
/// though only the audit's one-time tag migration adds a tag after creation.
#[test]
fn rds_events_writes_route_items_only_and_only_the_audit_tags_existing_resources() {
    let module = Module::load();
    let policies = lambda_policies(&module);
    let writes: Vec<&Statement> = policies["rds_events"]
        .iter()
        .filter(|s| s.actions.iter().any(|a| a == "dynamodb:PutItem"))
        .collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(
        writes[0]
            .conditions
            .iter()
            .any(|c| c.test == "ForAllValues:StringLike"
                && c.variable == "dynamodb:LeadingKeys"
                && c.values == vec!["ROUTE#*".to_owned()]),
        "{:?}",
        writes[0]
    );
    for (function, statements) in &policies {
        for s in statements.iter().filter(|s| {
            s.actions
                .iter()
                .any(|a| a == "elasticloadbalancing:AddTags")
        }) {
            let on_create = s
                .conditions
                .iter()
                .any(|c| c.variable == "elasticloadbalancing:CreateAction");
            let migration = function == "dns_audit"
                && s.actions == vec!["elasticloadbalancing:AddTags".to_owned()]
                && s.conditions.iter().any(|c| c.variable == "aws:TagKeys");
            assert!(
                on_create || migration,
                "{function}: AddTags beyond tag-on-create: {s:?}"
            );
        }
    }
}
