//! The `plr` CLI end to end against moto and the loopback DNS server, asserting on its JSON.

use std::collections::BTreeMap;
use std::process::Command;

use router_tests::fixtures::{moto, Bed};
use serde_json::Value;

/// A change to `plr`'s environment: set a variable, or remove it (`None`).
type EnvChange<'a> = (&'a str, Option<&'a str>);

async fn plr(bed: &Bed, args: &[&str]) -> (bool, Value, String) {
    let args: Vec<&str> = ["--output", "json"].iter().chain(args).copied().collect();
    let (code, stdout, stderr) = plr_with(bed, &args, &[]).await;
    (
        code == Some(0),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

/// `plr <args>` against the bed's moto with its `ROUTER_*` variables and test
/// credentials, `changes` applied to that environment (`None` removes a variable).
async fn plr_with(
    bed: &Bed,
    args: &[&str],
    changes: &[EnvChange<'_>],
) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plr"))
        .args(args)
        .env_clear()
        .envs(plr_env(bed, changes).await)
        .output()
        .expect("plr runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs plr on a pseudo-terminal (util-linux `script`, as a person at a shell), typing
/// `input`; its exit code and everything the terminal showed.
async fn plr_on_terminal(bed: &Bed, args: &[&str], input: &str) -> (Option<i32>, String) {
    use std::io::Write;
    let command = std::iter::once(env!("CARGO_BIN_EXE_plr"))
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .envs(plr_env(bed, &[]).await)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux script runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The environment plr gets: the bed's router variables, moto, and no other credentials.
async fn plr_env(bed: &Bed, changes: &[EnvChange<'_>]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = bed.env.clone().into_iter().collect();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", moto().await.endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        // No profile files: credentials come only from what a test sets.
        ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
    ] {
        env.insert(k.into(), v);
    }
    for (k, v) in changes {
        match v {
            Some(v) => env.insert((*k).into(), (*v).into()),
            None => env.remove(*k),
        };
    }
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_adds_lists_shows_syncs_and_removes_a_route() {
    let bed = Bed::start("cli").await;
    bed.set_ip("orders.db.test", [10, 1, 2, 3]);

    let (ok, v, err) = plr(
        &bed,
        &add_args("orders", "orders.db.test", &["--tag", "team=data"]),
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(v["created"], true);
    let port = v["route"]["listener_port"].as_u64().unwrap();
    assert!((10000..=10999).contains(&port));
    assert_eq!(v["route"]["connection"]["port"], port);

    let (ok, v, _) = plr(&bed, &["routes", "list"]).await;
    assert!(ok);
    assert_eq!(v["routes"].as_array().unwrap().len(), 1);
    assert_eq!(v["routes"][0]["id"], "orders");

    let (ok, v, _) = plr(&bed, &["routes", "show", "orders"]).await;
    assert!(ok);
    assert_eq!(v["targets"][0]["ip"], "10.1.2.3");
    assert_eq!(v["targets"][0]["port"], 5432);

    bed.set_ip("orders.db.test", [10, 1, 9, 9]);
    let (ok, v, _) = plr(&bed, &["routes", "sync", "orders"]).await;
    assert!(ok);
    assert_eq!(v["plan"]["register"][0]["ip"], "10.1.9.9");

    let (ok, v, _) = plr(&bed, &["ports"]).await;
    assert!(ok);
    let ports = &v["routers"][&bed.router_id]["ports"];
    assert_eq!(ports[0]["port"].as_u64(), Some(port));
    // Issue #29 case 3: the targets counted against the NLB's quota: the new one, and the old
    // one while it drains (3 s at the bed's time scale).
    let counted = v["routers"][&bed.router_id]["targets"].as_u64();
    assert!(matches!(counted, Some(1 | 2)), "{v:#}");
    assert_eq!(v["routers"][&bed.router_id]["target_quota"], 500, "{v:#}");
    assert_eq!(ports[0]["state"], "allocated");

    let (ok, v, err) = plr(&bed, &["audit", "--dry-run"]).await;
    assert!(ok, "{err}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["routes_seen"], 1);
    assert_eq!(v["complete"], true);

    // Issue #17: an 80-column terminal gets an 80-column table, with the endpoint service.
    let (code, table, err) = plr_with(&bed, &["routes", "list"], &[("COLUMNS", Some("80"))]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(table.contains("endpoint"), "{table}");
    for line in table.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}\n{table}",
            line.chars().count()
        );
    }

    // rm asks first: without a terminal it refuses and says how to confirm; --dry-run shows
    // what would go; --yes removes.
    let (code, _, err) = plr_with(&bed, &["routes", "rm", "orders"], &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        err.trim(),
        "error: route orders not removed: there is no terminal to ask for confirmation on; pass --yes to confirm"
    );
    // On a terminal it asks; "n" leaves the route, says so without `error:`, and exits 1
    // (as `terraform destroy` does), so a script never reads it as done.
    let (code, shown) = plr_on_terminal(&bed, &["routes", "rm", "orders"], "n\n").await;
    assert_eq!(code, Some(1), "{shown}");
    assert!(
        shown.contains("remove route orders, listener port"),
        "{shown}"
    );
    assert!(shown.contains("route orders not removed"), "{shown}");
    assert!(!shown.contains("error"), "{shown}");
    let (ok, v, err) = plr(&bed, &["routes", "rm", "orders", "--dry-run"]).await;
    assert!(ok, "{err}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["would_delete"]["listener_port"].as_u64(), Some(port));
    let (ok, v, _) = plr(&bed, &["routes", "list"]).await;
    assert!(ok);
    assert_eq!(v["routes"].as_array().unwrap().len(), 1, "still there");
    let (ok, _, err) = plr(&bed, &["routes", "rm", "orders", "--yes"]).await;
    assert!(ok, "{err}");
    let (ok, v, _) = plr(&bed, &["ports"]).await;
    assert!(ok);
    assert_eq!(
        v["routers"][&bed.router_id]["ports"][0]["state"],
        "quarantined"
    );
    // Times as RFC 3339, not epoch seconds.
    let (code, table, _) = plr_with(&bed, &["ports"], &[("COLUMNS", Some("200"))]).await;
    assert_eq!(code, Some(0));
    assert!(
        table
            .split_whitespace()
            .any(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        "{table}"
    );
}

/// Issue #15 case 5: `plr plan` tells the truth — the verdict `routes add` would give for each
/// entry (the same validation and policy code), every entry reported, a tfvars object
/// accepted, numbers as numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_plan_gives_each_seed_entry_the_verdict_routes_add_would_give() {
    let bed = Bed::start("cliplan").await;
    bed.set_ip("a.db.test", [10, 1, 0, 1]);
    bed.set_ip("b.db.test", [54, 0, 0, 1]);
    bed.set_ip("c.db.test", [10, 1, 0, 3]);
    bed.set_ip("old.db.test", [10, 1, 0, 4]);
    // `gamma` exists already, with another host.
    bed.add_route("gamma", "old.db.test", 5432).await;
    let file = std::env::temp_dir().join(format!("seed-{}.tfvars.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"service_name": "legacy", "service_config": {"base_port": 10100},
            "target_endpoints": [
              {"id": "a.db.test", "port": 5432, "name": "alpha"},
              {"id": "b.db.test", "port": 3306, "name": "beta"},
              {"id": "c.db.test", "port": 5432, "name": "gamma"},
              {"id": "nx.db.test", "port": 5432, "name": "delta"}]}"#,
    )
    .unwrap();
    let (ok, v, err) = plr(&bed, &["plan", file.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let verdicts: Vec<(&str, &str, Value)> = v["plan"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["route"].as_str().unwrap(),
                r["verdict"].as_str().unwrap(),
                r["listener_port"].clone(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("alpha", "create", serde_json::json!(10100)),
            ("beta", "public_address", Value::Null),
            ("gamma", "conflict", Value::Null),
            ("delta", "create", serde_json::json!(10103)),
        ],
        "{v:#}"
    );
    assert!(v["plan"][3]["detail"].as_str().unwrap().contains("pending"));
    let (ok, v, _) = plr(&bed, &["routes", "list"]).await;
    assert!(ok);
    assert_eq!(
        v["routes"].as_array().unwrap().len(),
        1,
        "plan changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_errors_are_one_line_with_a_non_zero_exit() {
    let bed = Bed::start("clierr").await;
    let (ok, _, err) = plr(&bed, &["routes", "show", "missing"]).await;
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("route missing not found"), "{err}");
    let (ok, _, err) = plr(&bed, &["routes", "show", "Bad_Id"]).await;
    assert!(!ok);
    assert!(err.starts_with("error: route name"), "{err}");
}

/// Issue #17: the mistakes a new operator makes first, each answered in one line that names
/// the variable to fix; `--help` lists the variables `plr` reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_mistakes_get_one_line_with_the_fix_and_help_lists_the_variables() {
    let bed = Bed::start("clisetup").await;
    let (code, help, _) = plr_with(&bed, &["--help"], &[]).await;
    assert_eq!(code, Some(0));
    for var in [
        "ROUTER_TABLE",
        "ROUTER_FLEET",
        "ROUTER_DNS_SERVERS",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing from --help:\n{help}"
        );
    }
    let fleet = bed.env["ROUTER_FLEET"].clone();
    let missing_nlb = fleet.replace(
        &bed.network.nlb_arn,
        &format!(
            "{}0000",
            &bed.network.nlb_arn[..bed.network.nlb_arn.len() - 4]
        ),
    );
    // An HTTP server that is not AWS (as `python3 -m http.server` answers a POST).
    let not_aws = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let not_aws_url = format!("http://{}", not_aws.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut conn in not_aws.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let not_aws_words = format!("{not_aws_url} does not answer as AWS does");
    let cases: [(&str, Vec<EnvChange>, &[&str]); 13] = [
        (
            "endpoint not a URL",
            vec![("AWS_ENDPOINT_URL", Some("notaurl"))],
            &["notaurl is not a valid endpoint URL", "AWS_ENDPOINT_URL"],
        ),
        (
            "endpoint not AWS",
            vec![("AWS_ENDPOINT_URL", Some(not_aws_url.as_str()))],
            &[not_aws_words.as_str(), "AWS_ENDPOINT_URL"],
        ),
        (
            "no table",
            vec![("ROUTER_TABLE", None)],
            &["ROUTER_TABLE", "--table", "output table_name"],
        ),
        (
            "no fleet",
            vec![("ROUTER_FLEET", None)],
            &["ROUTER_FLEET", "--fleet", "output fleet"],
        ),
        (
            "empty region",
            vec![("AWS_REGION", Some(""))],
            &["no AWS region", "AWS_REGION"],
        ),
        (
            "missing profile",
            vec![
                ("AWS_ACCESS_KEY_ID", None),
                ("AWS_SECRET_ACCESS_KEY", None),
                ("AWS_PROFILE", Some("ops")),
            ],
            &["profile \"ops\"", "aws sso login --profile ops"],
        ),
        (
            "closed endpoint",
            vec![("AWS_ENDPOINT_URL", Some("http://127.0.0.1:9"))],
            &[
                "cannot reach AWS at http://127.0.0.1:9: connection refused",
                "AWS_ENDPOINT_URL",
            ],
        ),
        (
            "fleet not JSON",
            vec![("ROUTER_FLEET", Some("not json"))],
            &["ROUTER_FLEET", "not a JSON list", "output `fleet`"],
        ),
        (
            "fleet with a bad ARN",
            vec![(
                "ROUTER_FLEET",
                Some(
                    r#"[{"id":"r9","nlb_arn":"bogus","endpoint_service_name":"com.amazonaws.vpce.us-east-1.vpce-svc-1"}]"#,
                ),
            )],
            &["router r9", "is not a load balancer ARN"],
        ),
        (
            "no region",
            vec![("AWS_REGION", None)],
            &["no AWS region", "AWS_REGION"],
        ),
        (
            "no credentials",
            vec![("AWS_ACCESS_KEY_ID", None), ("AWS_SECRET_ACCESS_KEY", None)],
            &["no AWS credentials", "AWS_PROFILE"],
        ),
        (
            "missing table",
            vec![("ROUTER_TABLE", Some("no-such-table"))],
            &["no-such-table does not exist", "ROUTER_TABLE"],
        ),
        (
            "missing NLB",
            vec![("ROUTER_FLEET", Some(missing_nlb.as_str()))],
            &["does not exist", "ROUTER_FLEET", &bed.router_id],
        ),
    ];
    for (case, changes, wanted) in cases {
        // Reading the route table needs no NLB (see the test below); a change does.
        let args: &[&str] = match case {
            "missing NLB" => &["routes", "sync", "orders"],
            _ => &["routes", "list"],
        };
        let (code, _, err) = plr_with(&bed, args, &changes).await;
        assert_eq!(code, Some(1), "{case}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{case}: {err}");
        assert!(err.len() < 300, "{case}: {} bytes: {err}", err.len());
        for w in wanted {
            assert!(err.contains(w), "{case}: {w:?} missing from {err}");
        }
    }
    // The chain of causes only on request: each cause once, none a dump.
    let (_, _, err) = plr_with(
        &bed,
        &["--verbose", "routes", "list"],
        &[("ROUTER_TABLE", Some("no-such-table"))],
    )
    .await;
    assert!(err.contains("caused by:"), "{err}");
    for changes in [
        [("ROUTER_FLEET", Some(missing_nlb.as_str()))],
        [("AWS_ENDPOINT_URL", Some("notaurl"))],
    ] {
        let (_, _, err) = plr_with(&bed, &["-v", "routes", "sync", "orders"], &changes).await;
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines.len() >= 2, "{err}");
        assert!(!err.contains("-v for detail"), "{err}");
        assert!(lines.iter().all(|l| l.chars().count() <= 320), "{err}");
        for pair in lines.windows(2) {
            let cause = pair[1].trim_start_matches("  caused by: ");
            assert!(!pair[0].ends_with(cause), "repeated cause:\n{err}");
        }
    }
}

/// `routes add --name NAME --host HOST --port 5432` and `extra` flags.
fn add_args<'a>(name: &'a str, host: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "routes", "add", "--name", name, "--host", host, "--port", "5432",
    ];
    args.extend(extra);
    args
}

/// `plr routes add --name NAME --host HOST --port 5432`, which must succeed.
async fn add_route(bed: &Bed, name: &str, host: &str) {
    let (code, _, err) = plr_with(bed, &add_args(name, host, &[]), &[]).await;
    assert_eq!(code, Some(0), "{name}: {err}");
}

/// Issue #17: read-only commands (`routes list`, `routes show`, `ports`) answer from the route
/// table while a router's NLB cannot be read, with one warning line naming the router; a
/// change still stops with the one-line error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_route_table_works_while_an_nlb_is_missing() {
    let bed = Bed::start("clinlb").await;
    bed.set_ip("orders.db.test", [10, 9, 0, 1]);
    add_route(&bed, "orders", "orders.db.test").await;
    let arn = &bed.network.nlb_arn;
    let gone = format!("{}0000", &arn[..arn.len() - 4]);
    let fleet = bed.env["ROUTER_FLEET"].replace(arn.as_str(), &gone);
    let missing = [("ROUTER_FLEET", Some(fleet.as_str()))];
    for args in [
        &["--output", "json", "routes", "list"][..],
        &["--output", "json", "routes", "show", "orders"][..],
        &["--output", "json", "ports"][..],
        &["--output", "json", "routes", "rm", "orders", "--dry-run"][..],
    ] {
        let (code, out, err) = plr_with(&bed, args, &missing).await;
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(out.contains("\"orders\""), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("warning: router ") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
    let (_, out, _) = plr_with(&bed, &["--output", "json", "routes", "list"], &missing).await;
    assert!(
        out.contains("com.amazonaws.vpce"),
        "the endpoint service comes from the configuration: {out}"
    );
    let (code, _, err) = plr_with(&bed, &["routes", "sync", "orders"], &missing).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("ROUTER_FLEET"), "{err}");
}

/// Issue #17 (newcomer trial): what a person meets next — a route that exists otherwise
/// names what differs and the fix, an unknown route points at `routes list`, a terminal
/// without a size (COLUMNS=0) still gets a readable table, an RDS host is never broken across
/// lines at 80 columns, and `plr … | head` ends quietly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_unknown_routes_zero_widths_and_closed_pipes_read_well() {
    let bed = Bed::start("clinext").await;
    bed.set_ip("orders.db.test", [10, 9, 2, 1]);
    add_route(&bed, "orders", "orders.db.test").await;
    let args = add_args("orders", "orders.db.test", &["--tag", "team=data"]);
    let (code, _, err) = plr_with(&bed, &args, &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("route orders exists with a different tags")
            && err.contains("plr routes rm orders"),
        "{err}"
    );
    let (code, _, err) = plr_with(&bed, &["routes", "show", "nosuch"], &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("`plr routes list`"), "{err}");

    let (code, out, err) = plr_with(&bed, &["routes", "list"], &[("COLUMNS", Some("0"))]).await;
    assert_eq!(code, Some(0), "{err}");
    let width = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(width >= 40, "{width} columns:\n{out}");
    assert!(out.contains("orders"), "{out}");

    // An RDS host is longer than an 80-column table has room for: it is shown whole (one
    // record per route), never broken mid-name.
    let rds = "reporting.cluster-c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(rds, [10, 9, 2, 2]);
    add_route(&bed, "reporting", rds).await;
    let (code, out, err) = plr_with(&bed, &["routes", "list"], &[("COLUMNS", Some("80"))]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.lines().any(|l| l.ends_with(&format!("  {rds}"))),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_plr"))
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before plr writes (as `| head` does after its lines).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

/// Issue #17: `plr audit --budget` stops starting routes at the budget (the run reports
/// `complete: false` and where it stopped); `plr completions` prints a script for the shell.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_takes_a_budget_and_completions_are_printed() {
    let bed = Bed::start("clibudget").await;
    for (i, name) in ["a1", "a2", "a3"].into_iter().enumerate() {
        let host = format!("{name}.db.test");
        bed.set_ip(&host, [10, 9, 1, i as u8 + 1]);
        add_route(&bed, name, &host).await;
    }
    let args = ["--output", "json", "audit", "--dry-run", "--budget", "0"];
    let (code, out, err) = plr_with(&bed, &args, &[]).await;
    assert_eq!(code, Some(0), "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["complete"], false, "{report}");
    assert_eq!(report["routes_audited"], 1, "{report}");
    assert_eq!(report["routes_seen"], 3, "{report}");
    let (code, out, _) = plr_with(&bed, &["audit", "--dry-run"], &[]).await;
    assert_eq!(code, Some(0));
    assert!(
        out.contains("complete") && !out.contains("\"complete\""),
        "{out}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, err) = plr_with(&bed, &["completions", shell], &[]).await;
        assert_eq!(code, Some(0), "{shell}: {err}");
        assert!(
            script.contains("routes") && script.contains("--dry-run"),
            "{shell}"
        );
    }
}

/// Issue #17: a name that does not resolve is not silence: `routes add` and `routes sync`
/// still print the route (pending) and then a one-line warning, with exit code 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_that_does_not_resolve_is_a_warning_and_exit_code_three() {
    let bed = Bed::start("clinx").await;
    let add = [
        "--output",
        "json",
        "routes",
        "add",
        "--name",
        "ghost",
        "--host",
        "ghost.db.test",
        "--port",
        "5432",
    ];
    for args in [
        &add[..],
        &["--output", "json", "routes", "sync", "ghost"][..],
    ] {
        let (code, out, err) = plr_with(&bed, args, &[]).await;
        assert_eq!(code, Some(3), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with(
                "warning: ghost.db.test did not resolve: the name does not exist (NXDOMAIN);"
            ),
            "{args:?}: {err}"
        );
        let json: Value = serde_json::from_str(&out).expect("the route is printed");
        assert!(!json.is_null(), "{args:?}");
    }
}

/// Issue #15: builds in moto exactly what the seed's HCL creates on an NLB (target groups
/// `<service_name>-nlb-tg-<name>` with the seed's health check, attachments of the plan-time
/// IPs, listeners on `base_port + index` forwarding to them), then `plr adopt`: the same
/// listener ports with the same default actions, every route active, no listener created or
/// deleted; a DNS flip then moves an adopted route's targets; a second adopt changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plr_adopt_takes_over_a_seed_deployment_without_changing_a_port() {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, ProtocolEnum, TargetDescription, TargetTypeEnum,
    };
    let bed = Bed::start("adopt").await;
    let svc = format!("s{}", &bed.router_id);
    let hosts = [
        ("lg.db.test", [10, 0, 1, 40]),
        (
            "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com",
            [10, 0, 1, 41],
        ),
        (
            "billing-db.c9akciq32abc.us-east-1.rds.amazonaws.com",
            [10, 0, 2, 42],
        ),
    ];
    for (host, ip) in hosts {
        bed.set_ip(host, ip);
    }
    // The seed's variables: one database in service_config.targets, two in target_endpoints.
    let seed = serde_json::json!({
        "vpc_id": bed.network.vpc_id,
        "subnet_ids": bed.network.subnets.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        "service_name": svc,
        "service_config": {"targets": [{"id": hosts[0].0, "target_port": 5432}]},
        "target_endpoints": [
            {"id": hosts[1].0, "port": 5432, "name": "orders"},
            {"id": hosts[2].0, "port": 3306, "name": "billing"}
        ]
    });
    // The labels the seed derives: service_config.targets' from the id, the others given.
    let labels = ["lg-db-test", "orders", "billing"];
    // The seed's resources, as its HCL creates them.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&bed.sdk);
    let mut live = Vec::new();
    for (idx, ((host, ip), label)) in hosts.iter().zip(labels).enumerate() {
        let port = if idx == 2 { 3306 } else { 5432 };
        let tg = elb
            .create_target_group()
            .name(format!("{svc}-nlb-tg-{label}"))
            .protocol(ProtocolEnum::Tcp)
            .port(port)
            .vpc_id(&bed.network.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            // No health check block, as in the seed's HCL: AWS's defaults (30 s, 10 s, 5, 2).
            .health_check_interval_seconds(30)
            .health_check_timeout_seconds(10)
            .healthy_threshold_count(5)
            .unhealthy_threshold_count(2)
            .send()
            .await
            .expect("seed target group")
            .target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_owned();
        elb.register_targets()
            .target_group_arn(&tg)
            .targets(
                TargetDescription::builder()
                    .id(std::net::Ipv4Addr::from(*ip).to_string())
                    .port(port)
                    .build(),
            )
            .send()
            .await
            .expect("seed attachment");
        let listener = elb
            .create_listener()
            .load_balancer_arn(&bed.network.nlb_arn)
            .protocol(ProtocolEnum::Tcp)
            .port(10000 + idx as i32)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .send()
            .await
            .expect("seed listener");
        if idx == 1 {
            // Someone gave the orders listener a longer idle timeout by hand: the adopted
            // route keeps it (the others take the deployment's default).
            elb.modify_listener_attributes()
                .listener_arn(listener.listeners()[0].listener_arn().unwrap())
                .attributes(
                    aws_sdk_elasticloadbalancingv2::types::ListenerAttribute::builder()
                        .key("tcp.idle_timeout.seconds")
                        .value("900")
                        .build(),
                )
                .send()
                .await
                .expect("idle timeout set by hand");
        }
        let _ = host;
        live.push(tg);
    }

    // Before the adoption: the module's seeds (pinned to 10000-10002) reach the audit, and a
    // pipeline adds a route through the API. Neither may take a seed listener's port.
    for (i, (host, _)) in hosts.iter().enumerate() {
        let n = |v: u32| aws_sdk_dynamodb::types::AttributeValue::N(v.to_string());
        let s = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
        aws_sdk_dynamodb::Client::new(&bed.sdk)
            .put_item()
            .table_name(&bed.ctx.config.table)
            .item("pk", s("SEEDS"))
            .item("sk", s(labels[i]))
            .item("name", s(labels[i]))
            .item("host", s(host))
            .item("port", n(if i == 2 { 3306 } else { 5432 }))
            .item("listener_port", n(10000 + i as u32))
            .item("owner", s("terraform"))
            .send()
            .await
            .unwrap();
    }
    let audit = router_tests::handlers::audit(&bed.ctx).await;
    let seeds = audit["seeds"].as_array().unwrap();
    assert!(
        seeds.iter().all(|s| s["outcome"] == "failed"
            && s["error"].as_str().unwrap().contains("plr adopt")),
        "{audit:#}"
    );
    bed.set_ip("newdb.db.test", [10, 0, 1, 90]);
    let newdb = bed.add_route("newdb", "newdb.db.test", 5432).await;
    assert!(newdb.listener_port > 10002, "{}", newdb.listener_port);
    let listeners_before = bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap();
    let file = std::env::temp_dir().join(format!("seed-{svc}.tfvars.json"));
    std::fs::write(&file, seed.to_string()).unwrap();
    let file = file.to_string_lossy().into_owned();

    let (ok, plan, err) = plr(
        &bed,
        &[
            "adopt",
            "--seed",
            &file,
            "--router",
            &bed.router_id,
            "--dry-run",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(plan["routes"][1]["action"], "adopted", "{plan:#}");
    assert!(bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap() == listeners_before);

    let (ok, report, err) = plr(
        &bed,
        &["adopt", "--seed", &file, "--router", &bed.router_id],
    )
    .await;
    assert!(ok, "{err}");
    let actions: Vec<(&str, u64, &str)> = report["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["route_id"].as_str().unwrap(),
                r["listener_port"].as_u64().unwrap(),
                r["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("lg-db-test", 10000, "adopted"),
            ("orders", 10001, "adopted"),
            ("billing", 10002, "adopted"),
        ],
        "{report:#}"
    );
    // The same listeners (ARN, port, default action): none created, deleted or re-pointed,
    // beside the API route's own.
    let listeners_after = bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap();
    assert_eq!(listeners_after, listeners_before);
    assert_eq!(
        bed.route("orders").await.spec.idle_timeout_seconds,
        Some(900)
    );
    assert_eq!(bed.route("billing").await.spec.idle_timeout_seconds, None);
    for l in &listeners_after {
        let want = if l.port == 10001 { 900 } else { 3600 };
        assert_eq!(
            bed.ctx.elb.idle_timeout(&l.arn).await.unwrap(),
            Some(want),
            "port {}",
            l.port
        );
    }
    // The seed groups keep their own health check; the next audit consumes the module's
    // seeds as `existing` and repairs nothing on the adopted resources.
    for tg in bed.ctx.elb.all_target_groups().await.unwrap() {
        if live.contains(&tg.arn) {
            assert_eq!(
                (
                    tg.health_check.healthy_threshold,
                    tg.health_check.unhealthy_threshold
                ),
                (5, 2),
                "{}",
                tg.name
            );
        }
    }
    let audit = router_tests::handlers::audit(&bed.ctx).await;
    assert!(
        audit["seeds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "existing"),
        "{audit:#}"
    );
    assert_eq!(audit["repaired"], serde_json::json!({}), "{audit:#}");
    assert_eq!(
        audit["orphans"]["found"],
        serde_json::json!([]),
        "{audit:#}"
    );
    assert_eq!(
        bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap(),
        listeners_after
    );
    for (name, tg) in [
        ("lg-db-test", &live[0]),
        ("orders", &live[1]),
        ("billing", &live[2]),
    ] {
        let route = bed.route(name).await;
        assert_eq!(
            route.status,
            privatelink_router::domain::route::RouteStatus::Active,
            "{name}"
        );
        assert_eq!(
            route.target_group_arn.as_ref(),
            Some(tg),
            "{name}: the seed's group"
        );
    }

    // The router now follows DNS for an adopted route.
    let orders = bed.route("orders").await;
    bed.set_ip(hosts[1].0, [10, 0, 1, 77]);
    let admin = privatelink_router::flows::service::Caller {
        principal: router_tests::fixtures::ADMIN.into(),
    };
    privatelink_router::flows::service::sync(&bed.ctx, &admin, "orders")
        .await
        .unwrap();
    assert!(bed
        .targets(&orders)
        .await
        .contains(&"10.0.1.77:5432".to_owned()));

    // A second adoption changes nothing.
    let (ok, again, err) = plr(
        &bed,
        &["adopt", "--seed", &file, "--router", &bed.router_id],
    )
    .await;
    assert!(ok, "{err}");
    assert!(
        again["routes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "unchanged"),
        "{again:#}"
    );
    assert_eq!(
        bed.ctx.elb.listeners(&bed.network.nlb_arn).await.unwrap(),
        listeners_after
    );
}

/// Every `plr` command line in the README's code blocks is one `plr` accepts (subcommands and
/// flags; checked with `--help`, which parses the line and runs nothing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plr_command_in_the_readme_is_accepted() {
    let bed = Bed::start("clireadme").await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let mut in_block = false;
    let mut checked = 0;
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let line = line.trim();
        let command = line
            .strip_prefix("plr ")
            .or_else(|| line.strip_prefix("cargo run -q -p privatelink-router --bin plr -- "));
        let Some(command) = command.filter(|_| in_block) else {
            continue;
        };
        // The command itself: not its comment, nor a shell redirection or pipe after it.
        let command = command.split("  #").next().unwrap_or_default();
        let command = command.split(['>', '|']).next().unwrap_or_default();
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let (code, _, err) = plr_with(&bed, &args, &[]).await;
        assert_eq!(code, Some(0), "README line `{line}`: {err}");
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} plr lines found in the README");
}

/// Issue #18: `plr catalog` prints one line per route with its consumer address and a
/// connection string (verify-full for a route reached by its own name), then each router's
/// private endpoint rule's domain names as a Terraform value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_prints_a_connection_string_per_route_and_the_rules_domain_names() {
    let bed = Bed::start("clicatalog").await;
    let mut fleet: Value = serde_json::from_str(&bed.env["ROUTER_FLEET"]).unwrap();
    fleet[0]["consumer_domain"] = "db.corp.example".into();
    let fleet = fleet.to_string();
    let env = [("ROUTER_FLEET", Some(fleet.as_str()))];
    let rds = "orders.c9akciq32abc.us-east-1.rds.amazonaws.com";
    bed.set_ip(rds, [10, 9, 3, 1]);
    bed.set_ip("billing.db.test", [10, 9, 3, 2]);
    let orders = add_args("orders", rds, &["--engine", "postgres", "--tls-name"]);
    let (code, _, err) = plr_with(&bed, &orders, &env).await;
    assert_eq!(code, Some(0), "{err}");
    let billing = add_args("billing", "billing.db.test", &["--engine", "mysql"]);
    let (code, _, err) = plr_with(&bed, &billing, &env).await;
    assert_eq!(code, Some(0), "{err}");

    let wide = [env[0], ("COLUMNS", Some("250"))];
    let (code, out, err) = plr_with(&bed, &["catalog"], &wide).await;
    assert_eq!(code, Some(0), "{err}");
    let line = |route: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {route} ")))
            .unwrap_or_else(|| panic!("no line for {route}:\n{out}"))
            .to_owned()
    };
    assert!(
        line("orders").contains(&format!(
            "jdbc:postgresql://{rds}:10000/<database>?sslmode=verify-full"
        )),
        "{out}"
    );
    assert!(
        line("billing").contains("jdbc:mysql://db.corp.example:10001/<database>?sslMode=REQUIRED"),
        "{out}"
    );
    assert!(
        out.contains(&format!("domain_names = [\"db.corp.example\",\"{rds}\"]")),
        "{out}"
    );
    let (code, v, err) = plr_with(&bed, &["--output", "json", "catalog"], &env).await;
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&v).unwrap();
    assert_eq!(v["rules"][0]["room"], 8, "{v}");
}

/// Issue #29, case 4: `plr routes show` on an unhealthy route prints the cause in one line with
/// the fix (the database's security group admits one NLB node only), as `plr routes add` did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_show_names_why_a_target_is_unhealthy() {
    use router_tests::databases::{database, fail_health_checks};
    let bed = Bed::start("cli-diagnosis").await;
    bed.network.nlb_interfaces(&bed.sdk).await.unwrap();
    let db = database(&bed, "cli-pg", "postgres", 5432, "10.0.1.0/24", None).await;
    bed.set_ip(&db.address, [10, 0, 1, 40]);
    let (code, out, err) = plr_with(&bed, &add_args("pg", &db.address, &[]), &[]).await;
    assert_eq!(code, Some(0), "{err}");
    let cause = "cause: the security groups of database cli-pg";
    assert!(out.contains(cause), "{out}");
    fail_health_checks(&bed, "pg", "10.0.1.40").await;
    let (code, out, err) = plr_with(&bed, &["routes", "show", "pg"], &[]).await;
    assert_eq!(code, Some(0), "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(cause))
        .unwrap_or_else(|| panic!("no cause line: {out}"));
    assert!(
        line.contains("10.0.2.250") && line.contains("add an inbound rule for TCP 5432"),
        "{line}"
    );
}
