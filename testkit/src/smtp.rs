//! A real SMTP server on a free port, which records what it accepts and can
//! be told to misbehave: answer 421, refuse a recipient with 550, or stall
//! in the middle of DATA. The protocol is `mailin`'s session state machine
//! (the core of mailin-embedded); this file only carries its lines over TCP.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::response::{self, Response};
use mailin::{Action, Handler, SessionBuilder};

#[derive(Debug, Clone, Default)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
    /// When the server accepted it (just before its 250).
    pub at: Option<jiff::Timestamp>,
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
}

impl Handler for H {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, _from: &str) -> Response {
        let mut s = self.script.lock().unwrap();
        if s.refuse > 0 {
            s.refuse -= 1;
            return response::NO_SERVICE;
        }
        self.current = Received::default();
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
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Start on `addr`, which must be free now.
    pub fn start_at(addr: SocketAddr) -> Smtp {
        Self::on(TcpListener::bind(addr).unwrap())
    }

    fn on(listener: TcpListener) -> Smtp {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script::default()));
        let h = H {
            received: received.clone(),
            script: script.clone(),
            current: Received::default(),
        };
        // Serves until the test process ends, one thread per connection.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let h = h.clone();
                std::thread::spawn(move || session(stream, h));
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

fn session(stream: TcpStream, h: H) -> io::Result<()> {
    let peer = stream.peer_addr()?.ip();
    // Nagle's algorithm would hold each reply ~40 ms behind a delayed ACK.
    stream.set_nodelay(true)?;
    let mut session = SessionBuilder::new("smtp.test").build(peer, h);
    let mut out = io::BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    session.greeting().write_to(&mut out)?;
    out.flush()?;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let res = session.process(&line);
        match res.action {
            Action::NoReply => {}
            Action::Close => {
                res.write_to(&mut out)?;
                return out.flush();
            }
            _ => {
                res.write_to(&mut out)?;
                out.flush()?;
            }
        }
    }
}
