//! `ronda-server init`: asks on the terminal for what it needs, or takes
//! every answer as a flag (`--non-interactive` for scripts), then writes the
//! files through `ronda_server::init`.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ronda_server::init::{self, Answers, MailAnswers, OfficeAnswer};

#[derive(clap::Args)]
pub struct InitArgs {
    /// Where the config files go.
    #[arg(long, default_value = "/etc/ronda")]
    dir: PathBuf,
    /// The address people open, such as https://ronda.kotim.go.id (links in mail start with it).
    #[arg(long)]
    url: Option<String>,
    /// Where the web side listens.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The SQLite database, default /var/lib/ronda-server/ronda.db
    /// (a relative path is relative to --dir).
    #[arg(long)]
    database: Option<PathBuf>,
    /// The region's name, such as "Kabupaten Kotawaringin Timur".
    #[arg(long)]
    region: Option<String>,
    /// Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT).
    #[arg(long)]
    timezone: Option<String>,
    /// The mail server; without it no mail is configured.
    #[arg(long)]
    smtp_host: Option<String>,
    /// Default: 587 for starttls, 465 for implicit, 25 for none.
    #[arg(long)]
    smtp_port: Option<u16>,
    /// starttls (default), implicit or none.
    #[arg(long)]
    smtp_tls: Option<String>,
    /// The mail server login, if it wants one (its password goes in a file).
    #[arg(long)]
    smtp_username: Option<String>,
    /// Where the service finds the SMTP password (the config names this
    /// file; init never sees the password). Default: systemd's credential.
    #[arg(long)]
    smtp_password_file: Option<String>,
    /// The private CA of the mail server's certificate (PEM).
    #[arg(long)]
    smtp_ca_file: Option<PathBuf>,
    /// The sender, such as "Ronda Kotim <ronda@kotim.go.id>".
    #[arg(long)]
    mail_from: Option<String>,
    /// Language of the mail: id or en.
    #[arg(long)]
    language: Option<String>,
    /// The first admin account's name.
    #[arg(long)]
    admin: Option<String>,
    /// Read the admin's password from this file, or `-` for one line of
    /// standard input. Never as an argument: the process list shows those.
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
    /// An office: ID:NAME:HEAD-EMAIL (repeat the flag for more).
    #[arg(long = "office")]
    offices: Vec<String>,
    /// Ask nothing: take the flags, and defaults for what they leave out.
    #[arg(long)]
    non_interactive: bool,
    /// Replace existing files (and an admin of the same name's password).
    #[arg(long)]
    force: bool,
}

/// Answers from the terminal (or piped lines), or from flags alone.
struct Ask {
    interactive: bool,
    input: std::io::StdinLock<'static>,
}

impl Ask {
    /// `flag`'s value, else the answer to `question`, else `default`.
    fn value(
        &mut self,
        flag: Option<String>,
        question: &str,
        default: &str,
    ) -> Result<String, String> {
        if let Some(v) = flag {
            return Ok(v);
        }
        if !self.interactive {
            return Ok(default.to_owned());
        }
        match default {
            "" => eprint!("{question}: "),
            d => eprint!("{question} [{d}]: "),
        }
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        self.input
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        let line = line.trim();
        Ok(if line.is_empty() { default } else { line }.to_owned())
    }

    fn required(
        &mut self,
        flag: Option<String>,
        question: &str,
        name: &str,
    ) -> Result<String, String> {
        // Asked again (a few times) until answered.
        let tries = if self.interactive && flag.is_none() {
            3
        } else {
            1
        };
        let mut flag = flag;
        for _ in 0..tries {
            let v = self.value(flag.take(), question, "")?;
            if !v.is_empty() {
                return Ok(v);
            }
        }
        Err(format!("{name} is needed"))
    }
}

pub fn execute(a: InitArgs) -> Result<String, String> {
    let mut ask = Ask {
        interactive: !a.non_interactive,
        input: std::io::stdin().lock(),
    };
    let answers = answers(&a, &mut ask)?;
    let password = admin_password(&a, &mut ask)?;
    let w = init::write(&a.dir, &answers, &password, a.force).map_err(|e| e.to_string())?;
    Ok(summary(&answers, &w))
}

