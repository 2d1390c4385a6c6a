//! The gate under load from clients that never get in: password checks
//! held up, and sockets that never send a CONNECT.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

use rumqttd::protocol::Connect;
use tokio::sync::mpsc;

use super::*;

/// A credential store that hangs in every check until it is let go, as a
/// slow hash or a busy disk would; it counts the checks and refusals.
struct Stuck {
    checks: AtomicUsize,
    entered: mpsc::UnboundedSender<()>,
    open: (Mutex<bool>, Condvar),
    refusals: Mutex<Vec<&'static str>>,
}

impl Stuck {
    fn release(&self) {
        *self.open.0.lock().unwrap() = true;
        self.open.1.notify_all();
    }
}

impl Guard for Stuck {
    fn verify(&self, _username: &str, _password: &str) -> bool {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let _ = self.entered.send(());
        let open = self.open.0.lock().unwrap();
        drop(self.open.1.wait_while(open, |open| !*open).unwrap());
        false
    }

    fn refused(&self, reason: &'static str) {
        self.refusals.lock().unwrap().push(reason);
    }
}

/// Lets the checks go when dropped: the runtime waits for its blocking
/// threads at the end of a test, failed or not.
struct Release(Arc<Stuck>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.release();
    }
}

fn stuck() -> (Arc<Stuck>, mpsc::UnboundedReceiver<()>) {
    let (entered, checks) = mpsc::unbounded_channel();
    let guard = Stuck {
        checks: AtomicUsize::new(0),
        entered,
        open: (Mutex::new(false), Condvar::new()),
        refusals: Mutex::new(Vec::new()),
    };
    (Arc::new(guard), checks)
}

/// The gate on a free port, in front of nothing: nobody here gets in.
async fn gate(guard: Arc<Stuck>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gate = Gate {
        upstream: addr,
        internal: Login {
            username: "internal".into(),
            password: "x".into(),
        },
        allow_anonymous: false,
        guard,
        max_packet: 1 << 16,
        limits: Limits::new(MAX_UNADMITTED, MAX_CHECKS, Duration::from_millis(50)),
    };
    tokio::spawn(serve(listener, Arc::new(gate), None));
    addr
}

/// Connect and send a CONNECT with a wrong password.
async fn guess(gate: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(gate).await.unwrap();
    let connect = Connect {
        keep_alive: 15,
        client_id: "x".into(),
        clean_session: true,
    };
    let login = Login {
        username: "dinkes/gw".into(),
        password: "guess".into(),
    };
    let mut out = BytesMut::new();
    V4.write(
        Packet::Connect(connect, None, None, None, Some(login)),
        &mut out,
    )
    .unwrap();
    socket.write_all(&out).await.unwrap();
    socket
}

/// The CONNACK return code the gate answered with.
async fn connack(socket: &mut TcpStream) -> u8 {
    let mut ack = [0u8; 4];
    socket.read_exact(&mut ack).await.unwrap();
    assert_eq!(ack[..3], [0x20, 2, 0], "not a CONNACK");
    ack[3]
}

/// Finding 1 of issue 18: wrong passwords sent at once must not each take
/// a thread of the blocking pool, which the web's sessions need too.
#[tokio::test]
async fn password_checks_are_bounded_and_the_rest_are_told_to_come_back() {
    let (guard, mut entered) = stuck();
    let _release = Release(guard.clone());
    let addr = gate(guard.clone()).await;
    let mut held = Vec::new();
    for _ in 0..MAX_CHECKS {
        held.push(guess(addr).await);
        entered.recv().await.unwrap();
    }
    // One more: answered "server unavailable", never checked.
    let mut extra = guess(addr).await;
    tokio::select! {
        code = connack(&mut extra) => assert_eq!(code, 3, "server unavailable"),
        _ = entered.recv() => panic!("a 9th password check ran at once"),
    }
    assert_eq!(guard.checks.load(Ordering::SeqCst), MAX_CHECKS);
    // Let go: those held are refused for their password, as usual.
    guard.release();
    for socket in &mut held {
        assert_eq!(connack(socket).await, 4, "bad username or password");
    }
    let refusals = guard.refusals.lock().unwrap().clone();
    assert_eq!(refusals.iter().filter(|r| **r == "busy").count(), 1);
    let bad = refusals.iter().filter(|r| **r == "bad_password").count();
    assert_eq!(bad, MAX_CHECKS);
}
