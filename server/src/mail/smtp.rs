//! One SMTP connection, opened with TCP_NODELAY and reused for every
//! message of a sending pass.
//!
//! lettre's transport opens a connection per message and never sets
//! TCP_NODELAY, so each DATA waited ~40 ms on a delayed ACK: about 25
//! messages a second. Here the socket is ours, so Nagle is off, and one
//! EHLO (and STARTTLS and AUTH) serves a whole pass.

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;

use super::config::{SmtpConfig, Tls};
use super::Outcome;

pub struct Smtp {
    config: SmtpConfig,
    conn: Option<AsyncSmtpConnection>,
}

impl Smtp {
    pub fn new(config: SmtpConfig) -> Smtp {
        Smtp { config, conn: None }
    }

    pub fn timeout(&self) -> std::time::Duration {
        self.config.timeout
    }

    /// Send one message; the caller bounds it with the configured timeout.
    pub async fn send(&mut self, message: &Message) -> Outcome {
        let conn = match self.conn.take() {
            Some(c) => c,
            None => match self.connect().await {
                Ok(c) => c,
                Err(o) => return o,
            },
        };
        let mut conn = conn;
        match conn.send(message.envelope(), &message.formatted()).await {
            Ok(_) => {
                self.conn = Some(conn);
                Outcome::Sent
            }
            // After a refusal the session's state is unclear: start afresh.
            Err(e) => classify(&e),
        }
    }

    /// Say goodbye at the end of a pass, so no idle connection is held.
    pub async fn close(&mut self) {
        if let Some(mut c) = self.conn.take() {
            let _ = c.quit().await;
        }
    }

    /// Forget a connection left in an unknown state (after a timeout).
    pub fn reset(&mut self) {
        self.conn = None;
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Outcome> {
        let s = &self.config;
        let hello = ClientId::default();
        let params = || {
            match &s.ca {
                Some(ca) => ca.tls_parameters(&s.host),
                None => TlsParameters::new(s.host.clone()),
            }
            .map_err(|e| Outcome::Permanent(e.to_string()))
        };
        let mut conn = if s.tls == Tls::Implicit {
            // TLS from the first byte is lettre's to set up.
            AsyncSmtpConnection::connect_tokio1(
                (s.host.as_str(), s.port),
                Some(s.timeout),
                &hello,
                Some(params()?),
                None,
            )
            .await
            .map_err(|e| self.tls_failed(&e))?
        } else {
            let tcp = tokio::net::TcpStream::connect((s.host.as_str(), s.port))
                .await
                .map_err(|e| {
                    Outcome::Transient(format!("cannot connect to {}:{}: {e}", s.host, s.port))
                })?;
            tcp.set_nodelay(true)
                .map_err(|e| Outcome::Transient(e.to_string()))?;
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &hello)
                .await
                .map_err(|e| classify(&e))?
        };
        if s.tls == Tls::StartTls {
            conn.starttls(params()?, &hello)
                .await
                .map_err(|e| self.tls_failed(&e))?;
            if !conn.is_encrypted() {
                return Err(Outcome::Permanent(format!(
                    "{} does not offer STARTTLS; set tls: none only for a trusted relay",
                    s.host
                )));
            }
        }
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            let pass = pass
                .resolve()
                .map_err(|e| Outcome::Permanent(e.to_string()))?;
            let creds = Credentials::new(user.clone(), pass.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &creds)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(conn)
    }
}

impl Smtp {
    /// A failed handshake, with a hint where the fix is when the server's
    /// certificate comes from a CA this side does not know.
    fn tls_failed(&self, e: &lettre::transport::smtp::Error) -> Outcome {
        let text = e.to_string();
        // A CA this side does not know (UnknownIssuer), or one with the same
        // name as the one it knows but another key (BadSignature).
        if !(text.contains("UnknownIssuer") || text.contains("BadSignature")) {
            return classify(e);
        }
        let hint = match &self.config.ca {
            Some(ca) => format!(
                "; the server's certificate is not signed by the CA in {}",
                ca.path.display()
            ),
            None => "; if the mail server's certificate is from a private CA, give it as mail.smtp.ca_file".into(),
        };
        Outcome::Transient(format!("{text}{hint}"))
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> Outcome {
    if e.is_permanent() {
        Outcome::Permanent(e.to_string())
    } else {
        Outcome::Transient(e.to_string())
    }
}
