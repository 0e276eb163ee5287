//! Following Nacos: a push listener per data id (content applied at once), a listener on
//! each kind's names index (a new or deleted data id triggers a re-list at once), and a
//! periodic re-list (default every 10 s) that also reconnects, with backoff, after Nacos
//! was unreachable.

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use nacos_sdk::api::config::{ConfigChangeListener, ConfigResponse};
use tokio::sync::mpsc;

use crate::kind::ResourceKind;
use crate::nacos::layout;
use crate::nacos::Inner;

/// First pause before retrying an unreachable Nacos; doubles up to the refresh interval.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What a listener reports.
#[derive(Debug)]
pub enum Event {
    /// A resource config changed.
    Config {
        /// Data id.
        data_id: String,
        /// Group.
        group: String,
        /// New content.
        content: String,
    },
    /// A names index changed.
    Names {
        /// Its kind.
        kind: ResourceKind,
        /// New content.
        content: String,
    },
}

/// The listeners registered with the SDK, to remove them again.
#[derive(Default)]
pub struct Listening {
    /// Resource data id → its listener.
    pub configs: BTreeMap<String, Arc<dyn ConfigChangeListener>>,
    /// Kinds whose names index is listened to.
    pub names: BTreeMap<ResourceKind, Arc<dyn ConfigChangeListener>>,
}

/// Forwards SDK notifications (a synchronous callback) to the store's event task.
struct Forward {
    tx: mpsc::UnboundedSender<Event>,
    names_of: Option<ResourceKind>,
}

impl ConfigChangeListener for Forward {
    fn notify(&self, resp: ConfigResponse) {
        let event = match self.names_of {
            Some(kind) => Event::Names {
                kind,
                content: resp.content().clone(),
            },
            None => Event::Config {
                data_id: resp.data_id().clone(),
                group: resp.group().clone(),
                content: resp.content().clone(),
            },
        };
        let _ = self.tx.send(event);
    }
}

/// A listener for one resource config.
pub fn config_listener(tx: &mpsc::UnboundedSender<Event>) -> Arc<dyn ConfigChangeListener> {
    Arc::new(Forward {
        tx: tx.clone(),
        names_of: None,
    })
}

/// A listener for a kind's names index.
pub fn names_listener(
    tx: &mpsc::UnboundedSender<Event>,
    kind: ResourceKind,
) -> Arc<dyn ConfigChangeListener> {
    Arc::new(Forward {
        tx: tx.clone(),
        names_of: Some(kind),
    })
}

/// Starts the event task and the re-list task; both end when the store is dropped.
pub fn spawn(inner: &Arc<Inner>, mut events: mpsc::UnboundedReceiver<Event>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let Some(inner) = weak.upgrade() else { break };
            match event {
                Event::Config {
                    data_id,
                    group,
                    content,
                } if group == layout::GROUP => inner.on_push(&data_id, &content).await,
                Event::Config { .. } => {}
                Event::Names { kind, content } => {
                    if !inner.wrote_names(kind, &content) {
                        inner.relist_soon.notify_one();
                    }
                }
            }
        }
    });
    let weak = Arc::downgrade(inner);
    tokio::spawn(async move {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let (pause, wake) = {
                let Some(inner) = weak.upgrade() else { break };
                let pause = if inner.state().is_ok() {
                    inner.options.refresh_interval
                } else {
                    backoff
                };
                (pause, inner.relist_soon.clone())
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = wake.notified() => {}
            }
            let Some(inner) = weak.upgrade() else { break };
            if inner.relist().await {
                backoff = FIRST_BACKOFF;
            } else {
                backoff = (backoff * 2).min(inner.options.refresh_interval.max(FIRST_BACKOFF));
            }
        }
    });
}
