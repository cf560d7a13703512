//! Cold start benchmark (not a test): each Lambda binary started as Lambda starts it, against
//! moto, with a fleet of 2 and of 60 routers. Measures the time from `exec` to the runtime's
//! first `GET /2018-06-01/runtime/invocation/next` (the end of the init phase: configuration,
//! SDK clients, the fleet's NLBs, VPCs and subnets read), the process's peak RSS then, and the
//! binary's size.
//!
//! Run (the release profile is what Lambda runs; build it first):
//!
//! ```text
//! cargo build --release -p rds-events -p routes-api -p dns-audit
//! cargo bench -p dns-audit --bench cold_start --profile dev
//! ```
//!
//! `COLD_START_BIN_DIR` overrides where the binaries are read (default `target/release`).
//! Goals (issue #16): init ≤ 100 ms with 60 routers; ≤ 50 ms, peak RSS ≤ 40 MB and ≤ 10 MB per
//! stripped binary in the release profile.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use privatelink_router::adapters::aws::store::DynamoStore;
use router_tests::fixtures::{moto, sdk_config};
use router_tests::network::Network;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const RUNS: usize = 5;

/// A fleet of `n` routers (NLBs in one VPC) as `ROUTER_FLEET` JSON.
async fn fleet(n: usize) -> anyhow::Result<String> {
    let sdk = sdk_config().await;
    let net = Network::create(&sdk, &format!("cold{n}")).await?;
    let mut arns = vec![net.nlb_arn.clone()];
    arns.extend(net.more_nlbs(&sdk, n - 1).await?);
    let fleet: Vec<Value> = arns
        .iter()
        .enumerate()
        .map(|(i, arn)| {
            json!({"id": format!("r{i:02}"), "nlb_arn": arn,
                   "endpoint_service_name": format!("com.amazonaws.vpce.us-east-1.vpce-svc-r{i:02}")})
        })
        .collect();
    Ok(Value::Array(fleet).to_string())
}

/// One start of `bin`: time to its first runtime API request, and its peak RSS then (kB).
async fn start_once(bin: &Path, env: &[(&str, String)]) -> anyhow::Result<(Duration, u64)> {
    let api = TcpListener::bind("127.0.0.1:0").await?;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.local_addr()?.to_string())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let (conn, _) = tokio::time::timeout(Duration::from_secs(10), api.accept())
        .await
        .context("no runtime API request within 10 s")??;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        conn.readable().await?;
        match conn.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e.into()),
        }
    }
    let took = started.elapsed();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    if !String::from_utf8_lossy(&head).starts_with("GET /2018-06-01/runtime/invocation/next") {
        bail!(
            "unexpected first request: {}",
            String::from_utf8_lossy(&head)
        );
    }
    Ok((took, rss))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::var_os("COLD_START_BIN_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/release"),
        PathBuf::from,
    );
    let moto = moto().await;
    let sdk = sdk_config().await;
    let table = "cold-start-routes".to_owned();
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table.clone())
        .create_table()
        .await?;
    println!("| binary | size | routers | init (median of {RUNS}) | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for routers in [2, 60] {
        let fleet = fleet(routers).await?;
        let env = vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_LAMBDA_FUNCTION_NAME", "cold-start".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".to_owned()),
            ("ROUTER_TABLE", table.clone()),
            ("ROUTER_FLEET", fleet),
            ("ROUTER_DNS_SERVERS", "127.0.0.1:53".to_owned()),
            ("ROUTER_RDS_MEMBERSHIP", "false".to_owned()),
        ];
        for name in ["rds-events", "routes-api", "dns-audit"] {
            let bin = dir.join(name);
            if !bin.exists() {
                println!("| {name} | missing: build it first (see the doc comment) | | | |");
                continue;
            }
            let size = std::fs::metadata(&bin)?.len() as f64 / 1_048_576.0;
            let mut times = Vec::new();
            let mut peak = 0;
            for _ in 0..RUNS {
                let (took, rss) = start_once(&bin, &env).await?;
                times.push(took);
                peak = peak.max(rss);
            }
            times.sort();
            println!(
                "| {name} | {size:.1} MB | {routers} | {:.0} ms | {:.1} MB |",
                times[RUNS / 2].as_secs_f64() * 1000.0,
                peak as f64 / 1024.0
            );
        }
    }
    Ok(())
}