fn answers(a: &InitArgs, ask: &mut Ask) -> Result<Answers, String> {
    let url = ask.required(
        a.url.clone(),
        "The address people open Ronda at (https://…)",
        "--url",
    )?;
    let listen = ask.value(
        a.listen.map(|l| l.to_string()),
        "Listen on",
        "127.0.0.1:8080",
    )?;
    let listen = listen
        .parse()
        .map_err(|e| format!("listen `{listen}`: {e}"))?;
    let db = a.database.as_ref().map(|d| d.display().to_string());
    let database = ask
        .value(db, "Database file", init::DEFAULT_DATABASE)?
        .into();
    let region = ask.required(a.region.clone(), "The region's name", "--region")?;
    let timezone = ask.value(a.timezone.clone(), "Time zone", "Asia/Jakarta")?;
    let mail = mail(a, ask)?;
    let mut offices = a
        .offices
        .iter()
        .map(|o| OfficeAnswer::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    if a.offices.is_empty() {
        loop {
            let o = ask.value(
                None,
                "An office as ID:NAME:HEAD-EMAIL (empty when done)",
                "",
            )?;
            if o.is_empty() {
                break;
            }
            offices.push(OfficeAnswer::parse(&o)?);
        }
    }
    let admin = ask.value(a.admin.clone(), "The first admin's user name", "admin")?;
    Ok(Answers {
        url,
        listen,
        database,
        region,
        timezone,
        mail,
        offices,
        admin,
    })
}

fn mail(a: &InitArgs, ask: &mut Ask) -> Result<Option<MailAnswers>, String> {
    let host = ask.value(a.smtp_host.clone(), "Mail server (empty: no mail)", "")?;
    if host.is_empty() {
        return Ok(None);
    }
    let tls = ask.value(
        a.smtp_tls.clone(),
        "TLS: starttls, implicit or none",
        "starttls",
    )?;
    let username = ask.value(
        a.smtp_username.clone(),
        "Mail server user name (empty: none)",
        "",
    )?;
    let from = ask.required(
        a.mail_from.clone(),
        "Sender, such as Ronda <ronda@kotim.go.id>",
        "--mail-from",
    )?;
    let language = ask.value(a.language.clone(), "Mail language: id or en", "id")?;
    let default_file = format!("$CREDENTIALS_DIRECTORY/{}", init::SMTP_CREDENTIAL);
    // Relative to here, not to the config's folder the admin may not be in.
    let ca_file = a
        .smtp_ca_file
        .as_deref()
        .map(std::path::absolute)
        .transpose();
    Ok(Some(MailAnswers {
        host,
        port: a.smtp_port,
        tls,
        username: (!username.is_empty()).then_some(username),
        password_file: a.smtp_password_file.clone().unwrap_or(default_file),
        ca_file: ca_file.map_err(|e| format!("--smtp-ca-file: {e}"))?,
        from,
        language,
    }))
}

fn admin_password(a: &InitArgs, ask: &mut Ask) -> Result<String, String> {
    if let Some(path) = &a.admin_password_file {
        return read_line_from(path, ask);
    }
    if !ask.interactive {
        return Err("--admin-password-file is needed (a file, or - for standard input)".into());
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Admin password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    // Answers piped in: the password is the next line.
    ask.required(None, "Admin password", "the admin password")
}

fn read_line_from(path: &Path, ask: &mut Ask) -> Result<String, String> {
    let text = if path == Path::new("-") {
        let mut l = String::new();
        ask.input
            .read_line(&mut l)
            .map_err(|e| format!("cannot read the password: {e}"))?;
        l
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--admin-password-file {}: {e}", path.display()))?
    };
    Ok(text.lines().next().unwrap_or("").to_owned())
}

fn summary(a: &Answers, w: &init::Written) -> String {
    let mut s = format!(
        "wrote {}\nwrote {}\nmade {} (put letters here)\nadmin account {} in {}",
        w.server_yaml.display(),
        w.offices_yaml.display(),
        w.letters.display(),
        a.admin,
        w.database.display()
    );
    if let Some(m) = a.mail.as_ref().filter(|m| m.username.is_some()) {
        match m.password_file.strip_prefix("$CREDENTIALS_DIRECTORY/") {
            Some(name) => s.push_str(&format!(
                "\nput the SMTP password in /etc/ronda/credentials/{name} (owner root, mode 0600); \
                 the service reads it through systemd: LoadCredential={name}:/etc/ronda/credentials/{name}"
            )),
            None => s.push_str(&format!(
                "\nput the SMTP password in {} (mode 0600, readable by the service only)",
                m.password_file
            )),
        }
    }
    s.push_str(&format!(
        "\ncheck it with: ronda-server check --config {}",
        w.server_yaml.display()
    ));
    s
}
