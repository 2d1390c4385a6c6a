//! A real Mosquitto on a free port of 127.0.0.1, with the settings a test
//! or benchmark asks for, restartable on the same port (and persistence
//! folder), killed on drop.

use std::fmt::Write as _;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian and a source install put the broker.
const PLACES: [&str; 3] = [
    "/usr/sbin/mosquitto",
    "/usr/local/sbin/mosquitto",
    "/usr/bin/mosquitto",
];

/// The Mosquitto binary, if installed.
pub fn installed() -> Option<PathBuf> {
    PLACES.into_iter().map(PathBuf::from).find(|p| p.exists())
}

/// What goes into the config beyond a listener on a free port.
#[derive(Default, Clone)]
pub struct Options {
    /// Lines before the `listener` line: global settings such as
    /// `per_listener_settings`.
    pub before: String,
    /// Lines after it, which belong to the listener where settings are per
    /// listener (`allow_anonymous`, `acl_file`, …).
    pub after: String,
    /// Users and passwords, hashed into a password file (`password_file`).
    pub users: Vec<(String, String)>,
    /// A certificate and key: the listener then speaks only TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where Mosquitto's own log (stderr) goes; nowhere if `None`.
    pub log: Option<PathBuf>,
    /// Keep sessions and queued messages in this folder (`persistence
    /// true`), which a restart reads again; none if `None`.
    pub persistence: Option<PathBuf>,
    /// Lines at the very end of the file: a bridge's `connection` section,
    /// whose settings run to the next `connection` or the end.
    pub last: String,
}

pub struct Mosquitto {
    child: Child,
    binary: PathBuf,
    conf: PathBuf,
    log: Option<PathBuf>,
    port: u16,
}

impl Mosquitto {
    /// Write the config (and password file) into `dir` and start `binary`
    /// on it; returns once it listens.
    pub fn start(binary: &Path, dir: &Path, options: &Options) -> io::Result<Mosquitto> {
        let port = crate::free_port();
        // `user root`: as root, Mosquitto would otherwise switch to a user
        // that cannot read the files in a private temporary folder. The
        // queue limit is raised for a server's client, which may fall behind
        // thousands of agents for a moment.
        let mut conf = format!(
            "{}listener {port} 127.0.0.1\n{}user root\nmax_queued_messages 100000\n",
            options.before, options.after
        );
        match &options.persistence {
            // Mosquitto wants the folder with its trailing slash.
            Some(folder) => {
                let _ = writeln!(
                    conf,
                    "persistence true\npersistence_location {}/",
                    folder.display()
                );
            }
            None => conf.push_str("persistence false\n"),
        }
        if !options.users.is_empty() {
            let passwd = dir.join("passwd");
            let lines: String = options
                .users
                .iter()
                .map(|(u, p)| format!("{u}:{p}\n"))
                .collect();
            std::fs::write(&passwd, lines)?;
            hash_passwords(&passwd)?;
            let _ = writeln!(conf, "password_file {}", passwd.display());
        }
        if let Some((cert, key)) = &options.tls {
            let _ = writeln!(
                conf,
                "certfile {}\nkeyfile {}",
                cert.display(),
                key.display()
            );
        }
        conf.push_str(&options.last);
        let conf_path = dir.join("mosquitto.conf");
        std::fs::write(&conf_path, conf)?;
        let child = run(binary, &conf_path, options.log.as_deref(), port)?;
        Ok(Mosquitto {
            child,
            binary: binary.to_owned(),
            conf: conf_path,
            log: options.log.clone(),
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: whatever it held in memory is gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start again on the same port with the same settings.
    pub fn restart(&mut self) -> io::Result<()> {
        self.child = run(&self.binary, &self.conf, self.log.as_deref(), self.port)?;
        Ok(())
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `mosquitto_passwd -U` hashes a whole file of `user:password` lines at
/// once (thousands of agents in a benchmark).
fn hash_passwords(path: &Path) -> io::Result<()> {
    let status = Command::new("mosquitto_passwd")
        .arg("-U")
        .arg(path)
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "mosquitto_passwd -U {} failed",
            path.display()
        )))
    }
}

fn run(binary: &Path, conf: &Path, log: Option<&Path>, port: u16) -> io::Result<Child> {
    let stderr = match log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        ),
        None => Stdio::null(),
    };
    let mut child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()?;
    // Polls the port, which is how one learns that it is ready.
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || child.try_wait()?.is_some() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "mosquitto did not start listening on {addr} (config {})",
                conf.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(child)
}
