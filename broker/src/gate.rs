//! The gate in front of rumqttd: checks each CONNECT against the office
//! credentials, then forwards the connection, refusing any PUBLISH or
//! SUBSCRIBE beyond the rights of `examples/mosquitto/ronda.acl`.
//!
//! rumqttd 0.20 checks passwords but has no topic ACL, so the rules live
//! here. rumqttd itself listens on loopback and admits only the gate and the
//! server, with a password made at start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rumqttd::protocol::v4::{self, V4};
use rumqttd::protocol::{
    ConnAck, Connect, ConnectReturnCode, Error as MqttError, Login, Packet, Protocol,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::acl::{self, Denied, Identity, Refusal};

/// A client that has not sent CONNECT by then is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest CONNECT read: a username, a password and a small Last Will.
const MAX_CONNECT: usize = 16 << 10;
/// Connections not yet admitted (TLS handshake, CONNECT, password check) at
/// once. Each holds sockets and up to [`MAX_CONNECT`] of buffer for up to
/// [`CONNECT_TIMEOUT`]; past the cap a new socket is closed at once, so
/// silent clients cannot use up memory or file descriptors. Admitted
/// clients do not count.
pub const MAX_UNADMITTED: usize = 256;
/// Password checks at once. Each takes a thread of the blocking pool, which
/// the server's web sessions and store reader need too.
pub const MAX_CHECKS: usize = 8;
/// How long a CONNECT waits for a free password check before it is told
/// "server unavailable" (CONNACK 3); agents retry with backoff.
pub const CHECK_WAIT: Duration = Duration::from_secs(2);

/// What the gate asks of the server: credentials, and where to count.
pub trait Guard: Send + Sync + 'static {
    /// Whether `password` is the MQTT password of `username`.
    fn verify(&self, username: &str, password: &str) -> bool;
    /// Called once per refused connection, publish or subscription, with a
    /// [`Refusal::label`] or one of [`DENIED_PUBLISH`], [`DENIED_RETAIN`],
    /// [`DENIED_SUBSCRIBE`], [`MALFORMED`].
    fn refused(&self, reason: &'static str);
}

pub use crate::acl::{DENIED_PUBLISH, DENIED_RETAIN, DENIED_SUBSCRIBE};
pub const MALFORMED: &str = "malformed_packet";

pub struct Gate {
    pub upstream: SocketAddr,
    pub internal: Login,
    pub allow_anonymous: bool,
    pub guard: Arc<dyn Guard>,
    pub max_packet: usize,
    pub limits: Limits,
}

/// What clients that are not yet admitted may hold of the gate.
pub struct Limits {
    unadmitted: Arc<Semaphore>,
    checks: Arc<Semaphore>,
    check_wait: Duration,
}

impl Limits {
    pub fn new(unadmitted: usize, checks: usize, check_wait: Duration) -> Limits {
        Limits {
            unadmitted: Arc::new(Semaphore::new(unadmitted)),
            checks: Arc::new(Semaphore::new(checks)),
            check_wait,
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new(MAX_UNADMITTED, MAX_CHECKS, CHECK_WAIT)
    }
}

#[derive(Debug, thiserror::Error)]
enum GateError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed MQTT packet: {0:?}")]
    Malformed(MqttError),
    #[error("no CONNECT within {CONNECT_TIMEOUT:?}")]
    Slow,
    #[error("{0}")]
    Denied(&'static str),
}

/// Accept clients until the runtime ends; each connection is its own task.
pub async fn serve(listener: TcpListener, gate: Arc<Gate>, tls: Option<TlsAcceptor>) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors, say: wait instead of spinning.
                tracing::warn!(error = %e, "MQTT gate cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Taken here, in accept order, so that a flood cannot overshoot.
        let Ok(room) = gate.limits.unadmitted.clone().try_acquire_owned() else {
            gate.guard.refused(Refusal::Crowded.label());
            tracing::debug!(%peer, "MQTT connection closed at once: too many not yet admitted");
            continue;
        };
        let _ = socket.set_nodelay(true);
        tokio::spawn(gate.clone().handle(socket, peer, tls.clone(), room));
    }
}

impl Gate {
    async fn handle(
        self: Arc<Self>,
        socket: TcpStream,
        peer: SocketAddr,
        tls: Option<TlsAcceptor>,
        room: OwnedSemaphorePermit,
    ) {
        let result = match tls {
            None => self.connection(socket, peer, room).await,
            Some(tls) => match tokio::time::timeout(CONNECT_TIMEOUT, tls.accept(socket)).await {
                Ok(Ok(stream)) => self.connection(stream, peer, room).await,
                Ok(Err(e)) => Err(GateError::Io(e)),
                Err(_) => Err(GateError::Slow),
            },
        };
        if let Err(e) = result {
            if let GateError::Malformed(_) = e {
                self.guard.refused(MALFORMED);
            }
            tracing::debug!(%peer, error = %e, "MQTT connection closed");
        }
    }

    /// `room` is this connection's place among those not yet admitted.
    async fn connection<S>(
        &self,
        mut client: S,
        peer: SocketAddr,
        room: OwnedSemaphorePermit,
    ) -> Result<(), GateError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buf = BytesMut::with_capacity(1024);
        let first = tokio::time::timeout(CONNECT_TIMEOUT, read_packet(&mut client, &mut buf))
            .await
            .map_err(|_| GateError::Slow)?;
        let (connect, will, login) = match first {
            Ok(Packet::Connect(c, _, will, _, login)) => (c, will, login),
            _ => {
                return self
                    .refuse(&mut client, peer, "", None, Refusal::NotConnect)
                    .await
            }
        };
        let username = login.as_ref().map(|l| l.username.as_str());
        let (identity, client_id) = match self.admit(&connect, login.clone(), will.as_ref()).await {
            Ok(admitted) => admitted,
            Err(why) => {
                return self
                    .refuse(&mut client, peer, &connect.client_id, username, why)
                    .await
            }
        };
        drop(room);
        let mut upstream = TcpStream::connect(self.upstream).await?;
        let _ = upstream.set_nodelay(true);
        let mut out = BytesMut::new();
        tracing::debug!(%peer, client_id, "MQTT client admitted");
        let connect = rumqttd::protocol::Connect {
            client_id,
            ..connect
        };
        let packet = Packet::Connect(connect, None, will, None, Some(self.internal.clone()));
        V4.write(packet, &mut out).map_err(GateError::Malformed)?;
        upstream.write_all(&out).await?;
        let (mut from_broker, mut to_broker) = upstream.into_split();
        let (mut from_client, mut to_client) = tokio::io::split(client);
        // Whichever side ends first ends both: a client gone without a
        // DISCONNECT closes the broker side, so rumqttd sends its Last Will.
        tokio::select! {
            r = tokio::io::copy(&mut from_broker, &mut to_client) => r.map(drop).map_err(GateError::Io),
            r = self.forward(&identity, &mut from_client, &mut to_broker, buf) => r,
        }
        .inspect_err(|e| {
            if let GateError::Denied(what) = e {
                tracing::warn!(%peer, user = ?identity, what, "MQTT client closed: it published or subscribed beyond its rights");
            }
        })
    }

    async fn admit(
        &self,
        connect: &Connect,
        login: Option<Login>,
        will: Option<&rumqttd::protocol::LastWill>,
    ) -> Result<(Identity, String), Refusal> {
        // rumqttd drops a client without keep-alive silently, after the
        // password check; refuse it here, first, and say why.
        if connect.keep_alive == 0 {
            return Err(Refusal::KeepAlive);
        }
        let identity = match login {
            None if self.allow_anonymous => Identity::Anonymous,
            None => return Err(Refusal::Anonymous),
            Some(Login { username, password }) => {
                acl::check_username(&username)?;
                if !self.check_password(username.clone(), password).await? {
                    return Err(Refusal::BadPassword);
                }
                Identity::Agent { username }
            }
        };
        if let Some(w) = will {
            identity.check_will(&String::from_utf8_lossy(&w.topic))?;
        }
        let client_id = identity.client_id(&connect.client_id)?;
        Ok((identity, client_id))
    }

    /// Check a password on the blocking pool (a lookup may touch the disk),
    /// at most [`Limits`]`.checks` at once: a burst of guesses waits for a
    /// free check, briefly, and is then told to come back later.
    async fn check_password(&self, username: String, password: String) -> Result<bool, Refusal> {
        let free = self.limits.checks.clone().acquire_owned();
        let Ok(Ok(permit)) = tokio::time::timeout(self.limits.check_wait, free).await else {
            return Err(Refusal::Busy);
        };
        let guard = self.guard.clone();
        let check = tokio::task::spawn_blocking(move || {
            // Held until the check ends, even if this connection is gone.
            let _permit = permit;
            guard.verify(&username, &password)
        });
        Ok(check.await.unwrap_or(false))
    }

    async fn refuse<S: AsyncWrite + Unpin>(
        &self,
        client: &mut S,
        peer: SocketAddr,
        client_id: &str,
        username: Option<&str>,
        why: Refusal,
    ) -> Result<(), GateError> {
        self.guard.refused(why.label());
        // Both are the client's own words, up to 16 KiB each: log a prefix.
        let (client_id, username) = (prefix(client_id), username.map(prefix));
        tracing::warn!(%peer, client_id, username, reason = %why, "MQTT connection refused");
        let code = match why {
            Refusal::ClientId => ConnectReturnCode::ClientIdentifierNotValid,
            Refusal::Busy => ConnectReturnCode::ServiceUnavailable,
            w if w.is_credentials() => ConnectReturnCode::BadUserNamePassword,
            _ => ConnectReturnCode::NotAuthorized,
        };
        let ack = ConnAck {
            session_present: false,
            code,
        };
        let mut out = BytesMut::new();
        V4.write(Packet::ConnAck(ack, None), &mut out)
            .map_err(GateError::Malformed)?;
        client.write_all(&out).await?;
        client.flush().await?;
        Ok(())
    }

    /// Client to broker: whole packets only, each checked before it passes.
    async fn forward<R, W>(
        &self,
        identity: &Identity,
        from: &mut R,
        to: &mut W,
        mut buf: BytesMut,
    ) -> Result<(), GateError>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        loop {
            // Check every whole packet in place, then pass them on in one
            // write, without copying them.
            let mut checked = 0;
            while let Some(len) = frame_len(&buf[checked..], self.max_packet)? {
                self.check(identity, &buf[checked..checked + len])?;
                checked += len;
            }
            if checked > 0 {
                to.write_all(&buf.split_to(checked)).await?;
            }
            if from.read_buf(&mut buf).await? == 0 {
                return Ok(());
            }
        }
    }

    fn check(&self, identity: &Identity, frame: &[u8]) -> Result<(), GateError> {
        if matches!(identity, Identity::Anonymous) {
            return Ok(());
        }
        let Some(&first) = frame.first() else {
            return Ok(());
        };
        let checked = match first >> 4 {
            3 => {
                let topic = publish_topic(frame, self.max_packet)?;
                // The low bit of a PUBLISH's first byte is its retain flag.
                let retain = first & 1 == 1;
                identity
                    .may_publish(&String::from_utf8_lossy(topic), retain)
                    .map_err(Denied::label)
            }
            8 => match parse(BytesMut::from(frame), self.max_packet)? {
                Packet::Subscribe(s, _) => s
                    .filters
                    .iter()
                    .try_for_each(|f| identity.may_subscribe(&f.path))
                    .map_err(Denied::label),
                _ => Ok(()),
            },
            // A second CONNECT is a protocol violation.
            1 => Err(MALFORMED),
            _ => Ok(()),
        };
        checked.map_err(|what| {
            self.guard.refused(what);
            GateError::Denied(what)
        })
    }
}

