//! Ronda's central server: MQTT ingest, SQLite store, HTTP API.
//!
//! [`start`] is the seam tests use: it brings every part up on the configured
//! addresses (port 0 is fine) and returns where they listen. `main` is a thin
//! shell around it.

mod acks;
pub use ronda_broker as broker;
pub mod cluster;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod http;
mod ingest;
pub mod init;
pub mod letters;
pub mod mail;
pub mod metrics;
pub mod onboard;
pub mod snapshots;
pub mod store;
pub mod telegram;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use ronda_common::conf::LazySecret;
use ronda_common::link::{self, BrokerConfig, BrokerUrl};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{BrokerChoice, ServerConfig};
use metrics::Metrics;

/// Room in the ingest → writer channel; when full, ingest waits for the disk.
const STORE_QUEUE: usize = 20_000;
/// The server's MQTT client accepts packets a little over the broker's limit.
const MAX_PACKET: usize = config::BROKER_MAX_PAYLOAD + 4096;
/// Room in the ingest → policy engine channel.
const ENGINE_QUEUE: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Broker(#[from] broker::BrokerError),
    #[error(transparent)]
    Link(#[from] link::LinkError),
    #[error(transparent)]
    Secret(#[from] ronda_common::conf::SecretError),
    #[error("cannot listen for HTTP on {addr}: {error}")]
    Http {
        addr: SocketAddr,
        error: std::io::Error,
    },
    #[error("http.tls: {0}")]
    HttpTls(broker::tls::TlsError),
    #[error("cannot start the store writer: {0}")]
    Writer(std::io::Error),
    #[error("cannot start the leader lock or the relay from the other servers: {0}")]
    Cluster(std::io::Error),
    #[error("cannot create a temporary directory: {0}")]
    TempDir(std::io::Error),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("letters: {0}")]
    Letters(String),
    #[error("demo: {0}")]
    Demo(String),
}

/// A started server.
pub struct Running {
    /// Reads the letters and the registry again ([`Running::reload`]).
    reloader: Arc<letters::Reloader>,
    pub http_addr: SocketAddr,
    /// The plain-HTTP listener that redirects to HTTPS, when there is one.
    pub redirect_addr: Option<SocketAddr>,
    /// Where agents connect.
    pub broker_url: BrokerUrl,
    /// Where agents connect over TLS, when the embedded broker has TLS on.
    pub broker_tls_url: Option<BrokerUrl>,
    pub metrics: Arc<Metrics>,
    store: tokio::sync::mpsc::Sender<store::Write>,
    subscribed: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
    writer: std::thread::JoinHandle<()>,
}

impl Running {
    /// Wait until ingest is subscribed, so a report published now is seen.
    pub async fn ready(&self) {
        let mut rx = self.subscribed.clone();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Read the letters folder and the office registry again, as SIGHUP
    /// does: the new set is in force for the engine, the pages and the
    /// mail when this returns `Loaded`; with `Kept`, the old one still is.
    pub async fn reload(&self) -> letters::Reloaded {
        self.reloader.reload().await
    }

    /// Wait for every part to stop after `shutdown` fired. Reports already
    /// accepted are committed before this returns.
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        drop(self.store);
        let writer = self.writer;
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        tracing::info!("server stopped");
    }
}

/// Run until `shutdown` fires, reading the letters and the registry again
/// at each SIGHUP (`hangups`). A reload never stops the server.
pub async fn run(
    config: ServerConfig,
    shutdown: CancellationToken,
    mut hangups: ronda_common::shell::Hangups,
) -> Result<(), ServerError> {
    let running = start(config, shutdown.clone()).await?;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = hangups.next() => {
                tracing::info!("SIGHUP: reading the letters and the registry again");
                // Stopping does not wait for a reload to finish.
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = running.reload() => {}
                }
            }
        }
    }
    running.wait().await;
    Ok(())
}

