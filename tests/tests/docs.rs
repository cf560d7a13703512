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

/// One line of demo output with what varies per run blanked: box drawing and padding (column
/// widths follow the timings), the DNS port, milliseconds and seconds.
fn demo_words(line: &str) -> String {
    let text: String = line.chars().filter(|c| !"─═┌┐└┘│╞╡".contains(*c)).collect();
    let words: Vec<&str> = text.split_whitespace().collect();
    let digits = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.');
    (0..words.len())
        .map(|i| {
            let (w, prev, next) = (
                words[i],
                i.checked_sub(1).map(|p| words[p]),
                words
                    .get(i + 1)
                    .map(|n| n.trim_end_matches([';', ',', ')'])),
            );
            if w.contains("127.0.0.1:") {
                "127.0.0.1:PORT".to_owned()
            } else if digits(w) && (matches!(next, Some("ms" | "s")) || prev == Some("duration_ms"))
            {
                "N".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn demo_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(demo_words)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The README's copy of the demo's output is what the demo prints today (ports and timings
/// aside): a real run of the demo binary, as `./demo.sh` starts it, with stdout a pipe.
#[test]
fn the_readme_demo_output_is_what_the_demo_prints() {
    let readme = readme();
    let section = &readme[readme
        .find("## The demo")
        .expect("README has a demo section")..];
    let block = section
        .split("```")
        .nth(1)
        .expect("the demo section has a code block");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_demo"))
        .env_remove("COLUMNS")
        .output()
        .expect("demo runs");
    let printed = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "demo failed: {printed}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (want, got) = (demo_lines(block), demo_lines(&printed));
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w, g, "README demo block line {} differs from a run", i + 1);
    }
    assert_eq!(
        want.len(),
        got.len(),
        "README demo block has {} lines, a run prints {}:\n{printed}",
        want.len(),
        got.len()
    );
}

#[test]
fn demo_output_comparison_ignores_ports_and_timings_only() {
    assert_eq!(
        demo_words("│ orders   10.1.2.3   129 ms    │"),
        "orders 10.1.2.3 N ms"
    );
    assert_eq!(
        demo_words("step 1: moto and DNS on 127.0.0.1 (127.0.0.1:41480), three"),
        "step 1: moto and DNS on 127.0.0.1 127.0.0.1:PORT three"
    );
    assert_eq!(demo_words("│ duration_ms   1813  │"), "duration_ms N");
    assert_eq!(
        demo_words("finished in 3.5 s; logs"),
        "finished in N s; logs"
    );
    assert_ne!(demo_words("PutItem: 5"), demo_words("PutItem: 6"));
}

/// `export` lines as the demo prints them (`export K=V K2='V2'`) as variables.
fn exported(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("export "))
        .flat_map(|l| l.split(' '))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('\'').to_owned()))
        .collect()
}

/// The README's "Try `plr` against the demo": `./demo.sh --keep` leaves moto and DNS running
/// and prints the exports; `plr routes list` with only those (and PATH) lists the demo's three
/// routes; Ctrl-C stops the demo cleanly. `plr` is the binary `cargo test --workspace` builds
/// beside the demo.
#[test]
fn the_kept_demo_serves_plr_with_the_exports_it_prints() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let plr = std::path::Path::new(env!("CARGO_BIN_EXE_demo")).with_file_name("plr");
    assert!(
        plr.exists(),
        "{} is missing: run `cargo build -p privatelink-router --bin plr` (or the README's test command)",
        plr.display()
    );
    let mut demo = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg("--keep")
        .env_remove("COLUMNS")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("demo starts");
    let mut lines = Vec::new();
    let mut output = BufReader::new(demo.stdout.take().unwrap()).lines();
    for line in output.by_ref() {
        let line = line.expect("demo output");
        let done = line.starts_with("cargo run") && line.ends_with(" catalog");
        lines.push(line);
        if done {
            break;
        }
    }
    let vars = exported(&lines);
    assert!(
        vars.iter().any(|(k, _)| k == "ROUTER_FLEET"),
        "no exports printed: {lines:#?}"
    );
    // `plr` with only the printed exports (and PATH); 250 columns for the tables.
    let run_plr = |args: &[&str]| {
        Command::new(&plr)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("COLUMNS", "250")
            .envs(exported(&lines))
            .output()
            .expect("plr runs")
    };
    let listed = run_plr(&["routes", "list", "--output", "json"]);
    // Issue #18: the catalog, one line per route with a connection string.
    let catalog = run_plr(&["catalog"]);
    // Issue #28: what each owner holds against the quotas.
    let ports = run_plr(&["ports"]);
    // SIGINT, as Ctrl-C sends it.
    unsafe { libc::kill(demo.id() as i32, libc::SIGINT) };
    let rest: Vec<String> = output.map_while(Result::ok).collect();
    let stopped = demo.wait().expect("demo stops");
    let out = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.status.success(),
        "plr: {out}{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    for route in ["\"orders\"", "\"billing\"", "\"billing-ro\""] {
        assert!(out.contains(route), "{route} not listed: {out}");
    }
    let ports = String::from_utf8_lossy(&ports.stdout);
    assert!(
        ports.contains("quotas per owner that is not an admin: routes no cap")
            && ports.contains("arn:aws:iam::123456789012:role/pipeline")
            && ports.contains("3 of no cap"),
        "plr ports shows what the pipeline holds: {ports}"
    );
    let catalog = String::from_utf8_lossy(&catalog.stdout);
    for (route, url) in [
        (
            "orders",
            "jdbc:postgresql://orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com:10000/<database>?sslmode=verify-full",
        ),
        (
            "billing",
            "jdbc:postgresql://databases.demo.internal:10001/<database>?sslmode=require",
        ),
        (
            "billing-ro",
            "jdbc:postgresql://databases.demo.internal:10002/<database>?sslmode=require",
        ),
    ] {
        let line = catalog.lines().find(|l| l.contains(&format!(" {route} ")));
        assert!(
            line.is_some_and(|l| l.contains(url)),
            "{route}: no line with {url}:\n{catalog}"
        );
    }
    assert!(stopped.success(), "demo --keep exited {stopped} on Ctrl-C");
    assert_eq!(rest, ["stopped"]);
}
