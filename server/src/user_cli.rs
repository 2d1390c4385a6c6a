//! `ronda-server user add|passwd|list|disable|sync|token-add|token-list|token-revoke`:
//! people's accounts and scripts' API tokens, from the command line.

use std::path::PathBuf;

use clap::Subcommand;
use ronda_server::store::users;
use ronda_server::ServerConfig;

/// Who an account or a token is: a name, a role and (for a head) an office.
#[derive(clap::Args)]
pub struct Scope {
    name: String,
    /// admin, it, head or viewer.
    #[arg(long)]
    role: String,
    /// The office of a head.
    #[arg(long)]
    office: Option<String>,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add an account; the password is read from standard input.
    Add {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        who: Scope,
    },
    /// Set a new password (read from standard input); ends the user's sessions.
    Passwd {
        #[arg(long, short)]
        config: PathBuf,
        name: String,
    },
    /// List the accounts.
    List {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Disable an account; ends its sessions.
    Disable {
        #[arg(long, short)]
        config: PathBuf,
        name: String,
    },
    /// Create a head account for every office in the registry that has
    /// none, and mail each head a one-time link to set its password.
    Sync {
        #[arg(long, short)]
        config: PathBuf,
        /// How long a link works once its mail is sent (1h to 30d).
        #[arg(long, default_value = "72h")]
        expires: String,
        /// Send a new link also to heads whose link still works (the old
        /// one stops working).
        #[arg(long)]
        resend: bool,
    },
    /// Make an API token for scripts (`Authorization: Bearer …`); it is
    /// printed once and stored only as a hash.
    TokenAdd {
        #[arg(long, short)]
        config: PathBuf,
        #[command(flatten)]
        who: Scope,
    },
    /// List the API tokens (names and scopes, never the tokens).
    TokenList {
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Revoke an API token.
    TokenRevoke {
        #[arg(long, short)]
        config: PathBuf,
        name: String,
    },
}

/// What to print on success, or the error.
pub fn execute(command: &UserCommand) -> Result<String, String> {
    let config = match command {
        UserCommand::Add { config, .. }
        | UserCommand::Passwd { config, .. }
        | UserCommand::List { config }
        | UserCommand::Disable { config, .. }
        | UserCommand::Sync { config, .. }
        | UserCommand::TokenAdd { config, .. }
        | UserCommand::TokenList { config }
        | UserCommand::TokenRevoke { config, .. } => config,
    };
    if let UserCommand::Sync {
        expires, resend, ..
    } = command
    {
        return sync(config, expires, *resend);
    }
    let run = || -> Result<String, String> {
        let cfg = ServerConfig::load(config).map_err(|e| e.to_string())?;
        let conn = cfg.database.open().map_err(|e| e.to_string())?;
        let now = jiff::Timestamp::now().as_millisecond();
        if let UserCommand::Add { who, .. } | UserCommand::TokenAdd { who, .. } = command {
            if let Some(o) = &who.office {
                cfg.known_office(o)?;
            }
        }
        let done = match command {
            UserCommand::TokenAdd {
                who: Scope { name, role, office },
                ..
            } => {
                let token = users::tokens::add(&conn, name, role, office.as_deref(), now)
                    .map_err(|e| e.to_string())?;
                let _ = ronda_server::store::audit::append(
                    &conn,
                    None,
                    "token.add",
                    name,
                    Some("command line"),
                    now,
                );
                // The only copy: on stdout alone, so `$(…)` captures just it.
                eprintln!("token {name} ({role}) made; it is shown once:");
                return Ok(token);
            }
            UserCommand::TokenRevoke { name, .. } => {
                users::tokens::revoke(&conn, name).map_err(|e| e.to_string())?;
                format!("token {name} revoked")
            }
            UserCommand::TokenList { .. } => {
                let list = users::tokens::list(&conn).map_err(|e| e.to_string())?;
                let lines: Vec<String> = list
                    .iter()
                    .map(|t| {
                        format!(
                            "{:<20} {:<7} {}",
                            t.name,
                            t.role.as_str(),
                            t.office.as_deref().unwrap_or("-")
                        )
                    })
                    .collect();
                return Ok(lines.join("\n"));
            }
            UserCommand::Add {
                who: Scope { name, role, office },
                ..
            } => {
                let password = read_password()?;
                let u = users::add(&conn, name, role, office.as_deref(), &password, now)
                    .map_err(|e| e.to_string())?;
                format!(
                    "added {} ({}{})",
                    u.name,
                    u.role.as_str(),
                    u.office.map(|o| format!(", {o}")).unwrap_or_default()
                )
            }
            UserCommand::Passwd { name, .. } => {
                let password = read_password()?;
                users::passwd(&conn, name, &password, now).map_err(|e| e.to_string())?;
                format!("password of {name} changed; its sessions have ended")
            }
            UserCommand::Sync { .. } => return Err("handled above".into()),
            UserCommand::Disable { name, .. } => {
                users::disable(&conn, name).map_err(|e| e.to_string())?;
                format!("{name} disabled; its sessions have ended")
            }
            UserCommand::List { .. } => {
                let list = users::list(&conn).map_err(|e| e.to_string())?;
                let lines: Vec<String> = list
                    .iter()
                    .map(|u| {
                        format!(
                            "{:<20} {:<7} {:<14} {}",
                            u.name,
                            u.role.as_str(),
                            u.office.as_deref().unwrap_or("-"),
                            if u.disabled { "disabled" } else { "active" }
                        )
                    })
                    .collect();
                return Ok(lines.join("\n"));
            }
        };
        let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
        let _ = ronda_server::store::audit::append(
            &conn,
            Some(&actor),
            "user.cli",
            &done,
            Some("command line"),
            now,
        );
        Ok(done)
    };
    run()
}

/// `user sync`: needs the registry (who the heads are) and mail (how the
/// links reach them).
fn sync(config: &std::path::Path, expires: &str, resend: bool) -> Result<String, String> {
    let ttl = ronda_common::conf::parse_duration(expires).map_err(|e| format!("--expires: {e}"))?;
    if !(3600..=30 * 86_400).contains(&ttl.as_secs()) {
        return Err("--expires: give 1h to 30d".into());
    }
    let mut cfg = ServerConfig::load(config).map_err(|e| e.to_string())?;
    ronda_server::letters::load(&mut cfg)?;
    let registry = cfg.registry.clone().ok_or_else(|| {
        format!("{}: `offices:` is not set; sync makes an account for each office's head in the registry", config.display())
    })?;
    let mail = cfg.mail.as_ref().ok_or_else(|| {
        format!(
            "{}: `mail:` is not set; sync mails each head a link to set a password",
            config.display()
        )
    })?;
    let conn = cfg.database.open().map_err(|e| e.to_string())?;
    let opts = ronda_server::onboard::SyncOptions {
        ttl,
        resend,
        actor: std::env::var("USER").unwrap_or_else(|_| "cli".into()),
    };
    let report = ronda_server::onboard::sync(&conn, &registry, mail, &opts, jiff::Timestamp::now())
        .map_err(|e| e.to_string())?;
    let mut out = report.lines.join("\n");
    out.push_str(&format!(
        "\n{} accounts created, {} links queued; the running server mails them (see /mail)",
        report.created, report.mailed
    ));
    Ok(out)
}

/// One line from standard input, so a password never sits in the shell
/// history or the process list: `read -rs P && echo "$P" | ronda-server user add ...`.
fn read_password() -> Result<String, String> {
    eprint!("password: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
