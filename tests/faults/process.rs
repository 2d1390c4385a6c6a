//! Real `ronda-server` and `ronda-agent` processes for the fault tests:
//! started with their logs kept, stopped with SIGTERM, killed with SIGKILL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{binary, tail};
use crate::common::db::TestDb;
use crate::common::free_port;

/// A child process whose stderr goes to a log file kept across restarts.
pub fn spawn(bin: &str, args: &[&str], log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(binary(bin))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// SIGTERM, the way an init system stops the agent, then wait for it.
/// Through the shell's own `kill`: a bare Debian may have no kill binary,
/// and the standard library sends only SIGKILL.
pub fn terminate(child: &mut Child) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(ok.success(), "kill -TERM failed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "no exit 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `ronda-server run` on a fixed config, database and ports, restartable.
pub struct ServerProcess {
    child: Child,
    /// Its database, as `RONDA_TEST_DB` asks; dropped once the process is killed.
    pub db: TestDb,
    config: PathBuf,
    pub log: PathBuf,
    pub http: String,
}

impl ServerProcess {
    pub fn start(dir: &Path, broker: &str) -> ServerProcess {
        let port = free_port();
        let db = TestDb::from_env(dir);
        let config = dir.join("server.yaml");
        let yaml = format!(
            "http:\n  listen: 127.0.0.1:{port}\nbroker:\n  external:\n    url: {broker}\n\
             {}",
            db.yaml()
        );
        std::fs::write(&config, yaml).unwrap();
        let log = dir.join("server.log");
        let child = spawn("ronda-server", &server_args(&config), &log);
        ServerProcess {
            child,
            db,
            config,
            log,
            http: format!("http://127.0.0.1:{port}"),
        }
    }

    pub fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// Start again on the same database and ports.
    pub fn restart(&mut self) {
        self.child = spawn("ronda-server", &server_args(&self.config), &self.log);
    }

    /// Sum of the samples named `name` in `/metrics`; 0 if it cannot answer.
    pub async fn metric(&self, name: &str) -> f64 {
        let url = format!("{}/metrics", self.http);
        let text = match reqwest::get(&url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        text.lines()
            .filter_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
            .sum()
    }

    /// Wait until it is subscribed to the broker (`/healthz` says ok).
    pub async fn ready(&mut self) -> Duration {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let url = format!("{}/healthz", self.http);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("ronda-server exited ({status}):\n{}", tail(&self.log, 30));
            }
            let ok = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "ronda-server not ready after 30 s:\n{}",
                tail(&self.log, 30)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_args(config: &Path) -> [&str; 3] {
    ["run", "--config", config.to_str().unwrap()]
}
