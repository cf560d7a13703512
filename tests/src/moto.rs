//! A `moto_server` child process (AWS emulator) on a free loopback port.
//!
//! Process lifetime, and why it is built this way:
//! - `Drop` kills and reaps the child, so a `Moto` owned by a test leaves no process behind.
//! - A `Moto` kept in a `static` (`OnceLock`/`OnceCell`, shared by one test binary) is never
//!   dropped, so the child also gets `PR_SET_PDEATHSIG(SIGKILL)`: the kernel kills it when its
//!   parent dies, even on panic=abort, SIGKILL or a timed-out CI job, which no `Drop` (nor
//!   tokio's `kill_on_drop`) can cover. The signal survives the pyenv shim's `exec` chain.
//! - Linux sends that signal when the *thread* that forked the child exits, not the process.
//!   Test threads and tokio runtimes come and go, so the child is forked from a dedicated
//!   keeper thread that lives exactly as long as the `Moto` (or the process). The keeper owns
//!   the `std::process::Child`: it notices an early exit, and kills and reaps it on `Drop`.

use std::{
    fs::{self, File},
    io,
    net::{Ipv4Addr, TcpListener},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The Python files loaded into every `moto_server` through `PYTHONPATH` (see
/// `tests/moto/sitecustomize.py`): DynamoDB transactions isolated, ELBv2 target states and
/// matching as AWS documents them, Aurora custom cluster endpoints, DB instance port changes
/// and states, RDS Proxy endpoints, global databases described one at a time, Blue/Green
/// switchovers that rename cluster instances.
pub const MOTO_PATCHES: &[(&str, &str)] = &[
    ("sitecustomize.py", include_str!("../moto/sitecustomize.py")),
    ("strict_elbv2.py", include_str!("../moto/strict_elbv2.py")),
    (
        "rds_cluster_endpoints.py",
        include_str!("../moto/rds_cluster_endpoints.py"),
    ),
    ("rds_ports.py", include_str!("../moto/rds_ports.py")),
    ("rds_states.py", include_str!("../moto/rds_states.py")),
    ("rds_proxies.py", include_str!("../moto/rds_proxies.py")),
    (
        "rds_global_clusters.py",
        include_str!("../moto/rds_global_clusters.py"),
    ),
    (
        "rds_blue_green.py",
        include_str!("../moto/rds_blue_green.py"),
    ),
];

/// Time scale of the emulated ELBv2 clock (`MOTO_STRICT_TIME_SCALE`): deregistration delays
/// and `initial` periods run at a tenth of AWS's time, so 30 s of draining takes 3 s. A test
/// run may override it through the same environment variable.
pub const TIME_SCALE: &str = "0.1";

const READY_TIMEOUT: Duration = Duration::from_secs(20);
const INSTALL_HINT: &str = "pip install 'moto[server]==5.2.1'";

/// A running `moto_server` on 127.0.0.1; killed when dropped or when the process dies.
pub struct Moto {
    port: u16,
    pid: u32,
    log_path: PathBuf,
    exited: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    keeper: Option<JoinHandle<()>>,
}

impl Moto {
    /// Starts `moto_server` on a free port and waits (up to 20 s) until it serves HTTP.
    pub async fn start() -> anyhow::Result<Self> {
        for _ in 0..5 {
            if let Some(moto) = Self::try_start().await? {
                return Ok(moto);
            }
        }
        bail!("moto_server lost the race for a free port 5 times in a row")
    }

    /// One attempt; `None` when another program took the port between our probe and moto's bind.
    async fn try_start() -> anyhow::Result<Option<Self>> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join("router-tests");
        fs::create_dir_all(&dir)?;
        let log_path = dir.join(format!("moto-{}-{port}.log", std::process::id()));
        let log = File::create(&log_path)?;

        let patch = dir.join(format!("moto-python-{}", std::process::id()));
        fs::create_dir_all(&patch)?;
        for (name, text) in MOTO_PATCHES {
            fs::write(patch.join(name), text)?;
        }
        let mut python_path = patch.into_os_string();
        if let Some(old) = std::env::var_os("PYTHONPATH") {
            python_path.push(":");
            python_path.push(old);
        }

        let mut command = Command::new("moto_server");
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", python_path)
            .env(
                "MOTO_STRICT_TIME_SCALE",
                std::env::var("MOTO_STRICT_TIME_SCALE").unwrap_or_else(|_| TIME_SCALE.into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(
                || match libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) {
                    0 => Ok(()),
                    _ => Err(io::Error::last_os_error()),
                },
            );
        }
        let exited = Arc::new(AtomicBool::new(false));
        let (stop, keeper, pid) = spawn_keeper(command, exited.clone()).map_err(|e| match e {
            e if e.kind() == io::ErrorKind::NotFound => {
                anyhow::anyhow!("moto_server is not on PATH; install it with: {INSTALL_HINT}")
            }
            e => anyhow::Error::new(e).context("cannot spawn moto_server"),
        })?;
        let moto = Self {
            port,
            pid,
            log_path,
            exited,
            stop: Some(stop),
            keeper: Some(keeper),
        };

        // werkzeug prints "Running on <url>" only once it has bound the port, so a successful
        // HTTP probe afterwards cannot be answered by some other server on a stolen port.
        let running = format!("Running on {}", moto.endpoint());
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = fs::read_to_string(&moto.log_path).unwrap_or_default();
            if log.contains("Address already in use") {
                return Ok(None);
            }
            if moto.exited.load(Ordering::SeqCst) {
                bail!("moto_server exited while starting ({INSTALL_HINT}?); its log:\n{log}");
            }
            if log.contains(&running) && moto.http("GET", "/moto-api/").await.is_ok() {
                return Ok(Some(moto));
            }
            if Instant::now() > deadline {
                bail!("moto_server not ready after {READY_TIMEOUT:?}; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Base URL to give the AWS SDK, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Process id of the moto_server child (to check that it is gone after a drop).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// File receiving moto_server's stdout and stderr (kept out of the test output).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Deletes every emulated resource (`POST /moto-api/reset`).
    pub async fn reset(&self) -> anyhow::Result<()> {
        match self.http("POST", "/moto-api/reset").await? {
            200 => Ok(()),
            status => bail!("POST /moto-api/reset answered HTTP {status}"),
        }
    }

    /// SDK config for this server: its endpoint, us-east-1, static test/test credentials (no IMDS).
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .load()
            .await
    }

    /// Sends a body-less HTTP/1.1 request and returns the status code.
    async fn http(&self, method: &str, path: &str) -> anyhow::Result<u16> {
        let exchange = async {
            let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).await?;
            let host = format!("127.0.0.1:{}", self.port);
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            anyhow::Ok(response)
        };
        let response = tokio::time::timeout(Duration::from_secs(5), exchange)
            .await
            .with_context(|| format!("{method} {path}: moto_server did not answer in 5 s"))??;
        let head = String::from_utf8_lossy(&response[..response.len().min(64)]).into_owned();
        head.split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .with_context(|| format!("{method} {path}: not an HTTP response: {head:?}"))
    }
}

impl Drop for Moto {
    /// Tells the keeper to kill and reap the child, and waits for it.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(keeper) = self.keeper.take() {
            let _ = keeper.join();
        }
    }
}

/// Spawns `command` from a new thread that owns the child until told to stop (or the child
/// exits, which it records in `exited`). Returns the stop channel, the thread and the child pid.
fn spawn_keeper(
    mut command: Command,
    exited: Arc<AtomicBool>,
) -> io::Result<(mpsc::Sender<()>, JoinHandle<()>, u32)> {
    let (spawned_tx, spawned_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let keeper = std::thread::Builder::new()
        .name("moto-keeper".into())
        .spawn(move || {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(e) => {
                    let _ = spawned_tx.send(Err(e));
                    return;
                }
            };
            let _ = spawned_tx.send(Ok(child.id()));
            // Poll: std has no way to wait on a child and a channel at once.
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stop_rx.recv_timeout(Duration::from_millis(50))
            {
                if !matches!(child.try_wait(), Ok(None)) {
                    exited.store(true, Ordering::SeqCst);
                    return;
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            exited.store(true, Ordering::SeqCst);
        })?;
    let pid = spawned_rx
        .recv()
        .map_err(|_| io::Error::other("moto keeper thread died"))??;
    Ok((stop_tx, keeper, pid))
}
