//! Case 5 of issue #14: with `AWS_ENDPOINT_URL` pointing at a socket that accepts connections
//! and never answers, the Lambda binary must name the failing call, and why, in a log line well
//! inside Lambda's 10 s init phase — not after the 25 s operation timeout.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_hung_aws_endpoint_is_named_in_a_log_line_within_the_init_phase() {
    // Accepts connections (the kernel completes the handshake) and never answers.
    let hung = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let endpoint = format!("http://{}", hung.local_addr().unwrap());
    let fleet = r#"[{"id":"r1","nlb_arn":"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/plr/0123456789abcdef","endpoint_service_name":"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"}]"#;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rds-events"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ROUTER_TABLE", "routes")
        .env("ROUTER_FLEET", fleet)
        .env("ROUTER_DNS_SERVERS", "127.0.0.1:53")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the rds-events binary");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still starting after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = started.elapsed();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    drop(hung);
    assert!(!status.success(), "it cannot start: {out}");
    assert!(
        took < Duration::from_secs(8),
        "gave up after {took:?}, outside Lambda's 10 s init phase: {out}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("DescribeLoadBalancers"))
        .unwrap_or_else(|| panic!("no log line names the call: {out}"));
    assert!(
        line.to_ascii_lowercase().contains("timeout") || line.contains("timed out"),
        "the line says why: {line}"
    );
}
