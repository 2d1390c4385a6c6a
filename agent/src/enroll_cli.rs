//! `ronda-agent enroll`: the command line over `ronda_agent::enroll`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ronda_agent::enroll::{self, Enrollment};
use ronda_common::conf::Secret;

#[derive(clap::Args)]
pub struct EnrollArgs {
    /// The broker: mqtts://host:port (mqtt:// only to this machine, or with --allow-plaintext).
    #[arg(long)]
    broker: String,
    /// This office's id, as in the server's registry.
    #[arg(long)]
    office: String,
    /// This agent's id within the office, such as `kantor-utama`.
    #[arg(long)]
    agent: String,
    /// Read the agent's MQTT password (from `ronda-server mqtt-user add`)
    /// from this file, or `-` for one line of standard input. Never as an
    /// argument: the process list shows those to everyone.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Where the password is kept (mode 0600); the config names it.
    #[arg(long, default_value = "/etc/ronda/credentials/mqtt-password")]
    credential: PathBuf,
    /// Name the credential by its path in the config, instead of through
    /// systemd's `$CREDENTIALS_DIRECTORY` (for an agent run without systemd).
    #[arg(long)]
    no_credentials_directory: bool,
    /// The CA that signed the broker's certificate (PEM), for mqtts://.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Let the password travel in clear over mqtt:// (a closed network only).
    #[arg(long)]
    allow_plaintext: bool,
    /// Where the agent keeps its outbox (default /var/lib/ronda-agent).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Where to write the config.
    #[arg(long, default_value = "/etc/ronda/agent.yaml")]
    out: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
    /// Log in to the broker with the credential before writing anything.
    #[arg(long)]
    check: bool,
}

pub fn execute(a: EnrollArgs) -> ExitCode {
    match enroll(a) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn enroll(a: EnrollArgs) -> Result<String, String> {
    // The config is read from elsewhere than here: no relative paths.
    let absolute = |p: Option<PathBuf>, flag: &str| {
        p.map(|p| std::path::absolute(&p).map_err(|e| format!("{flag}: {e}")))
            .transpose()
    };
    let ca_file = absolute(a.ca_file, "--ca-file")?;
    let state_dir = absolute(a.state_dir, "--state-dir")?;
    let credential = absolute(Some(a.credential), "--credential")?.unwrap_or_default();
    let e = Enrollment {
        broker: a.broker,
        office: a.office,
        agent: a.agent,
        credential,
        via_credentials_directory: !a.no_credentials_directory,
        ca_file,
        allow_plaintext: a.allow_plaintext,
        state_dir,
    };
    // Everything is checked before anything is written.
    let (text, config) = e.checked(&a.out).map_err(|e| e.to_string())?;
    let password = a.password_file.as_deref().map(read_password).transpose()?;
    if a.check {
        let p = password
            .as_ref()
            .ok_or("--check needs the password: give --password-file")?;
        check(&config, p)?;
    }
    // A password already in the credential file is not written again.
    let given = a
        .password_file
        .as_deref()
        .and_then(|p| std::path::absolute(p).ok());
    let keep = password
        .as_ref()
        .filter(|_| given.as_deref() != Some(e.credential.as_path()));
    for path in keep.map(|_| &e.credential).into_iter().chain([&a.out]) {
        if path.exists() && !a.force {
            return Err(format!(
                "{} exists; give --force to replace it",
                path.display()
            ));
        }
    }
    if let Some(p) = keep {
        enroll::write_file(&e.credential, p.expose().as_bytes(), 0o600, a.force)
            .map_err(|e| e.to_string())?;
    }
    enroll::write_file(&a.out, text.as_bytes(), 0o644, a.force).map_err(|e| e.to_string())?;
    Ok(summary(&e, &a.out, password.is_some(), a.check))
}

fn check(config: &ronda_agent::AgentConfig, password: &Secret) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime
        .block_on(enroll::try_broker(config, password))
        .map_err(|e| e.to_string())
}

fn summary(e: &Enrollment, out: &Path, stored: bool, checked: bool) -> String {
    let mut s = format!("wrote {}", out.display());
    if checked {
        s.push_str(&format!("\nthe broker accepted {}", e.username()));
    }
    let cred = e.credential.display();
    if stored {
        s.push_str(&format!("\nthe password is in {cred} (mode 0600)"));
    } else {
        s.push_str(&format!(
            "\nput the agent's password (from `ronda-server mqtt-user add {} {}`) in {cred}, mode 0600",
            e.office, e.agent
        ));
    }
    if e.via_credentials_directory {
        let name = e
            .credential
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        s.push_str(&format!(
            "\nthe service reads it through systemd: LoadCredential={}:{cred}",
            name.unwrap_or_else(|| enroll::CREDENTIAL_NAME.into())
        ));
    }
    s.push_str(&format!(
        "\ncheck it with: ronda-agent check --config {}",
        out.display()
    ));
    s
}

/// One line from a file or standard input (`-`), without its line end.
fn read_password(path: &Path) -> Result<Secret, String> {
    let line = if path == Path::new("-") {
        let mut l = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut l)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        l
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--password-file {}: {e}", path.display()))?
    };
    let p = line.lines().next().unwrap_or("").to_owned();
    if p.is_empty() {
        return Err("the password is empty".into());
    }
    Ok(Secret::new(p))
}
