//! The test SMTP server (ronda-testkit's), and the server's mail settings
//! that send to it.

use std::net::SocketAddr;
use std::time::Duration;

pub use ronda_testkit::free_addr;
pub use ronda_testkit::smtp::{Received, Smtp};

/// Server mail settings that send to `addr`: plain SMTP, no login, each
/// send limited to `timeout`, in `language`.
pub fn mail_config(
    addr: SocketAddr,
    language: ronda_server::mail::config::Lang,
    timeout: Duration,
) -> ronda_server::mail::MailConfig {
    use ronda_server::mail::config::{MailConfig, SmtpConfig, Tls, TransportConfig};
    MailConfig {
        transport: TransportConfig::Smtp(SmtpConfig {
            host: addr.ip().to_string(),
            port: addr.port(),
            tls: Tls::None,
            username: None,
            password: None,
            timeout,
            ca: None,
        }),
        from: "Ronda Kotim <ronda@kotim.example.go.id>".parse().unwrap(),
        reply_to: Some("Command Center <cc@kotim.example.go.id>".parse().unwrap()),
        language,
        dashboard_url: "https://ronda.example.go.id".into(),
        telegram: None,
        webhook: None,
    }
}
