//! The README documents every variable the code reads, and nothing it doesn't.

use privatelink_router::config::ENV_VARS;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md")
}

#[test]
fn readme_documents_every_environment_variable_the_code_reads() {
    let readme = readme();
    for var in ENV_VARS {
        assert!(
            readme.contains(&format!("| `{var}` |")),
            "README lacks a row for {var}"
        );
    }
}

#[test]
fn readme_documents_no_variable_the_code_does_not_read() {
    let readme = readme();
    for line in readme.lines().filter(|l| l.starts_with("| `ROUTER_")) {
        let var = line.trim_start_matches("| `").split('`').next().unwrap();
        assert!(
            ENV_VARS.contains(&var),
            "README documents {var}, which the code does not read"
        );
    }
}

#[test]
fn readme_states_the_demo_and_test_commands() {
    let readme = readme();
    assert!(readme.contains("`./demo.sh`"));
    assert!(readme.contains("`cargo test --workspace --locked`"));
}
