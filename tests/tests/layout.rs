//! The library's layout rules, as README "Where the code is" and `shared/src/lib.rs` state them:
//! each folder of `shared/src/` is one role and dependencies point one way.
//!
//! - `domain/` imports nothing of the crate outside `domain/`, and no AWS SDK, async runtime,
//!   HTTP or DNS crate: pure rules, no I/O.
//! - `adapters/` imports neither `flows/`, `reconcile/` nor the context; `reconcile/` does not
//!   import `flows/`.
//! - Only `adapters/` names an AWS SDK crate (`context.rs` builds the clients), and no flow or
//!   reconcile step calls an SDK client from the context (`ctx.clients.calls`, the call
//!   counter, is the one field they read).
//!
//! The scan reads code lines only (comments and doc comments may name anything).

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, as paths relative to `shared/src/`.
fn rust_files(root: &Path, dir: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path.strip_prefix(root).expect("under root").to_path_buf();
        if path.is_dir() {
            rust_files(root, rel.to_str().expect("utf-8 path"), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(rel);
        }
    }
}

/// `(file, line number, code line)` for every code line (not a comment) of `shared/src/`.
fn code_lines() -> Vec<(String, usize, String)> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src"));
    let mut files = Vec::new();
    rust_files(root, "", &mut files);
    assert!(
        files.len() > 40,
        "only {} files found: the scan is broken",
        files.len()
    );
    let mut lines = Vec::new();
    for file in files {
        let text = fs::read_to_string(root.join(&file)).expect("readable");
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if !code.starts_with("//") {
                lines.push((file.display().to_string(), i + 1, code.to_owned()));
            }
        }
    }
    lines
}

/// The lines of files under `folder` that contain any of `needles`.
fn violations(folder: &str, needles: &[&str], allowed: &[&str]) -> Vec<String> {
    code_lines()
        .into_iter()
        .filter(|(file, _, _)| file.starts_with(folder))
        .filter(|(_, _, code)| {
            needles.iter().any(|n| code.contains(n)) && !allowed.iter().any(|a| code.contains(a))
        })
        .map(|(file, n, code)| format!("shared/src/{file}:{n}: {code}"))
        .collect()
}

#[test]
fn the_domain_is_pure() {
    let found = violations(
        "domain/",
        &[
            "crate::adapters",
            "crate::flows",
            "crate::reconcile",
            "crate::context",
            "crate::config",
            "aws_sdk",
            "aws_config",
            "aws_smithy",
            "tokio",
            "reqwest",
            "hickory",
        ],
        &[],
    );
    assert!(
        found.is_empty(),
        "domain/ reaches outside the domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn dependencies_point_one_way() {
    let mut found = violations(
        "adapters/",
        &["crate::flows", "crate::reconcile", "crate::context"],
        &[],
    );
    found.extend(violations("reconcile/", &["crate::flows"], &[]));
    assert!(
        found.is_empty(),
        "a dependency points the wrong way:\n{}",
        found.join("\n")
    );
}

#[test]
fn only_adapters_name_the_aws_sdk_or_call_its_clients() {
    let sdk = ["aws_sdk", "aws_config", "aws_smithy"];
    let mut found = Vec::new();
    for folder in ["flows/", "reconcile/", "domain/", "bin/"] {
        found.extend(violations(folder, &sdk, &[]));
        found.extend(violations(folder, &[".clients."], &[".clients.calls"]));
    }
    // The composition root builds the clients, and nothing else touches them.
    found.extend(
        violations("context.rs", &sdk, &["aws_sdk_secretsmanager::Client::new"])
            .into_iter()
            .chain(violations("config.rs", &sdk, &[])),
    );
    assert!(
        found.is_empty(),
        "AWS SDK use outside shared/src/adapters:\n{}",
        found.join("\n")
    );
}
