//! Tells agents what the store has committed: "committed up to seq N" on
//! `ronda/v1/{office}/{agent}/ack`, QoS 1, only after the batch is on disk.

use ronda_wire::{Ack, Id, Kind, Topic};
use rumqttc::{AsyncClient, QoS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store::AckOut;

pub async fn run(
    client: AsyncClient,
    mut committed: mpsc::UnboundedReceiver<Vec<AckOut>>,
    shutdown: CancellationToken,
) {
    loop {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => break,
            batch = committed.recv() => match batch {
                Some(b) => b,
                None => break,
            },
        };
        for ack in batch {
            // The ids came through a topic that parsed, so they are valid.
            let (Ok(office), Ok(agent)) = (Id::new(ack.office), Id::new(ack.agent)) else {
                continue;
            };
            let topic = Topic::new(office, agent, Kind::Ack).to_string();
            let payload = Ack {
                through: ack.through,
            }
            .encode();
            // A lost acknowledgement costs only a resend: the agent sends
            // again when none comes, and the store keeps one copy.
            if let Err(e) = client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
            {
                tracing::warn!(error = %e, "acknowledgement not sent");
            }
        }
    }
}
