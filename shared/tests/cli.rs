//! The `plr` CLI end to end against moto and the loopback DNS server, asserting on its JSON.

use std::process::Command;

use router_tests::fixtures::{moto, Bed};
use serde_json::Value;

async fn plr(bed: &Bed, args: &[&str]) -> (bool, Value, String) {
    let endpoint = moto().await.endpoint();
    let out = Command::new(env!("CARGO_BIN_EXE_plr"))
        .args(["--endpoint-url", &endpoint, "--output", "json"])
        .args(args)
        .env_clear()
        .envs(&bed.env)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("plr runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.success(),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_adds_lists_shows_syncs_and_removes_a_route() {
    let bed = Bed::start("cli").await;
    bed.set_ip("orders.db.test", [10, 1, 2, 3]);

    let (ok, v, err) = plr(
        &bed,
        &[
            "routes",
            "add",
            "--name",
            "orders",
            "--host",
            "orders.db.test",
            "--port",
            "5432",
            "--tag",
            "team=data",
        ],
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
    assert_eq!(ports[0]["state"], "allocated");

    let (ok, v, err) = plr(&bed, &["audit", "--dry-run"]).await;
    assert!(ok, "{err}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["routes_seen"], 1);
    assert_eq!(v["complete"], true);

    let (ok, _, err) = plr(&bed, &["routes", "rm", "orders"]).await;
    assert!(ok, "{err}");
    let (ok, v, _) = plr(&bed, &["ports"]).await;
    assert!(ok);
    assert_eq!(
        v["routers"][&bed.router_id]["ports"][0]["state"],
        "quarantined"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_plan_shows_what_a_seed_file_would_do_without_changing_anything() {
    let bed = Bed::start("cliplan").await;
    bed.set_ip("a.db.test", [10, 1, 0, 1]);
    bed.set_ip("b.db.test", [54, 0, 0, 1]);
    let file = std::env::temp_dir().join(format!("seed-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"[{"id": "a.db.test", "port": 5432, "name": "alpha"}, {"id": "b.db.test", "port": 3306, "name": "beta"}]"#,
    )
    .unwrap();
    let (ok, v, err) = plr(&bed, &["plan", file.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    assert_eq!(v["plan"][0]["register"][0], "10.1.0.1:5432");
    assert!(v["plan"][0]["listener_port"]
        .as_str()
        .unwrap()
        .ends_with("(new)"));
    assert_eq!(v["plan"][1]["register"].as_array().unwrap().len(), 0);
    assert_eq!(v["plan"][1]["notes"][0]["kind"], "refused");
    let (ok, v, _) = plr(&bed, &["routes", "list"]).await;
    assert!(ok);
    assert_eq!(
        v["routes"].as_array().unwrap().len(),
        0,
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