/// At most the first 64 bytes of `s`, cut at a character boundary.
fn prefix(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The length of the whole packet at the start of `bytes`, if it holds one.
fn frame_len(bytes: &[u8], max: usize) -> Result<Option<usize>, GateError> {
    match v4::check(bytes.iter(), max) {
        Ok(header) => Ok(Some(header.frame_length())),
        Err(MqttError::InsufficientBytes(_)) => Ok(None),
        Err(e) => Err(GateError::Malformed(e)),
    }
}

/// A PUBLISH's topic, read in place: the payload is not copied.
fn publish_topic(frame: &[u8], max: usize) -> Result<&[u8], GateError> {
    let start = v4::check(frame.iter(), max)
        .map_err(GateError::Malformed)?
        .fixed_header_len;
    let malformed = || GateError::Malformed(MqttError::MalformedPacket);
    let len = frame.get(start..start + 2).ok_or_else(malformed)?;
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    frame.get(start + 2..start + 2 + len).ok_or_else(malformed)
}

fn parse(mut frame: BytesMut, max: usize) -> Result<Packet, GateError> {
    V4.read_mut(&mut frame, max).map_err(GateError::Malformed)
}

async fn read_packet<S: AsyncRead + Unpin>(
    client: &mut S,
    buf: &mut BytesMut,
) -> Result<Packet, GateError> {
    loop {
        if let Some(len) = frame_len(buf, MAX_CONNECT)? {
            return parse(buf.split_to(len), MAX_CONNECT);
        }
        if client.read_buf(buf).await? == 0 {
            return Err(GateError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
    }
}

#[cfg(test)]
mod tests;
