//! The API's OpenAPI 3.1 document, generated: every schema comes from the Rust type the
//! handler serializes (or, for the request body, deserializes) through `schemars`, so the
//! document cannot drift from the answers; only the prose about paths lives here.
//! `functions/routes-api/openapi.yaml` is this document as YAML — regenerate it with
//! `cargo run -q -p routes-api --example openapi > functions/routes-api/openapi.yaml`; a test
//! fails while the file differs.
//!
//! Schemas are JSON Schema 2020-12 (OpenAPI 3.1 "Schema Object"). Objects in answers are
//! closed (`additionalProperties: false`): an answer carries no field the document does not
//! name, and the contract test sends real answers through it.

use privatelink_router::flows::service::{CreateRequest, RouteDetail, RouteView};
use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::{CatalogPage, Deleted, ErrorBody, ErrorCode, RoutePage, SyncResult};

/// Where components live in the document (a JSON pointer).
const COMPONENTS: &str = "/components/schemas";

const DESCRIPTION: &str = "\
Expose a database to Databricks serverless (or any PrivateLink consumer) through the router: \
each route is one database DNS name served on one NLB listener port of a router (NLB + VPC \
endpoint service). Served by the `routes-api` Lambda behind an API Gateway HTTP API (payload \
format 2.0).

**Authentication.** Every operation requires AWS SigV4 (IAM authorization). The caller is the \
IAM principal API Gateway reports (`requestContext.authorizer.iam.userArn`); an assumed-role \
session `arn:aws:sts::<account>:assumed-role/<role>/<session>` counts as its role \
`arn:aws:iam::<account>:role/<role>`, so every session of a pipeline role owns the same \
routes. Principals in `ROUTER_ADMIN_PRINCIPALS` may see and change every route; other callers \
only the routes they created.

**Ports.** A route's `listener_port` is allocated once from `ROUTER_PORT_RANGE` (default \
10000-10999) and never changes for the life of the route; creating or deleting other routes \
never moves it. A deleted route's port is quarantined for `ROUTER_PORT_QUARANTINE_SECONDS` \
(default 7 days) before reuse. An NLB has at most 50 listeners (AWS hard limit); new routes go \
to the first router of the fleet with room.

**Errors.** Every error is `{\"error\": {\"code\", \"message\"}}` with a stable `code` (schema \
`ErrorCode`; one HTTP status per code). Input problems are always 4xx and write nothing; 5xx \
means AWS (ELBv2/DynamoDB/EC2) failed, and retrying the same request completes a change cut \
short. API Gateway answers some requests itself, before the router sees them, with its own \
body `{\"message\": \"...\"}`: 403 (signature or IAM policy), 429 (throttled) and 504 \
(integration timeout).

**Generated** from the Rust types the `routes-api` Lambda serializes; answers carry no field \
this document does not name.";

/// Closes every object schema that does not say otherwise (`additionalProperties: false`),
/// so a field the types do not name fails validation. Maps (`additionalProperties` set) and
/// schemas that are no object stay as they are.
#[derive(Clone)]
struct ClosedObjects;

impl Transform for ClosedObjects {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(object) = schema.as_object_mut() {
            if object.contains_key("properties") && !object.contains_key("additionalProperties") {
                object.insert("additionalProperties".into(), false.into());
            }
        }
    }
}

/// A generator writing definitions where the document keeps them.
fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| s.definitions_path = COMPONENTS.into())
        .with_transform(RecursiveTransform(ClosedObjects))
        .into_generator()
}

