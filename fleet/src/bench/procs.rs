//! Child processes for the benchmark, and what Linux says they cost:
//! resident memory from `/proc/PID/status`, CPU time from `/proc/PID/stat`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::BenchError;

/// A child that is killed when dropped, so a failed scenario leaves nothing
/// running behind it.
pub struct Proc {
    pub name: String,
    pub child: Child,
}

impl Proc {
    /// Start `program` with `args`; its output goes to `log` so that a
    /// failing run can be read afterwards.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        log: &Path,
    ) -> Result<Proc, BenchError> {
        let out = std::fs::File::create(log).map_err(|e| BenchError::io(log, e))?;
        let err = out.try_clone().map_err(|e| BenchError::io(log, e))?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::io(program, e))?;
        Ok(Proc {
            name: name.to_owned(),
            child,
        })
    }

    pub fn pid(&self) -> Result<u32, BenchError> {
        self.child
            .id()
            .ok_or_else(|| BenchError::Scenario(format!("{} has already exited", self.name)))
    }

    pub fn rss_bytes(&self) -> Result<u64, BenchError> {
        rss_bytes(self.pid()?)
    }

    pub fn cpu_seconds(&self) -> Result<f64, BenchError> {
        cpu_seconds(self.pid()?)
    }

    /// SIGTERM, then SIGKILL if it has not gone within five seconds.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.kill().await;
    }
}

/// VmRSS of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, BenchError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(Path::new(&path), e))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| BenchError::Scenario(format!("no VmRSS in {path}")))
}

/// User plus system CPU time of a process (all its threads), in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, BenchError> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(Path::new(&path), e))?;
    // The command name in brackets may hold spaces; fields count from after it.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| BenchError::Scenario(format!("unreadable {path}")))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => Ok((u + s) as f64 / clock_ticks()),
        _ => Err(BenchError::Scenario(format!("no CPU times in {path}"))),
    }
}

/// USER_HZ; 100 on every Linux this runs on, but ask in case.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .unwrap_or(100.0)
}

/// CPU seconds of this process (the fleet itself), for the record.
pub fn own_cpu_seconds() -> Result<f64, BenchError> {
    cpu_seconds(std::process::id())
}

/// Size of a binary after `strip` (a copy is stripped; the original stays).
pub fn stripped_size(binary: &Path, scratch: &Path) -> Result<u64, BenchError> {
    let copy = scratch.join(format!(
        "stripped-{}",
        binary.file_name().and_then(|n| n.to_str()).unwrap_or("bin")
    ));
    std::fs::copy(binary, &copy).map_err(|e| BenchError::io(binary, e))?;
    let status = std::process::Command::new("strip")
        .arg(&copy)
        .status()
        .map_err(|e| BenchError::io(Path::new("strip"), e))?;
    if !status.success() {
        return Err(BenchError::Scenario(format!(
            "strip {} failed",
            binary.display()
        )));
    }
    let size = std::fs::metadata(&copy)
        .map_err(|e| BenchError::io(&copy, e))?
        .len();
    let _ = std::fs::remove_file(&copy);
    Ok(size)
}

/// Install Debian packages that are missing, saying so. Returns false when
/// apt-get is not available or fails, so the scenario can skip the program.
pub fn ensure_packages(packages: &[(&str, &str)]) -> bool {
    let missing: Vec<&str> = packages
        .iter()
        .filter(|(_, binary)| !Path::new(binary).exists())
        .map(|(p, _)| *p)
        .collect();
    if missing.is_empty() {
        return true;
    }
    eprintln!(
        "bench: installing {} with apt-get (needed for the comparison)",
        missing.join(" ")
    );
    let sudo = !is_root();
    let run = |args: &[&str]| {
        let mut cmd = if sudo {
            let mut c = std::process::Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            std::process::Command::new("apt-get")
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(&missing);
    run(&["update", "-q"]) && run(&install)
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Raise this process's open-files limit to its hard limit: a fleet of
/// 10,000 agents holds 10,000 sockets.
pub fn raise_nofile() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(limit = n, "open files"),
        Err(e) => eprintln!("bench: cannot raise the open-files limit: {e}"),
    }
}
