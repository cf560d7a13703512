//! Benchmark (not a test): event → targets converged, wall time, with DNS already flipped.
//!
//! Against loopback moto and the loopback DNS server, 20 runs per sample: the record of the
//! route's host is moved, then the event goes through the real handler; the time is measured
//! from the call to the handler's answer (it answers only once the plan is applied), and
//! every run is checked to have converged (new IP registered, old IP gone). Prints the median.
//!
//! Run: `cargo bench -p rds-events --bench event_to_converged` (add `--profile dev` to skip
//! the release build; the time is spent in moto and DNS either way).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rds_events::lambda_runtime::{Context as LambdaContext, LambdaEvent};
use router_tests::fixtures::Bed;
use serde_json::Value;

const RUNS: usize = 20;
const HOST: &str = "orders-db.c9akciq32abc.us-east-1.rds.amazonaws.com";

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// Runs one sample `RUNS` times, flipping the record between two IPs before each event.
async fn measure(bed: &Bed, route_name: &str, file: &str) -> Vec<Duration> {
    let route = bed.route(route_name).await;
    let ips = [Ipv4Addr::new(10, 0, 1, 10), Ipv4Addr::new(10, 0, 2, 20)];
    let mut times = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let new = ips[(run + 1) % 2];
        bed.dns.set_a(HOST, &[new]);
        // Each run is a newer event, or it would be dropped as a replay.
        let when = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(run as i64 + 1)
            + chrono::Duration::hours(match file {
                f if f.contains("0251") => 1,
                f if f.contains("0088") => 2,
                _ => 0,
            });
        let mut event = sample(file);
        event["time"] = when.to_rfc3339().into();
        event["detail"]["Date"] = when.to_rfc3339().into();
        let started = Instant::now();
        let summary =
            rds_events::handler(&bed.ctx, LambdaEvent::new(event, LambdaContext::default()))
                .await
                .expect("handler succeeds");
        times.push(started.elapsed());
        let targets = bed.targets(&route).await;
        assert_eq!(
            targets,
            vec![format!("{new}:5432")],
            "run {run} converged: {summary}"
        );
    }
    times
}

fn report(label: &str, times: &[Duration]) {
    let ms: Vec<u128> = times.iter().map(|d| d.as_millis()).collect();
    println!(
        "{label}: median {} ms over {} runs (min {} ms, max {} ms); runs: {ms:?}",
        median(times.to_vec()).as_millis(),
        times.len(),
        ms.iter().min().unwrap(),
        ms.iter().max().unwrap(),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let bed = Bed::start("bench-events").await;
        bed.dns.set_a(HOST, &[Ipv4Addr::new(10, 0, 1, 10)]);
        bed.add_route("orders", HOST, 5432).await;
        println!(
            "event -> targets converged, DNS already flipped, window K = {}, loopback moto",
            bed.ctx.config.window
        );
        let failover = measure(&bed, "orders", "rds-instance-failover-completed-0049.json").await;
        report("failover completed (RDS-EVENT-0049)", &failover);
        let blue_green = measure(&bed, "orders", "rds-bluegreen-instance-renamed-0251.json").await;
        report("blue/green switchover rename (RDS-EVENT-0251)", &blue_green);
        let started = measure(&bed, "orders", "rds-instance-started-0088.json").await;
        report("instance started (RDS-EVENT-0088)", &started);
    });
}