/// The whole document, as JSON.
pub fn document() -> Value {
    // Answers as the handler serializes them.
    let mut answers = generator(SchemaSettings::draft2020_12().for_serialize());
    let route = answers.subschema_for::<RouteView>();
    let detail = answers.subschema_for::<RouteDetail>();
    let page = answers.subschema_for::<RoutePage>();
    let catalog = answers.subschema_for::<CatalogPage>();
    let deleted = answers.subschema_for::<Deleted>();
    let sync = answers.subschema_for::<SyncResult>();
    let error = answers.subschema_for::<ErrorBody>();
    let route_id = answers.subschema_for::<privatelink_router::domain::route::RouteId>();
    let mut schemas = answers.take_definitions(true);
    // The request body as the handler deserializes it, self-contained: its defaults make
    // fields optional that answers always carry.
    let mut requests = generator(
        SchemaSettings::draft2020_12()
            .for_deserialize()
            .with(|s| s.inline_subschemas = true),
    );
    let create = requests.root_schema_for::<CreateRequest>();
    let mut create = create.to_value();
    if let Some(o) = create.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
    }
    schemas.insert("CreateRoute".into(), create);

    let json_of = |schema: &Schema| json!({"application/json": {"schema": schema}});
    let errors = |statuses: &[u16]| -> Map<String, Value> {
        statuses
            .iter()
            .map(|s| {
                let name = response_name(*s);
                (
                    s.to_string(),
                    json!({"$ref": format!("#/components/responses/{name}")}),
                )
            })
            .collect()
    };
    let with = |mut ok: Map<String, Value>, statuses: &[u16]| {
        ok.extend(errors(statuses));
        Value::Object(ok)
    };
    let location = json!({"$ref": "#/components/headers/Location"});
    let list_parameters = json!([
        {"name": "owner", "in": "query", "description": "Only routes owned by this principal ARN.", "schema": {"type": "string"}},
        {"name": "tag", "in": "query", "description": "`KEY` (routes having the tag) or `KEY=VALUE`.", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": crate::MAX_PAGE, "default": crate::DEFAULT_PAGE}},
        {"name": "next", "in": "query", "description": "The `next` of the previous page.", "schema": route_id},
    ]);

    let mut codes_by_status: std::collections::BTreeMap<u16, Vec<(String, String)>> =
        Default::default();
    for (code, meaning) in error_code_meanings(&schemas) {
        let status = code_status(&code);
        codes_by_status
            .entry(status)
            .or_default()
            .push((code, meaning));
    }
    let responses: Map<String, Value> = codes_by_status
        .iter()
        .map(|(status, codes)| {
            let text = codes
                .iter()
                .map(|(code, meaning)| format!("`{code}`: {meaning}"))
                .collect::<Vec<_>>()
                .join("\n\n");
            let mut response = json!({"description": text, "content": json_of(&error)});
            match status {
                405 => {
                    response["headers"] = json!({"Allow": {"$ref": "#/components/headers/Allow"}})
                }
                409 => {
                    response["headers"] =
                        json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}})
                }
                _ => {}
            }
            (response_name(*status).to_owned(), response)
        })
        .collect();

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "privatelink-router routes API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": DESCRIPTION,
        },
        "security": [{"sigv4": []}],
        "paths": {
            "/catalog": {
                "get": {
                    "operationId": "getCatalog",
                    "summary": "How consumers reach the routes the caller may see, in id order",
                    "description": "Per route: the consumer address (its TLS name, or the router's consumer domain, and the listener port), JDBC and native connection strings for its engine, the endpoint service, health, and the NLB IPs its database must admit. Per router of those routes: the domain names its Databricks private endpoint rule must carry (at most 10). Filters and pages as `GET /routes`; reads one DescribeTargetHealth per route.",
                    "parameters": list_parameters.clone(),
                    "responses": with(
                        Map::from_iter([("200".into(), json!({"description": "One page.", "content": json_of(&catalog)}))]),
                        &[400, 401, 405, 500, 502],
                    ),
                },
            },
            "/routes": {
                "post": {
                    "operationId": "createRoute",
                    "summary": "Create a route (idempotent by name)",
                    "description": "Allocates a listener port on a router with room, creates the route's target group (IP targets, TCP, database attributes) and the listener on that port, registers the addresses the host resolves to, and returns the route. The same body again returns the same route with 200; a different body under an existing name is 409 `conflict`. A creation cut short by an AWS failure is completed by retrying the same request.",
                    "requestBody": {
                        "required": true,
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/CreateRoute"},
                            "example": {
                                "name": "orders",
                                "host": "orders.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com",
                                "port": 5432,
                                "tags": {"team": "payments"},
                            },
                        }},
                    },
                    "responses": with(
                        Map::from_iter([
                            ("201".into(), json!({"description": "Created now.", "headers": {"Location": location}, "content": json_of(&route)})),
                            ("200".into(), json!({"description": "Identical replay (or a retry that completed an interrupted creation).", "headers": {"Location": location}, "content": json_of(&route)})),
                        ]),
                        &[400, 401, 403, 409, 413, 422, 500, 502],
                    ),
                },
                "get": {
                    "operationId": "listRoutes",
                    "summary": "List the routes the caller may see, in id order",
                    "parameters": list_parameters,
                    "responses": with(
                        Map::from_iter([("200".into(), json!({"description": "One page.", "content": json_of(&page)}))]),
                        &[400, 401, 405, 500, 502],
                    ),
                },
            },
            "/routes/{id}": {
                "parameters": [{"$ref": "#/components/parameters/RouteId"}],
                "get": {
                    "operationId": "getRoute",
                    "summary": "A route with its current targets, their health, recent resolutions and the NLB's private IPs",
                    "responses": with(
                        Map::from_iter([("200".into(), json!({"description": "The route as ELB reports it now.", "content": json_of(&detail)}))]),
                        &[400, 401, 403, 404, 405, 500, 502],
                    ),
                },
                "delete": {
                    "operationId": "deleteRoute",
                    "summary": "Remove the listener and target group, and quarantine the port",
                    "description": "Marks the route `deleting` first; a failure midway is finished by retrying or by the audit.",
                    "responses": with(
                        Map::from_iter([("200".into(), json!({"description": "Deleted.", "content": json_of(&deleted)}))]),
                        &[400, 401, 403, 404, 405, 409, 500, 502],
                    ),
                },
            },
            "/routes/{id}/sync": {
                "parameters": [{"$ref": "#/components/parameters/RouteId"}],
                "post": {
                    "operationId": "syncRoute",
                    "summary": "Resolve the host now and reconcile the targets; returns the plan that was applied",
                    "description": "Re-creates a missing target group or listener first (a listener the router does not own on the route's port is reported in `conflicts`; the targets are reconciled anyway). Make-before-break: new addresses are registered at once; an address is deregistered only after it has been absent from the last `ROUTER_WINDOW` successful lookups — for Aurora reader and custom endpoints followed by DNS also for `ROUTER_READER_RETENTION_SECONDS`, and at once when it left the members the RDS API lists. A failed lookup changes nothing.",
                    "responses": with(
                        Map::from_iter([("200".into(), json!({"description": "The plan applied and the route afterwards.", "content": json_of(&sync)}))]),
                        &[400, 401, 403, 404, 405, 409, 500, 502],
                    ),
                },
            },
        },
        "components": {
            "securitySchemes": {"sigv4": {
                "type": "apiKey",
                "name": "Authorization",
                "in": "header",
                "description": "AWS Signature Version 4 (API Gateway IAM authorization, `execute-api:Invoke`).",
            }},
            "parameters": {"RouteId": {"name": "id", "in": "path", "required": true, "schema": route_id}},
            "headers": {
                "Location": {"description": "`/routes/{id}`: the route created or replayed.", "required": true, "schema": {"type": "string"}},
                "RetryAfter": {"description": "With `busy`: seconds to wait before retrying (1).", "schema": {"type": "integer", "minimum": 1}},
                "Allow": {"description": "The methods the path accepts, e.g. `GET, POST`.", "required": true, "schema": {"type": "string"}},
            },
            "responses": responses,
            "schemas": schemas,
        },
    })
}

/// The `components/responses` name of an error status.
fn response_name(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        413 => "PayloadTooLarge",
        422 => "Unprocessable",
        500 => "Internal",
        502 => "Upstream",
        _ => "Error",
    }
}

/// Every [`ErrorCode`] with its doc comment, as the generated `ErrorCode` schema lists them.
fn error_code_meanings(schemas: &Map<String, Value>) -> Vec<(String, String)> {
    let schema = &schemas[ErrorCode::schema_name().as_ref()];
    schema["oneOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let code = v["const"].as_str()?;
            Some((code.to_owned(), v["description"].as_str()?.to_owned()))
        })
        .collect()
}

/// The HTTP status of a code by its name.
fn code_status(code: &str) -> u16 {
    serde_json::from_value::<ErrorCode>(json!(code))
        .map(ErrorCode::status)
        .unwrap_or(500)
}

/// Every error code the document lists, in document order.
pub fn error_codes() -> Vec<String> {
    let mut answers = generator(SchemaSettings::draft2020_12().for_serialize());
    answers.subschema_for::<ErrorCode>();
    let mut codes: Vec<String> = error_code_meanings(&answers.take_definitions(true))
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    codes.sort();
    codes
}
