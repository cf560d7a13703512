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
//! The scan reads code only (comments and doc comments may name anything), as text made plain
//! first ([`code_files`]): it sees through multi-line `use` groups, `super::` paths and call
//! chains broken over lines, not through a renamed crate (`use crate as c;`) or a macro.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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

/// Every file of `shared/src/` as `(file, code)`: comment lines dropped, and the rest made
/// plain so that the spellings a text scan would miss read like the simple ones:
/// - whitespace dropped ([`without_whitespace`]), so a path or a call chain that rustfmt
///   breaks over lines (`ctx.clients` / `.elb` / `.send()`) reads as one;
/// - `super::` paths written from the crate root (`super::super::flows` in `domain/window.rs`
///   is `crate::flows`);
/// - each `crate::{a, b::{c}}` group also spelled out as `crate::a` and `crate::b::{c}`.
fn code_files() -> &'static [(String, String)] {
    static FILES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    FILES.get_or_init(read_code_files)
}

/// Reads and makes plain every file of `shared/src/`; [`code_files`] keeps the result.
fn read_code_files() -> Vec<(String, String)> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/src"));
    let mut files = Vec::new();
    rust_files(root, "", &mut files);
    assert!(
        files.len() > 40,
        "only {} files found: the scan is broken",
        files.len()
    );
    files
        .into_iter()
        .map(|file| {
            let text = fs::read_to_string(root.join(&file)).expect("readable");
            let lines: Vec<&str> = text
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect();
            let code = without_whitespace(&lines.join("\n"));
            let file = file.display().to_string();
            let code = spell_out_groups(&from_crate_root(&code, &module_path(&file)));
            (file, code)
        })
        .collect()
}

/// `code` without whitespace, except one space between two words (`use super::x` keeps its
/// space; `ctx` / `.clients` on two lines reads `ctx.clients`).
fn without_whitespace(code: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(code.len());
    let mut gap = false;
    for c in code.chars() {
        if c.is_whitespace() {
            gap = true;
            continue;
        }
        if gap && word(c) && out.ends_with(word) {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    out
}

/// The module a file of `shared/src/` is: `domain/plan/tests.rs` → `[domain, plan, tests]`,
/// `domain/mod.rs` → `[domain]`, `lib.rs` → `[]`.
fn module_path(file: &str) -> Vec<String> {
    let mut path: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(
        path.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        path.pop();
    }
    path
}

/// `code` with every path that starts `super::` rewritten to start `crate::`.
fn from_crate_root(code: &str, module: &[String]) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("super::") {
        let before = &rest[..at];
        let starts_path = !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        out.push_str(before);
        let mut after = &rest[at..];
        if !starts_path {
            out.push_str("super::");
            rest = &after["super::".len()..];
            continue;
        }
        let mut ups = 0;
        while let Some(tail) = after.strip_prefix("super::") {
            ups += 1;
            after = tail;
        }
        let kept = module.len().saturating_sub(ups);
        out.push_str("crate::");
        for segment in &module[..kept] {
            out.push_str(segment);
            out.push_str("::");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `code` followed by `crate::ITEM` for each top-level item of every `crate::{…}` group.
fn spell_out_groups(code: &str) -> String {
    let mut out = code.to_owned();
    for (at, _) in code.match_indices("crate::{") {
        let group = &code[at + "crate::{".len()..];
        let (mut depth, mut item) = (0usize, String::new());
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push_str(&format!(";crate::{}", std::mem::take(&mut item)));
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        out.push_str(&format!(";crate::{item}"));
    }
    out
}

/// `text[from..to]`, widened to the nearest character boundaries.
fn excerpt(text: &str, from: usize, to: usize) -> &str {
    let mut from = from.min(text.len());
    let mut to = to.min(text.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    &text[from..to]
}

/// Where files under `folder` contain any of `needles`, unless the code there reads as one of
/// `allowed` (which must contain the needle), as `shared/src/FILE: …code…`.
fn violations(folder: &str, needles: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (file, code) in code_files() {
        if !file.starts_with(folder) {
            continue;
        }
        for needle in needles {
            for (at, _) in code.match_indices(needle) {
                let is_allowed = allowed.iter().any(|a| {
                    a.find(needle).is_some_and(|off| {
                        at >= off && code.get(at - off..).is_some_and(|c| c.starts_with(a))
                    })
                });
                if !is_allowed {
                    let near = excerpt(code, at.saturating_sub(40), at + needle.len() + 40);
                    found.push(format!("shared/src/{file}: …{near}…"));
                }
            }
        }
    }
    found
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
        "domain/ reaches outside the domain (pass the value in from the flow or reconcile step \
         that needs it, or move the code out of domain/):\n{}",
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
        "a dependency points the wrong way (flows → reconcile → domain; adapters take and give \
         domain values, so move the code to the flow or reconcile step that calls the \
         adapter):\n{}",
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
        "AWS SDK use outside shared/src/adapters (add a function to the adapter in \
         shared/src/adapters/aws/ and call that):\n{}",
        found.join("\n")
    );
}
