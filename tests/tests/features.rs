//! Every build of the workspace compiles each dependency once.
//!
//! Cargo (resolver 2) turns a dependency's features on per build, and a crate compiled with
//! other features is compiled again, with everything above it. `cargo test --workspace` sees
//! the tests' dev-dependencies; `./demo.sh` (`cargo build -p router-tests --bin demo`), `cargo
//! run -p privatelink-router --bin plr` and a Lambda's build do not. Without
//! `workspace-hack/`, the demo after the tests rebuilt the AWS SDKs: about 4 minutes and 1.5 GB
//! on a 2-core machine, in CI and for every newcomer who runs the README's two commands.
//!
//! The check asks `cargo tree` which features each build turns on and compares every member's
//! own build with the workspace's test build.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// What `cargo tree --format FORMAT ARGS` prints for this workspace (offline: the tests run
/// after a build, which fetched every crate).
fn cargo_tree(args: &[&str], format: &str) -> String {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["--format", format])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The members built on their own (`cargo build -p NAME`); `workspace-hack` only ever builds
/// under another member.
fn members() -> BTreeSet<String> {
    let names: BTreeSet<String> = cargo_tree(&["--workspace", "--depth", "0"], "{p}")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "workspace-hack")
        .map(str::to_string)
        .collect();
    assert!(
        names.contains("privatelink-router") && names.contains("router-tests"),
        "members: {names:?}"
    );
    names
}

/// `"name vX.Y.Z"` → the feature lists it is compiled with in one build (a crate built both
/// for build scripts and for the target can appear twice). Workspace members are left out.
fn features(args: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
    let mut sets: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in cargo_tree(args, "{p} {f}").lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        let rest: Vec<&str> = words.collect();
        // A path crate reads `name vX (/path)`: a workspace member.
        if rest.iter().any(|w| w.starts_with("(/")) {
            continue;
        }
        // Markers read `(proc-macro)` or `(*)`; the feature list is the one other word.
        let feature_list = rest.iter().find(|w| !w.starts_with('(')).copied();
        sets.entry(format!("{name} {version}"))
            .or_default()
            .insert(feature_list.unwrap_or("").to_string());
    }
    sets
}

/// The features of one build's variants, merged.
fn merged(variants: &BTreeSet<String>) -> BTreeSet<&str> {
    variants
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|f| !f.is_empty())
        .collect()
}

#[test]
fn every_build_compiles_each_dependency_once() {
    let tests = features(&["--workspace", "--edges", "normal,build,dev"]);
    assert!(
        tests.keys().any(|k| k.starts_with("aws-sdk-ec2 ")),
        "cargo tree listed {} crates and no aws-sdk-ec2: the parse is broken",
        tests.len()
    );
    let mut missing: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for member in members() {
        let own = features(&["--package", &member, "--edges", "normal,build"]);
        assert!(
            own.len() > 100,
            "{member}: cargo tree listed only {} crates",
            own.len()
        );
        for (krate, variants) in &own {
            let Some(in_tests) = tests.get(krate) else {
                panic!("{member} builds {krate}, which the workspace's test build does not");
            };
            if !variants.is_subset(in_tests) {
                let all = merged(in_tests).into_iter().map(str::to_string);
                missing.entry(krate.clone()).or_default().extend(all);
            }
        }
    }
    let lines: Vec<String> = missing
        .iter()
        .map(|(krate, features)| {
            let (name, version) = krate.split_once(" v").expect("name vX");
            let quoted: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
            let features = quoted.join(", ");
            // The version requirement the entries use: "1" for 1.x.y, "0.17" for 0.17.y.
            let major = match version.split('.').collect::<Vec<_>>()[..] {
                ["0", minor, ..] => format!("0.{minor}"),
                [major, ..] => major.to_string(),
                [] => unreachable!("split yields one part at least"),
            };
            format!("{name} = {{ version = \"{major}\", features = [{features}] }}")
        })
        .collect();
    assert!(
        lines.is_empty(),
        "the tests build these crates with more features than a member's own build, so \
         `./demo.sh` or `cargo run --bin plr` compiles them again; merge these lines into \
         workspace-hack/Cargo.toml [dependencies] (each lists every feature the tests turn on; \
         keep an entry's `default-features = false`), then run `cargo update --workspace --offline` so Cargo.lock records the \
         change for `--locked`, and commit both:\n{}",
        lines.join("\n")
    );
}
