//! Prints the routes API's OpenAPI document as YAML, top-level keys in the usual order:
//! `cargo run -q -p routes-api --example openapi > functions/routes-api/openapi.yaml`.

fn main() {
    let doc = routes_api::openapi::document();
    let mut ordered = serde_norway::Mapping::new();
    for key in ["openapi", "info", "security", "paths", "components"] {
        let value = serde_norway::to_value(&doc[key]).expect("the document is JSON");
        ordered.insert(key.into(), value);
    }
    print!(
        "# Generated from the Rust types by `cargo run -q -p routes-api --example openapi`: do not edit.\n{}",
        serde_norway::to_string(&ordered).expect("YAML")
    );
}
