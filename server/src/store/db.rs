//! The one way into the database for the web side and the mailer. Reads run
//! on a read-only connection of this gateway's own; writes (accounts,
//! sessions, signatures, the audit log, the mail outbox) are calls the
//! store's one writer thread runs between its batches, so every write in the
//! server goes through that one connection, one at a time.

use std::fmt;
use std::time::Duration;

use crate::store::sql::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{Reader, StoreError, Write};

/// Longest wait for a write: as long as a web request may take. A writer
/// that retries a failing disk answers nobody meanwhile; the call still runs
/// once the disk is back.
const WRITE_WAIT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Db {
    reader: Reader,
    /// Weak: the writer thread ends when ingest and the engine let go, even
    /// while a browser still holds a connection (and so this) open.
    writer: mpsc::WeakSender<Write>,
}

/// A write for the writer thread to run on its connection, in its own
/// transaction or statements, after the batch it arrived with commits.
pub struct Call(Box<dyn FnOnce(&Connection) + Send>);

impl Call {
    pub(super) fn run(self, conn: &Connection) {
        (self.0)(conn);
    }
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Call")
    }
}

impl Db {
    pub fn new(reader: Reader, writer: &mpsc::Sender<Write>) -> Db {
        Db {
            reader,
            writer: writer.downgrade(),
        }
    }

    /// Run `f` on this gateway's read connection (its own, so that session
    /// lookups do not queue behind heavy pages), on a blocking thread.
    pub async fn read<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        self.reader.call(f).await
    }

    /// Run `f` on the writer thread and wait for its result.
    pub async fn write<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<Result<T, E>, StoreError>
    where
        T: Send + 'static,
        E: Send + 'static,
    {
        let gone = || StoreError::Join("the store writer has stopped".into());
        let (reply, answer) = oneshot::channel();
        let call = Call(Box::new(move |conn| {
            let _ = reply.send(f(conn));
        }));
        let writer = self.writer.upgrade().ok_or_else(gone)?;
        writer.send(Write::Call(call)).await.map_err(|_| gone())?;
        match tokio::time::timeout(WRITE_WAIT, answer).await {
            Ok(result) => result.map_err(|_| gone()),
            Err(_) => Err(StoreError::Busy(WRITE_WAIT)),
        }
    }
}
