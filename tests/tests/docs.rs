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

/// Every repository path the README names (events, sources, Terraform, tests) exists: a
/// renamed file breaks this test, not a reader's copy-paste.
#[test]
fn every_path_the_readme_names_exists() {
    let readme = readme();
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let prefixes = [
        "events/",
        "shared/",
        "functions/",
        "infra/",
        "tests/",
        ".ci/",
    ];
    let mut missing = Vec::new();
    let mut checked = 0;
    for token in readme.split(|c: char| c.is_whitespace() || "`()[]|,;\"'".contains(c)) {
        let path = token.trim_end_matches(['.', ':']);
        // Placeholders (`functions/<lambda>/`) and globs are not paths.
        if !prefixes.iter().any(|p| path.starts_with(p)) || path.contains(['<', '*', '{', '$']) {
            continue;
        }
        checked += 1;
        if !root.join(path).exists() {
            missing.push(path.to_owned());
        }
    }
    assert!(
        checked > 10,
        "only {checked} paths found: the scan is broken"
    );
    assert!(
        missing.is_empty(),
        "the README names paths that do not exist: {missing:?}"
    );
}
