//! A real SMTP server on a free port, which records what it accepts and can
//! be told to misbehave: answer 421, refuse a recipient with 550, or stall
//! in the middle of DATA. It can speak TLS with a certificate from a
//! [`TestCa`]: after STARTTLS, or from the first byte (port 465 style).
//! The protocol is `mailin`'s session state machine (the core of
//! mailin-embedded); this file only carries its lines over TCP, and rustls
//! (as a regency's own mail server would) carries them over TLS.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::TestCa;

use mailin::response::{self, Response};
use mailin::{Action, Handler, SessionBuilder};

#[derive(Debug, Clone, Default)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
    /// When the server accepted it (just before its 250).
    pub at: Option<jiff::Timestamp>,
    /// Whether it came over TLS (STARTTLS or implicit).
    pub tls: bool,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}: ", name.to_ascii_lowercase());
        let mut lines = self.data.lines();
        let mut value =
            lines.find(|l| l.to_ascii_lowercase().starts_with(&prefix))?[prefix.len()..].to_owned();
        // Folded header lines continue with whitespace.
        for l in lines.take_while(|l| l.starts_with(' ') || l.starts_with('\t')) {
            value.push_str(l.trim_end());
        }
        Some(value.trim_end().to_owned())
    }
}

/// What the server does wrong, and how many more times.
#[derive(Debug, Default)]
pub struct Script {
    /// Answer `MAIL FROM` with 421 this many times.
    pub refuse: usize,
    /// Stall this long in the middle of DATA (then drop the message), once.
    pub stall: Option<Duration>,
    /// Refuse these recipients with 550.
    pub reject: Vec<String>,
}

#[derive(Clone)]
struct H {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Script>>,
    current: Received,
    /// Whether this connection is encrypted now (one flag per connection).
    tls: Arc<AtomicBool>,
}

/// How the server speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain, offering STARTTLS (port 587 style).
    StartTls,
    /// TLS from the first byte (port 465 style).
    Implicit,
}

impl Handler for H {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        let mut s = self.script.lock().unwrap();
        if s.refuse > 0 {
            s.refuse -= 1;
            return response::NO_SERVICE;
        }
        self.current = Received {
            tls: self.tls.load(Ordering::SeqCst),
            ..Received::default()
        };
        response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.script.lock().unwrap().reject.iter().any(|r| r == to) {
            return response::NO_MAILBOX;
        }
        self.current.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        let stall = self.script.lock().unwrap().stall.take();
        if let Some(d) = stall {
            std::thread::sleep(d);
            return Err(io::Error::other("stalled"));
        }
        self.current.data.push_str(&String::from_utf8_lossy(buf));
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.current.at = Some(jiff::Timestamp::now());
        self.received
            .lock()
            .unwrap()
            .push(std::mem::take(&mut self.current));
        response::OK
    }
}

pub struct Smtp {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub script: Arc<Mutex<Script>>,
}

impl Smtp {
    /// Start on a free port.
    pub fn start() -> Smtp {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), None)
    }

    /// Start on `addr`, which must be free now.
    pub fn start_at(addr: SocketAddr) -> Smtp {
        Self::on(TcpListener::bind(addr).unwrap(), None)
    }

    /// Start on a free port speaking TLS with `ca`'s server certificate
    /// (for 127.0.0.1 and localhost), as `mode` says.
    pub fn start_tls(ca: &TestCa, mode: TlsMode) -> Smtp {
        let config = Arc::new(server_config(ca));
        Self::on(
            TcpListener::bind("127.0.0.1:0").unwrap(),
            Some((config, mode)),
        )
    }

    fn on(listener: TcpListener, tls: Option<(Arc<ServerConfig>, TlsMode)>) -> Smtp {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script::default()));
        let h = H {
            received: received.clone(),
            script: script.clone(),
            current: Received::default(),
            tls: Arc::default(),
        };
        // Serves until the test process ends, one thread per connection.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let h = h.clone();
                let tls = tls.clone();
                std::thread::spawn(move || session(stream, h, tls));
            }
        });
        Smtp {
            addr,
            received,
            script,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// The connection of one session: plain until STARTTLS, or TLS throughout.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

fn server_config(ca: &TestCa) -> ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(ca.server_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_slice(ca.server_key.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap()
}

fn encrypt(tcp: TcpStream, config: &Arc<ServerConfig>) -> io::Result<Stream> {
    let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
    Ok(Stream::Tls(Box::new(StreamOwned::new(conn, tcp))))
}

fn session(
    stream: TcpStream,
    mut h: H,
    tls: Option<(Arc<ServerConfig>, TlsMode)>,
) -> io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    // Nagle's algorithm would hold each reply ~40 ms behind a delayed ACK.
    stream.set_nodelay(true)?;
    let mut builder = SessionBuilder::new("smtp.test");
    h.tls = Arc::new(AtomicBool::new(false));
    let stream = match &tls {
        Some((config, TlsMode::Implicit)) => {
            h.tls.store(true, Ordering::SeqCst);
            encrypt(stream, config)?
        }
        Some((_, TlsMode::StartTls)) => {
            builder.enable_start_tls();
            Stream::Plain(stream)
        }
        None => Stream::Plain(stream),
    };
    let encrypted = h.tls.clone();
    let mut session = builder.build(peer, h);
    let mut conn = BufReader::new(stream);
    session.greeting().write_to(conn.get_mut())?;
    conn.get_mut().flush()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if conn.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            Action::NoReply => {}
            Action::Close => {
                res.write_to(conn.get_mut())?;
                return conn.get_mut().flush();
            }
            Action::UpgradeTls => {
                res.write_to(conn.get_mut())?;
                conn.get_mut().flush()?;
                let (Stream::Plain(tcp), Some((config, _))) = (conn.into_inner(), &tls) else {
                    return Err(io::Error::other("STARTTLS twice"));
                };
                // The client waits for the 220 before its handshake, so
                // nothing was read ahead of it.
                encrypted.store(true, Ordering::SeqCst);
                session.tls_active();
                conn = BufReader::new(encrypt(tcp, config)?);
            }
            _ => {
                res.write_to(conn.get_mut())?;
                conn.get_mut().flush()?;
            }
        }
    }
}
