//! A TCP proxy for an agent's line to its broker: forwards both ways, and on
//! command black-holes the line, cuts it, or lets it through again. It logs
//! every connection, so a test can count reconnects.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, Default)]
struct Mode {
    black_hole: bool,
    /// Raised by every cut; a connection opened before it is closed.
    generation: u64,
}

/// One connection the proxy accepted.
#[derive(Debug, Clone)]
pub struct Conn {
    pub opened: Instant,
    /// Taken before the sockets are closed, so the peers see the close after it.
    pub closed: Option<Instant>,
    /// Closed by a cut (not by a peer, nor at the end of a black hole).
    pub cut: bool,
}

pub struct Proxy {
    pub port: u16,
    mode: watch::Sender<Mode>,
    log: Arc<Mutex<Vec<Conn>>>,
    cuts: Mutex<Vec<Instant>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listen on a free port of 127.0.0.1 and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (mode, _) = watch::channel(Mode::default());
        let log = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn(accept(listener, upstream, mode.clone(), log.clone()));
        Proxy {
            port,
            mode,
            log,
            cuts: Mutex::new(Vec::new()),
            accept,
        }
    }

    /// Keep every socket open but pass no byte either way; what arrives is
    /// thrown away, and a peer's close is not passed on. New connections are
    /// accepted and treated alike.
    pub fn black_hole(&self) {
        self.mode.send_modify(|m| m.black_hole = true);
    }

    /// Forward again. A connection that lost bytes in the black hole is
    /// closed now: its stream has a hole in the middle, which no TCP path
    /// delivers (a real one retransmits or resets). One whose peer closed it
    /// meanwhile is closed too.
    pub fn resume(&self) {
        self.mode.send_modify(|m| m.black_hole = false);
    }

    /// Close every connection open now, both sides, as a line that drops.
    /// Returns when that was, and how many were open.
    pub fn cut(&self) -> (Instant, usize) {
        let at = Instant::now();
        let open = self.open();
        self.cuts.lock().unwrap().push(at);
        self.mode.send_modify(|m| m.generation += 1);
        (at, open)
    }

    /// Connections accepted so far, oldest first.
    pub fn connections(&self) -> Vec<Conn> {
        self.log.lock().unwrap().clone()
    }

    fn open(&self) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|c| c.closed.is_none()).count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Closes whatever is still open.
        self.mode.send_modify(|m| m.generation += 1);
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    log: Arc<Mutex<Vec<Conn>>>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        // The generation as of the accept: a cut after this closes it.
        let generation = mode.borrow().generation;
        let index = {
            let mut log = log.lock().unwrap();
            log.push(Conn {
                opened: Instant::now(),
                closed: None,
                cut: false,
            });
            log.len() - 1
        };
        tokio::spawn(pipe(
            client,
            upstream,
            mode.subscribe(),
            generation,
            log.clone(),
            index,
        ));
    }
}

/// Why a connection ended.
enum End {
    Cut,
    Other,
}

async fn pipe(
    mut client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    generation: u64,
    log: Arc<Mutex<Vec<Conn>>>,
    index: usize,
) {
    let end = match TcpStream::connect(upstream).await {
        Ok(mut server) => {
            // As the agent's own sockets: no Nagle delay added by the proxy.
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            relay(&mut client, &mut server, &mut mode, generation).await
        }
        Err(_) => End::Other,
    };
    if let Some(c) = log.lock().unwrap().get_mut(index) {
        c.closed = Some(Instant::now());
        c.cut = matches!(end, End::Cut);
    }
    // Dropping both streams closes them.
}

async fn relay(
    client: &mut TcpStream,
    server: &mut TcpStream,
    mode: &mut watch::Receiver<Mode>,
    generation: u64,
) -> End {
    let (mut client_in, mut client_out) = client.split();
    let (mut server_in, mut server_out) = server.split();
    let (mut up, mut down) = (vec![0u8; 16 << 10], vec![0u8; 16 << 10]);
    let (mut client_open, mut server_open, mut damaged) = (true, true, false);
    if mode.borrow_and_update().generation != generation {
        return End::Cut;
    }
    loop {
        tokio::select! {
            changed = mode.changed() => {
                let Ok(()) = changed else { return End::Other };
                let m = *mode.borrow_and_update();
                if m.generation != generation {
                    return End::Cut;
                }
                if !m.black_hole && (damaged || !client_open || !server_open) {
                    return End::Other;
                }
            }
            read = client_in.read(&mut up), if client_open => match read {
                Ok(n) if n > 0 => {
                    if mode.borrow().black_hole {
                        damaged = true;
                    } else if server_out.write_all(&up[..n]).await.is_err() {
                        return End::Other;
                    }
                }
                _ => {
                    client_open = false;
                    if !mode.borrow().black_hole {
                        return End::Other;
                    }
                }
            },
            read = server_in.read(&mut down), if server_open => match read {
                Ok(n) if n > 0 => {
                    if mode.borrow().black_hole {
                        damaged = true;
                    } else if client_out.write_all(&down[..n]).await.is_err() {
                        return End::Other;
                    }
                }
                _ => {
                    server_open = false;
                    if !mode.borrow().black_hole {
                        return End::Other;
                    }
                }
            },
        }
    }
}