pub async fn start(
    config: ServerConfig,
    shutdown: CancellationToken,
) -> Result<Running, ServerError> {
    let metrics = Metrics::new();
    let conn = config.database.open()?;
    let reader = store::Reader::open(&config.database)?;
    let views = engine::Views::default();
    let live = letters::Live::new(letters::PolicySet::new(
        config.letters.clone(),
        config.registry.clone(),
        jiff::Timestamp::now(),
    ));
    let server_id = format!("{:08x}", fastrand::u32(..));
    let (engine_tx, engine_rx) = tokio::sync::mpsc::channel(ENGINE_QUEUE);
    let (acks_tx, acks_rx) = tokio::sync::mpsc::unbounded_channel();
    let writer = store::spawn_writer(conn, metrics.clone(), STORE_QUEUE, Some(acks_tx))
        .map_err(ServerError::Writer)?;
    let cluster = cluster::join(
        &config.database,
        &server_id,
        &engine_tx,
        &writer.tx,
        config.max_payload_bytes,
        &metrics,
        &shutdown,
    )
    .await
    .map_err(ServerError::Cluster)?;
    let engine = engine::Engine::new(
        config.letters.clone(),
        config.registry.clone(),
        store::seed(&config.database)?,
        views.clone(),
    );
    // Bind HTTP before starting a broker, whose threads cannot be stopped.
    let listeners = bind_http(&config).await?;
    let http_addr = listeners.addr;

    let (broker, agents_url, agents_tls_url) = broker_config(&config, &metrics).await?;
    let client_id = format!("ronda-server-{server_id}");
    let options = link::options(&client_id, &broker, None, MAX_PACKET)?;
    let (client, eventloop) = link::connect(options, 64);
    let (subscribed_tx, subscribed) = watch::channel(false);
    let snapshots = Arc::new(snapshots::Snapshots::default());
    let mut worker = engine::worker::Worker::new(
        engine,
        writer.tx.clone(),
        Some(client.clone()),
        config.mail.is_some(),
    )
    .with_live(live.clone());
    let ingest = ingest::Ingest {
        client: client.clone(),
        eventloop,
        handler: ingest::Handler {
            store: writer.tx.clone(),
            engine: engine_tx.clone(),
            metrics: metrics.clone(),
            max_payload: config.max_payload_bytes,
            relay_as: cluster.shared().then(|| server_id.clone()),
            snapshots: snapshots.clone(),
        },
        subscribed: subscribed_tx,
        qos: ingest::subscription_qos(matches!(config.broker, BrokerChoice::Embedded(_))),
        // Servers sharing a database share one external broker's stream;
        // an embedded broker has only its own server to feed.
        share: match config.broker {
            BrokerChoice::External(_) => cluster.share_group.clone(),
            BrokerChoice::Embedded(_) => None,
        },
    };
    let db = store::Db::new(store::Reader::open(&config.database)?, &writer.tx);
    if let Some(pending) = &cluster.pending {
        worker = worker.with_lead(engine::lead::Lead {
            leadership: cluster.leadership.clone(),
            reseed: reseed(&config, &views),
            forward: cluster::ask::Forward {
                origin: server_id.clone(),
                store: writer.tx.clone(),
                pending: pending.clone(),
                db: db.clone(),
            },
        });
    }
    let bot = telegram_bot(&config)?;
    let app_state = http::AppState {
        db: db.clone(),
        limiter: Default::default(),
        trusted_proxies: config.trusted_proxies.clone(),
        policy: live.clone(),
        reader,
        metrics: metrics.clone(),
        subscribed: subscribed.clone(),
        views,
        engine: engine_tx.clone(),
        // Read at start-up (`run` has read it already, failing fast).
        admin_token: config
            .admin_token
            .as_ref()
            .map(LazySecret::resolve)
            .transpose()?,
        mail_capture: config.mail.as_ref().and_then(|m| match &m.transport {
            mail::config::TransportConfig::Capture(dir) => Some(dir.clone()),
            mail::config::TransportConfig::Smtp(_) => None,
        }),
        telegram: bot.clone(),
        snapshots,
    };
    let app = http::app(app_state.clone());
    tracing::info!(
        http = %http_addr,
        https = listeners.encryption.is_tls(),
        redirect = ?listeners.redirect.as_ref().map(|r| r.1),
        broker = %broker.url,
        database = %config.database,
        "server started"
    );

    let mailer = match &config.mail {
        Some(m) => Some(
            mail::Mailer::new(
                db.clone(),
                mail::Context {
                    letters: config.letters.clone(),
                    registry: config.registry.clone(),
                    retired: Arc::default(),
                    config: m.clone(),
                },
            )?
            .follow(live.clone()),
        ),
        None => None,
    };
    let mut tasks = vec![
        tokio::spawn(worker.run(engine_rx, shutdown.clone())),
        tokio::spawn(acks::run(client.clone(), acks_rx, shutdown.clone())),
        tokio::spawn(ingest.run(shutdown.clone())),
        tokio::spawn(http::serve::serve(
            listeners.listener,
            app,
            listeners.encryption,
            config.http_limits,
            config.trusted_proxies.clone(),
            shutdown.clone(),
        )),
        tokio::spawn(store::prune::run_while_leading(
            db.clone(),
            config.retention,
            metrics.clone(),
            cluster.leadership.clone(),
            shutdown.clone(),
        )),
    ];
    let reloader = Arc::new(letters::Reloader {
        policies_dir: config.policies_dir.clone(),
        offices_file: config.offices_file.clone(),
        engine: engine_tx,
        live,
        metrics: metrics.clone(),
        busy: tokio::sync::Mutex::new(()),
    });
    let redirect_addr = listeners.redirect.as_ref().map(|r| r.1);
    if let Some((listener, _)) = listeners.redirect {
        tasks.push(tokio::spawn(http::serve::serve(
            listener,
            http::https::redirect_app(http_addr.port()),
            http::serve::Encryption::Plain,
            config.http_limits,
            config.trusted_proxies.clone(),
            shutdown.clone(),
        )));
    }
    if let Some(m) = mailer {
        tasks.push(tokio::spawn(
            m.run(cluster.leadership.clone(), shutdown.clone()),
        ));
    }
    let polls = config
        .mail
        .as_ref()
        .and_then(|m| m.telegram.as_ref())
        .is_some_and(|t| matches!(t.updates, telegram::config::Updates::Poll));
    if let Some(bot) = bot.filter(|_| polls) {
        tasks.push(tokio::spawn(telegram::poll::run(
            app_state,
            bot,
            cluster.leadership.clone(),
            shutdown,
        )));
    }
    Ok(Running {
        reloader,
        http_addr,
        redirect_addr,
        broker_url: agents_url,
        broker_tls_url: agents_tls_url,
        metrics,
        store: writer.tx,
        subscribed,
        tasks,
        writer: writer.thread,
    })
}

