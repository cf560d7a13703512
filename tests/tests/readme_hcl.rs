//! Issue #28 case 5 (and the class behind it): the READMEs' Terraform is checked against the
//! module. "What database owners must allow" told users to `toset()` a map output, which does
//! not plan, and any `for_each` over the NLBs' addresses fails on a first apply ("Invalid
//! for_each argument": the addresses are unknown at plan time). Every ```hcl block of the
//! READMEs must:
//! - parse as HCL;
//! - reference only outputs the module declares (`module.router.<output>`), set only variables
//!   it declares (a `module` block whose source is the module), and import into resources it has;
//! - use in `for_each` only outputs whose keys are known at plan time (a `for` over variables
//!   or `range()`, never over resources or data sources);
//! - when complete (no `<placeholder>`, no `# ...` elision), appear verbatim in an example under
//!   `infra/examples/`, which `.ci/run` validates with the real `terraform validate` against the
//!   provider schemas (`../shared/tfschema`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the repository root")
        .to_path_buf()
}

/// The ```hcl blocks of a Markdown file, with the line each starts on.
fn hcl_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (n, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed.starts_with("```hcl") => current = Some((n + 1, vec![])),
            Some(_) if trimmed.starts_with("```") => {
                let (start, lines) = current.take().expect("open block");
                out.push((start, dedent(&lines)));
            }
            Some((_, lines)) => lines.push(line),
            None => {}
        }
    }
    out
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module's `.tf` text, all files.
fn module_text() -> String {
    let dir = repo_root().join("infra/modules/privatelink-router");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| fs::read_to_string(p).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(kind, labels)` of the module's top-level blocks.
fn module_blocks() -> Vec<(String, Vec<String>, hcl::Body)> {
    let body = hcl::parse(&module_text()).expect("module parses");
    body.blocks()
        .map(|b| {
            (
                b.identifier().to_owned(),
                b.labels().iter().map(|l| l.as_str().to_owned()).collect(),
                b.body().clone(),
            )
        })
        .collect()
}

fn names(blocks: &[(String, Vec<String>, hcl::Body)], kind: &str) -> BTreeSet<String> {
    blocks
        .iter()
        .filter(|(k, _, _)| k == kind)
        .map(|(_, labels, _)| labels[0].clone())
        .collect()
}

/// Outputs whose keys are known at plan time: a `for` expression whose collections are made of
/// variables (`var.x`, `range()`, `setproduct()` of them; the seeds' routes), never of a
/// resource, data source or other local.
fn plan_time_keyed(blocks: &[(String, Vec<String>, hcl::Body)]) -> BTreeSet<String> {
    blocks
        .iter()
        .filter(|(k, _, _)| k == "output")
        .filter(|(_, _, body)| {
            let Some(value) = body.attributes().find(|a| a.key() == "value") else {
                return false;
            };
            let text = value.expr().to_string();
            let collections: Vec<&str> = text
                .split(" in ")
                .skip(1)
                .map(|rest| rest.split(':').next().unwrap_or("").trim())
                .collect();
            text.trim_start().starts_with('{')
                && !collections.is_empty()
                && collections.iter().all(|c| {
                    // local.seed_routes: keyed by the seed variables' labels (seeds.tf).
                    c.starts_with("local.seed_routes")
                        || ((c.contains("var.") || c.contains("range("))
                            && !["data.", "aws_", "module.", "local."]
                                .iter()
                                .any(|r| c.contains(r)))
                })
        })
        .map(|(_, labels, _)| labels[0].clone())
        .collect()
}

/// Why a `for_each` line would not plan on a first apply: it iterates over a module output
/// whose keys are not known at plan time, or turns an output's values (the NLBs' addresses,
/// unknown until they exist) into keys with `toset`, `values`, `flatten` or a splat.
fn for_each_problems(line: &str, plan_time: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    let refs = references(line);
    if refs.is_empty() {
        return out;
    }
    if ["toset(", "values(", "flatten(", "[*]"]
        .iter()
        .any(|f| line.contains(f))
    {
        out.push(format!(
            "for_each makes keys of a module output's values, unknown at plan time (\"Invalid for_each argument\" on a first apply): {}",
            line.trim()
        ));
    }
    for (name, _) in refs {
        if !plan_time.contains(&name) {
            out.push(format!(
                "for_each over module.router.{name}, whose keys are not known at plan time; plan-time keyed outputs: {plan_time:?}"
            ));
        }
    }
    out
}

/// Every `.tf` file under `infra/examples/`, as text.
fn examples() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in fs::read_dir(repo_root().join("infra/examples")).unwrap() {
        let dir = dir.unwrap().path();
        for file in fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "tf") {
                out.push((file.clone(), fs::read_to_string(&file).unwrap()));
            }
        }
    }
    out
}

/// Every `module.router.<name>[.<next>]` in `text`: the name, and the next segment if any.
fn references(text: &str) -> Vec<(String, Option<String>)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    text.match_indices("module.router.")
        .map(|(at, m)| {
            let rest = &text[at + m.len()..];
            let name = ident(rest);
            let next = rest[name.len()..]
                .strip_prefix('.')
                .map(ident)
                .filter(|n| !n.is_empty());
            (name, next)
        })
        .collect()
}

fn squash(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_readme_hcl_block_plans_against_the_module() {
    let blocks = module_blocks();
    let outputs = names(&blocks, "output");
    let variables = names(&blocks, "variable");
    let resources: BTreeSet<String> = blocks
        .iter()
        .filter(|(k, _, _)| k == "resource")
        .map(|(_, labels, _)| format!("{}.{}", labels[0], labels[1]))
        .collect();
    let plan_time = plan_time_keyed(&blocks);
    let examples = examples();

    let mut problems = Vec::new();
    let mut seen = 0;
    for readme in [
        "README.md",
        "infra/README.md",
        "infra/modules/privatelink-router/README.md",
    ] {
        let text = fs::read_to_string(repo_root().join(readme)).unwrap();
        for (line, block) in hcl_blocks(&text) {
            seen += 1;
            let at = format!("{readme}:{line}");
            let body = match hcl::parse(&block) {
                Ok(body) => body,
                Err(e) => {
                    problems.push(format!("{at}: not HCL: {e}"));
                    continue;
                }
            };
            for (name, next) in references(&block) {
                let is_resource = next
                    .as_ref()
                    .is_some_and(|r| resources.contains(&format!("{name}.{r}")));
                if !outputs.contains(&name) && !is_resource {
                    problems.push(format!(
                        "{at}: module.router.{name} is no output (nor resource) of the module"
                    ));
                }
            }
            for line in block
                .lines()
                .filter(|l| l.trim_start().starts_with("for_each"))
            {
                problems.extend(
                    for_each_problems(line, &plan_time)
                        .into_iter()
                        .map(|p| format!("{at}: {p}")),
                );
            }
            for module in body.blocks().filter(|b| b.identifier() == "module") {
                for attr in module.body().attributes() {
                    let key = attr.key();
                    if ![
                        "source",
                        "version",
                        "providers",
                        "count",
                        "for_each",
                        "depends_on",
                    ]
                    .contains(&key)
                        && !variables.contains(key)
                    {
                        problems.push(format!("{at}: the module has no variable {key}"));
                    }
                }
            }
            let complete = !block.contains('<') && !block.contains("# ...");
            if complete
                && !examples
                    .iter()
                    .any(|(_, tf)| squash(tf).contains(&squash(&block)))
            {
                problems.push(format!(
                    "{at}: a complete block must be part of an example under infra/examples/ (which CI validates against the provider schemas)"
                ));
            }
        }
    }
    assert!(seen >= 3, "the READMEs' hcl blocks were found ({seen})");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_block_reader_finds_indented_blocks_and_the_checks_catch_the_old_example() {
    let md = "text\n\n   ```hcl\n   a = 1\n     b = 2\n   ```\n";
    assert_eq!(hcl_blocks(md), vec![(3, "a = 1\n  b = 2".to_owned())]);
    let blocks = module_blocks();
    let plan_time = plan_time_keyed(&blocks);
    assert!(plan_time.contains("nlb_private_ip_cidrs"), "{plan_time:?}");
    let old = "for_each = toset(module.router.nlb_private_ips)";
    assert!(!for_each_problems(old, &plan_time).is_empty());
    let flattened = "for_each = toset(flatten(values(module.router.nlb_private_ips)))";
    assert!(!for_each_problems(flattened, &plan_time).is_empty());
    let good = "for_each = module.router.nlb_private_ip_cidrs";
    assert_eq!(for_each_problems(good, &plan_time), Vec::<String>::new());
}