/// The Telegram bot that reads presses and replies, when server.yaml sets
/// one up with `updates` other than `off`.
fn telegram_bot(config: &ServerConfig) -> Result<Option<Arc<telegram::Bot>>, ServerError> {
    let Some(mail) = &config.mail else {
        return Ok(None);
    };
    match &mail.telegram {
        Some(t) if !matches!(t.updates, telegram::config::Updates::Off) => {
            let bot = telegram::Bot::new(t, mail.language)
                .map_err(|e| ServerError::Mail(mail::MailError::Channel(e.to_string())))?;
            Ok(Some(Arc::new(bot)))
        }
        _ => Ok(None),
    }
}

/// How a server that takes the lead builds its engine afresh: the set in
/// force, and the alerts and agents as the database holds them now.
fn reseed(config: &ServerConfig, views: &engine::Views) -> Arc<engine::lead::Reseed> {
    let (location, views) = (config.database.clone(), views.clone());
    Arc::new(Box::new(move |set: &letters::PolicySet| {
        Ok(engine::Engine::new(
            set.letters.clone(),
            set.registry.clone(),
            store::seed(&location)?,
            views.clone(),
        ))
    }))
}

/// The web listeners, bound, with the certificate read.
struct Web {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    encryption: http::serve::Encryption,
    /// The plain-HTTP listener that redirects to HTTPS, and its address.
    redirect: Option<(tokio::net::TcpListener, SocketAddr)>,
}

/// Read the certificate (`http.tls`) and bind `http.listen` and
/// `http.redirect_listen`.
async fn bind_http(config: &ServerConfig) -> Result<Web, ServerError> {
    let encryption = match &config.http_tls {
        Some(t) => http::serve::Encryption::Tls(
            t.acceptor(config.http_listen)
                .map_err(ServerError::HttpTls)?,
        ),
        None => http::serve::Encryption::Plain,
    };
    let (listener, addr) = bind(config.http_listen).await?;
    let redirect = match config.http_redirect_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    Ok(Web {
        listener,
        addr,
        encryption,
        redirect,
    })
}

async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServerError> {
    let error = |error| ServerError::Http { addr, error };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(error)?;
    let bound = listener.local_addr().map_err(error)?;
    Ok((listener, bound))
}

/// Start the embedded broker if asked. Returns how the server reaches the
/// broker, and where agents connect (plain and TLS).
async fn broker_config(
    config: &ServerConfig,
    metrics: &Arc<Metrics>,
) -> Result<(BrokerConfig, BrokerUrl, Option<BrokerUrl>), ServerError> {
    let e = match &config.broker {
        BrokerChoice::External(b) => {
            // Allowed only with `allow_plaintext: true`; said at every start.
            b.warn_if_in_clear("broker.external");
            return Ok((b.clone(), b.url.clone(), None));
        }
        BrokerChoice::Embedded(e) => e,
    };
    let guard = store::users::mqtt::ServerGuard {
        conn: std::sync::Mutex::new(config.database.open()?),
        metrics: metrics.clone(),
    };
    let gated = broker::start(e, Arc::new(guard)).await?;
    // The server skips the gate: it may use every office's topics.
    let own = BrokerConfig {
        username: Some(broker::INTERNAL_USER.to_owned()),
        password: Some(ronda_common::conf::Secret::new(gated.internal_password).into()),
        ..broker_config_for(&loopback_url(gated.internal_addr))
    };
    let tls = gated.tls_addr.map(|a| BrokerUrl {
        tls: true,
        ..loopback_url(a)
    });
    Ok((own, loopback_url(gated.addr), tls))
}

fn loopback_url(addr: SocketAddr) -> BrokerUrl {
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    BrokerUrl {
        host,
        port: addr.port(),
        tls: false,
    }
}

/// Connection settings for a broker that needs no credentials, such as the
/// embedded one.
pub fn broker_config_for(url: &BrokerUrl) -> BrokerConfig {
    BrokerConfig {
        url: url.clone(),
        username: None,
        password: None,
        ca_file: None,
        keepalive: link::DEFAULT_KEEPALIVE,
    }
}
