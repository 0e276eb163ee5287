//! The Nacos store: the layout Higress standalone keeps in Nacos (`--storage nacos`), read
//! and written through the `nacos-sdk` gRPC client, listed over HTTP.
//!
//! Pipeline: [`lister`] (HTTP listing; names indexes on Nacos ≥ 3.2) and [`watch`] (SDK
//! pushes, names-index pushes, periodic re-list) feed the [`mirror::Mirror`] → each config
//! decrypted ([`crypto`]) and parsed once → [`crate::snapshot::assemble`] (last-good
//! merge) → publish on a `watch` channel → saved as the [`LocalSnapshot`] under the data
//! dir, which a start without Nacos serves.
//!
//! Writes: [`check_put`] → read the current version → precondition → publish with
//! compare-and-swap on it → apply locally and publish the snapshot → update the kind's names
//! index (CAS, retried) so other instances re-list at once.

pub mod client;
pub mod crypto;
pub mod layout;
pub mod lister;
pub mod mirror;
pub mod names;
pub mod options;
pub mod watch;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::{mpsc, watch as channel, Notify};

use crate::dir::scan::log_diagnostic;
use crate::kind::ResourceKind;
use crate::local_snapshot::LocalSnapshot;
use crate::snapshot::{assemble, Snapshot};
use crate::store::{
    check_name, check_precondition, check_put, version_of, ConfigStore, Precondition, StoreError,
    StoreState, StoredDocument,
};
use client::{ClientError, NacosClient};
use crypto::Cipher;
use layout::{DataId, GROUP, NAMES_GROUP};
use lister::{ListError, Lister};
use mirror::Mirror;
use names::NamesIndex;
pub use options::{Credentials, NacosOptions};

/// How many times a write retries a compare-and-swap lost to another writer (`Any`
/// writes and names-index updates).
const CAS_ATTEMPTS: usize = 5;
/// Listener registrations run concurrently, this many at a time.
const LISTEN_BATCH: usize = 32;

/// A config store over one Nacos namespace, in Higress standalone's layout.
#[derive(Clone)]
pub struct NacosStore {
    inner: Arc<Inner>,
}

/// The shared state of a [`NacosStore`] and its background tasks.
pub struct Inner {
    options: NacosOptions,
    describe: String,
    cipher: Option<Cipher>,
    lister: Lister,
    /// The HTTP listing is gone (Nacos ≥ 3.2): list through the names indexes.
    names_mode: AtomicBool,
    /// A listing has been applied since start.
    listed: AtomicBool,
    client: tokio::sync::Mutex<Option<Arc<NacosClient>>>,
    mirror: tokio::sync::Mutex<Mirror>,
    tx: channel::Sender<Arc<Snapshot>>,
    state: Mutex<StoreState>,
    /// Serialises this process's writes, so a precondition and its write are one step.
    write_lock: tokio::sync::Mutex<()>,
    relist_lock: tokio::sync::Mutex<()>,
    relist_soon: Arc<Notify>,
    events: mpsc::UnboundedSender<watch::Event>,
    listening: tokio::sync::Mutex<watch::Listening>,
    /// The names-index content this process last wrote, per kind (its own push is no news).
    own_names: Mutex<BTreeMap<ResourceKind, String>>,
}

// === impl NacosStore ===

impl NacosStore {
    /// Reads the namespace once, without watching (`gantry validate`, `gantry routes`).
    pub async fn load(options: &NacosOptions) -> Result<Snapshot, StoreError> {
        let cipher = options.cipher().map_err(|e| backend("--data-enc-key", e))?;
        let lister = Lister::new(options).map_err(|e| backend(&options.describe(), e))?;
        let names_mode = AtomicBool::new(false);
        let listing = match lister.list(GROUP).await {
            Err(ListError::Gone(_)) => {
                names_mode.store(true, Ordering::Relaxed);
                let client = NacosClient::connect(options)
                    .await
                    .map_err(|e| backend(&options.describe(), e))?;
                list_resources(&lister, Some(&client), &names_mode).await
            }
            other => other
                .map(|l| l.into_iter().map(|c| (c.data_id, c.content)).collect())
                .map_err(|e| e.to_string()),
        }
        .map_err(|e| backend("cannot list the namespace", e))?;
        let mut mirror = Mirror::default();
        mirror.apply_listing(listing, 0, cipher.as_ref());
        Ok(assemble(&Snapshot::default(), mirror.outcomes()))
    }

    /// Opens the store: lists the namespace, connects the SDK client and its listeners, and
    /// follows changes. When Nacos cannot be reached it serves the local snapshot saved
    /// under `options.data_dir` (if any) and keeps retrying with backoff. Fails only on bad
    /// options. Must be called inside a Tokio runtime.
    pub async fn open(options: NacosOptions) -> Result<Self, StoreError> {
        let cipher = options.cipher().map_err(|e| backend("--data-enc-key", e))?;
        let describe = options.describe();
        let lister = Lister::new(&options).map_err(|e| backend(&describe, e))?;
        let local = options
            .data_dir
            .as_deref()
            .map(|dir| LocalSnapshot::new(dir, &describe));
        let saved = local.as_ref().and_then(|l| match l.load() {
            Ok(saved) => saved,
            Err(e) => {
                tracing::warn!("ignoring the saved snapshot: {e}");
                None
            }
        });
        let baseline = saved
            .as_ref()
            .map(|s| s.snapshot.clone())
            .unwrap_or_default();
        let (tx, _) = channel::channel(Arc::new(baseline));
        let (events, events_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            options,
            describe,
            cipher,
            lister,
            names_mode: AtomicBool::new(false),
            listed: AtomicBool::new(false),
            client: tokio::sync::Mutex::new(None),
            mirror: tokio::sync::Mutex::new(Mirror::default()),
            tx,
            state: Mutex::new(StoreState::Ok),
            write_lock: tokio::sync::Mutex::new(()),
            relist_lock: tokio::sync::Mutex::new(()),
            relist_soon: Arc::new(Notify::new()),
            events,
            listening: tokio::sync::Mutex::new(watch::Listening::default()),
            own_names: Mutex::new(BTreeMap::new()),
        });
        // The first snapshot comes from the listing alone; the SDK client and its listeners
        // (a round trip per config) follow at once in the background.
        inner.relist_with(false).await;
        inner.relist_soon.notify_one();
        if inner.listed.load(Ordering::Relaxed) {
            tracing::info!(
                store = %inner.describe,
                resources = inner.tx.borrow().objects().count(),
                refresh_interval = ?inner.options.refresh_interval,
                "following the Nacos namespace"
            );
        } else {
            match &saved {
                Some(s) => tracing::error!(
                    store = %inner.describe,
                    file = %s.path.display(),
                    saved_secs_ago = s.saved_at.elapsed().map_or(0, |d| d.as_secs()),
                    resources = s.snapshot.objects().count(),
                    "Nacos cannot be reached at start: SERVING THE LOCAL SNAPSHOT until it answers"
                ),
                None => tracing::error!(
                    store = %inner.describe,
                    "Nacos cannot be reached at start and no local snapshot was saved: serving NO configuration until it answers"
                ),
            }
        }
        watch::spawn(&inner, events_rx);
        if let Some(local) = local {
            local.spawn_saver(inner.tx.subscribe());
        }
        Ok(Self { inner })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &NacosOptions {
        &self.inner.options
    }

    /// The SDK client, connecting now if it is not yet.
    async fn client_for(&self, what: &str) -> Result<Arc<NacosClient>, StoreError> {
        self.inner
            .ensure_client()
            .await
            .map_err(|e| StoreError::Backend {
                what: what.to_string(),
                message: format!(
                    "cannot connect to Nacos {} (gRPC on its port + 1000): {e}",
                    self.inner.options.server
                ),
            })
    }

    /// Updates a kind's names index with `change` (false: nothing to do), retrying lost
    /// compare-and-swaps. Failures are logged: the next re-list heals the index.
    async fn update_names(
        &self,
        client: &NacosClient,
        kind: ResourceKind,
        change: impl Fn(&mut NamesIndex) -> bool,
    ) {
        let names_id = layout::names_data_id(kind);
        let mut last = String::new();
        for _ in 0..CAS_ATTEMPTS {
            let current = match client.get(&names_id, NAMES_GROUP).await {
                Ok(c) => c,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let mut index = NamesIndex::parse(kind, current.as_deref());
            if !change(&mut index) {
                return;
            }
            let next = index.render();
            let cas = current.as_deref().map(|c| version_of(c.as_bytes()));
            match client
                .publish(&names_id, NAMES_GROUP, &next, cas.as_deref())
                .await
            {
                Ok(()) => {
                    self.inner.remember_names(kind, next);
                    return;
                }
                Err(e) => last = e.to_string(),
            }
        }
        tracing::warn!(
            data_id = names_id,
            "cannot update the names index ({last}); the next re-list repairs it"
        );
    }
}

// === impl Inner ===

impl Inner {
    /// Lists the namespace and applies it; connects the client and syncs listeners. True
    /// when Nacos answered completely.
    pub(crate) async fn relist(self: &Arc<Self>) -> bool {
        self.relist_with(true).await
    }

    /// [`Inner::relist`]; without `connect`, only lists (and connects only when the listing
    /// needs the client).
    async fn relist_with(self: &Arc<Self>, connect: bool) -> bool {
        let _relist = self.relist_lock.lock().await;
        let names_mode = self.names_mode.load(Ordering::Relaxed);
        let mut client = if names_mode {
            Some(self.ensure_client().await)
        } else {
            None
        };
        let since = self.mirror.lock().await.generation();
        let listing = list_resources(
            &self.lister,
            client
                .as_ref()
                .and_then(|c| c.as_ref().ok())
                .map(Arc::as_ref),
            &self.names_mode,
        )
        .await;
        let listing = match listing {
            Ok(l) => l,
            Err(e) => {
                self.set_state(StoreState::Unreachable {
                    message: format!("Nacos {} cannot be reached: {e}", self.options.server),
                });
                return false;
            }
        };
        if client.is_none() && connect {
            client = Some(self.ensure_client().await);
        }
        let ids: Vec<String> = listing.iter().map(|(id, _)| id.clone()).collect();
        {
            let mut mirror = self.mirror.lock().await;
            let changes = mirror.apply_listing(listing, since, self.cipher.as_ref());
            if changes.changed {
                self.publish(&mirror, "re-list");
            }
        }
        self.listed.store(true, Ordering::Relaxed);
        let Some(client) = client else {
            self.set_state(StoreState::Ok);
            return true;
        };
        match &client {
            Ok(c) => {
                self.set_state(StoreState::Ok);
                if !self.names_mode.load(Ordering::Relaxed) {
                    self.heal_all_names(c, since, &ids).await;
                }
                self.sync_listeners(c).await;
            }
            Err(e) => self.set_state(StoreState::Unreachable {
                message: format!(
                    "Nacos {}: the gRPC port (HTTP port + 1000) cannot be reached: {e}; changes apply only on the periodic re-list and writes fail",
                    self.options.server
                ),
            }),
        }
        client.is_ok()
    }

    async fn ensure_client(&self) -> Result<Arc<NacosClient>, String> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        match NacosClient::connect(&self.options).await {
            Ok(c) => {
                let c = Arc::new(c);
                *slot = Some(c.clone());
                Ok(c)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// Registers a listener for every known data id (and drops those of deleted ones), and
    /// one for every kind's names index, existing or not: the first resource of a kind
    /// (written by another gateway's console, say) creates its index, and that push is how
    /// this process finds it within a second instead of at the next re-list.
    async fn sync_listeners(&self, client: &Arc<NacosClient>) {
        let ids: Vec<String> = self
            .mirror
            .lock()
            .await
            .data_ids()
            .map(str::to_string)
            .collect();
        let mut listening = self.listening.lock().await;
        let stale: Vec<String> = listening
            .configs
            .keys()
            .filter(|id| ids.binary_search(id).is_err())
            .cloned()
            .collect();
        for id in stale {
            if let Some(l) = listening.configs.remove(&id) {
                let _ = client.unlisten(&id, GROUP, l).await;
            }
        }
        let new: Vec<String> = ids
            .into_iter()
            .filter(|id| !listening.configs.contains_key(id))
            .collect();
        let mut registered = false;
        // Each registration is a round trip (the SDK reads the config first): run a batch
        // at a time, so 1,000 configs take a few round trips, not 1,000.
        for batch in new.chunks(LISTEN_BATCH) {
            let mut calls = tokio::task::JoinSet::new();
            for id in batch {
                let (client, id) = (client.clone(), id.clone());
                let listener = watch::config_listener(&self.events);
                calls.spawn(async move {
                    let result = client.listen(&id, GROUP, listener.clone()).await;
                    (id, listener, result)
                });
            }
            let mut failed = false;
            while let Some(done) = calls.join_next().await {
                match done {
                    Ok((id, listener, Ok(()))) => {
                        listening.configs.insert(id, listener);
                        registered = true;
                    }
                    Ok((id, _, Err(e))) => {
                        tracing::debug!(data_id = id, "cannot listen yet: {e}");
                        failed = true;
                    }
                    Err(e) => {
                        tracing::debug!("listener registration failed: {e}");
                        failed = true;
                    }
                }
            }
            if failed {
                break;
            }
        }
        if registered {
            // A change between the listing and the registration was not pushed: list again.
            self.relist_soon.notify_one();
        }
        for kind in ResourceKind::ALL {
            if listening.names.contains_key(&kind) {
                continue;
            }
            let names_id = layout::names_data_id(kind);
            let listener = watch::names_listener(&self.events, kind);
            if client
                .listen(&names_id, NAMES_GROUP, listener.clone())
                .await
                .is_ok()
            {
                listening.names.insert(kind, listener);
            }
        }
    }

    /// Listens to a config this process created, and to its kind's names index (which
    /// exists now).
    async fn listen_to(&self, client: &NacosClient, kind: ResourceKind, data_id: Option<&str>) {
        let mut listening = self.listening.lock().await;
        if let Some(id) = data_id.filter(|id| !listening.configs.contains_key(*id)) {
            let listener = watch::config_listener(&self.events);
            if client.listen(id, GROUP, listener.clone()).await.is_ok() {
                listening.configs.insert(id.to_string(), listener);
            }
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = listening.names.entry(kind) {
            let listener = watch::names_listener(&self.events, kind);
            let names_id = layout::names_data_id(kind);
            if client
                .listen(&names_id, NAMES_GROUP, listener.clone())
                .await
                .is_ok()
            {
                slot.insert(listener);
            }
        }
    }

    /// Reads every names index and rewrites those whose entries differ from a listing begun
    /// at generation `since`, unless this process changed something since (its own writes
    /// hold the write lock, taken here too).
    async fn heal_all_names(&self, client: &NacosClient, since: u64, listed: &[String]) {
        let _write = self.write_lock.lock().await;
        if self.mirror.lock().await.generation() != since {
            return;
        }
        for kind in ResourceKind::ALL {
            // Nacos failing mid-way: stop, so the next re-list reports it without waiting out
            // one timeout per kind.
            let Ok(current) = client.get(&layout::names_data_id(kind), NAMES_GROUP).await else {
                break;
            };
            self.heal_names(client, kind, current.as_deref(), listed)
                .await;
        }
    }

    /// Rewrites a names index whose entries differ from the listing (a config created
    /// without it, e.g. in the Nacos console), so every reader sees the same set. True when
    /// it wrote.
    async fn heal_names(
        &self,
        client: &NacosClient,
        kind: ResourceKind,
        current: Option<&str>,
        listed: &[String],
    ) -> bool {
        let mut of_kind: Vec<String> = listed
            .iter()
            .filter(|id| matches!(layout::parse(id), DataId::Resource(k, _) if k == kind))
            .cloned()
            .collect();
        let have = NamesIndex::parse(kind, current);
        // An entry the listing lacks stays while its config exists: the listing may predate
        // a write by another gateway, which must not be erased from the index.
        let unlisted: Vec<String> = have
            .data_ids()
            .filter(|id| !of_kind.iter().any(|l| l == id))
            .map(str::to_string)
            .collect();
        let mut reachable = true;
        for id in unlisted {
            if !reachable {
                of_kind.push(id);
                continue;
            }
            match client.get(&id, GROUP).await {
                Ok(None) => {}
                Ok(Some(_)) => of_kind.push(id),
                Err(_) => {
                    reachable = false;
                    of_kind.push(id);
                }
            }
        }
        let want = NamesIndex::of(kind, of_kind);
        if have.same_entries(&want) || (current.is_none() && want.data_ids().next().is_none()) {
            return false;
        }
        let names_id = layout::names_data_id(kind);
        let next = want.render();
        let cas = current.map(|c| version_of(c.as_bytes()));
        match client
            .publish(&names_id, NAMES_GROUP, &next, cas.as_deref())
            .await
        {
            Ok(()) => {
                tracing::info!(
                    data_id = names_id,
                    "names index rewritten to match the listing"
                );
                self.remember_names(kind, next);
                true
            }
            Err(e) => {
                tracing::debug!(data_id = names_id, "names index not rewritten: {e}");
                false
            }
        }
    }

    /// Applies pushed content of a known config.
    pub(crate) async fn on_push(&self, data_id: &str, content: &str) {
        let mut mirror = self.mirror.lock().await;
        if mirror.push(data_id, content, self.cipher.as_ref()) {
            self.publish(&mirror, data_id);
        }
    }

    /// Whether `content` is what this process last wrote to `kind`'s names index.
    pub(crate) fn wrote_names(&self, kind: ResourceKind, content: &str) -> bool {
        lock(&self.own_names).get(&kind).map(String::as_str) == Some(content)
    }

    fn remember_names(&self, kind: ResourceKind, content: String) {
        lock(&self.own_names).insert(kind, content);
    }

    /// Assembles the mirror onto the current snapshot and publishes it.
    fn publish(&self, mirror: &Mirror, cause: &str) {
        let prev = self.tx.borrow().clone();
        let next = assemble(&prev, mirror.outcomes());
        for d in next.new_diagnostics_since(&prev) {
            log_diagnostic(d);
        }
        tracing::info!(
            revision = next.revision(),
            errors = next.errors().count(),
            cause,
            "configuration reloaded"
        );
        self.tx.send_replace(Arc::new(next));
    }

    pub(crate) fn state(&self) -> StoreState {
        lock(&self.state).clone()
    }

    /// Records the store state; logs each change once.
    fn set_state(&self, next: StoreState) {
        let mut state = lock(&self.state);
        if *state == next {
            return;
        }
        match &next {
            StoreState::Ok => {
                tracing::info!(store = %self.describe, "Nacos reachable again; the configuration is current")
            }
            StoreState::Unreachable { message } => tracing::error!(
                store = %self.describe,
                "{message}; the last good configuration stays in force"
            ),
        }
        *state = next;
    }
}

#[async_trait]
impl ConfigStore for NacosStore {
    fn describe(&self) -> String {
        self.inner.describe.clone()
    }

    fn subscribe(&self) -> channel::Receiver<Arc<Snapshot>> {
        self.inner.tx.subscribe()
    }

    fn state(&self) -> StoreState {
        self.inner.state()
    }

    async fn reload(&self) {
        self.inner.relist().await;
    }

    async fn get(&self, kind: ResourceKind, name: &str) -> Result<StoredDocument, StoreError> {
        check_name(name)?;
        let data_id = layout::data_id(kind, name);
        let client = self.client_for(&format!("read {data_id}")).await?;
        let raw = client
            .get(&data_id, GROUP)
            .await
            .map_err(|e| backend(&format!("read {data_id}"), e))?
            .ok_or_else(|| StoreError::NotFound {
                kind,
                name: name.to_string(),
            })?;
        self.inner.document(kind, name, data_id, &raw)
    }

    async fn list(&self, kind: ResourceKind) -> Result<Vec<StoredDocument>, StoreError> {
        let inner = &self.inner;
        let client = inner.client.lock().await.clone();
        let listing = list_resources(&inner.lister, client.as_deref(), &inner.names_mode)
            .await
            .map_err(|e| backend(&format!("list {}", kind.plural()), e))?;
        let mut out = Vec::new();
        for (data_id, raw) in listing {
            if let DataId::Resource(k, name) = layout::parse(&data_id) {
                if k == kind {
                    out.push(inner.document(kind, &name, data_id, &raw)?);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn put(
        &self,
        kind: ResourceKind,
        name: &str,
        yaml: &str,
        precondition: Precondition,
    ) -> Result<String, StoreError> {
        let data_id = layout::data_id(kind, name);
        check_put(kind, name, yaml, &data_id)?;
        let what = format!("publish {data_id}");
        let client = self.client_for(&what).await?;
        let _write = self.inner.write_lock.lock().await;
        let content = match (&self.inner.cipher, kind) {
            (Some(c), ResourceKind::Secret) => c.encrypt(yaml),
            _ => yaml.to_string(),
        };
        let version = version_of(content.as_bytes());
        let current_of = |raw: Option<String>| raw.map(|c| version_of(c.as_bytes()));
        let mut attempt = 0;
        let created = loop {
            attempt += 1;
            let current = current_of(
                client
                    .get(&data_id, GROUP)
                    .await
                    .map_err(|e| backend(&what, e))?,
            );
            check_precondition(kind, name, current.as_deref(), &precondition)?;
            if current.as_deref() == Some(version.as_str()) {
                break false;
            }
            // rnacos ignores the CAS md5; Nacos enforces it. The check above covers both
            // up to this call.
            match client
                .publish(&data_id, GROUP, &content, current.as_deref())
                .await
            {
                Ok(()) => break current.is_none(),
                Err(e) => {
                    let now = client.get(&data_id, GROUP).await.ok().flatten();
                    let now = current_of(now);
                    if now == current {
                        return Err(backend(&what, e));
                    }
                    if precondition != Precondition::Any || attempt >= CAS_ATTEMPTS {
                        return Err(StoreError::Conflict {
                            kind,
                            name: name.to_string(),
                            current: now,
                        });
                    }
                }
            }
        };
        {
            let mut mirror = self.inner.mirror.lock().await;
            if mirror.set(&data_id, &content, self.inner.cipher.as_ref()) {
                self.inner.publish(&mirror, &data_id);
            }
        }
        self.update_names(&client, kind, |index| index.insert(&data_id))
            .await;
        if created {
            self.inner.listen_to(&client, kind, Some(&data_id)).await;
        }
        Ok(version)
    }

    async fn delete(
        &self,
        kind: ResourceKind,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        let data_id = layout::data_id(kind, name);
        let what = format!("remove {data_id}");
        let client = self.client_for(&what).await?;
        let _write = self.inner.write_lock.lock().await;
        let current = client
            .get(&data_id, GROUP)
            .await
            .map_err(|e| backend(&what, e))?
            .map(|c| version_of(c.as_bytes()))
            .ok_or_else(|| StoreError::NotFound {
                kind,
                name: name.to_string(),
            })?;
        check_precondition(kind, name, Some(&current), &precondition)?;
        client
            .remove(&data_id, GROUP)
            .await
            .map_err(|e| backend(&what, e))?;
        {
            let mut mirror = self.inner.mirror.lock().await;
            if mirror.remove(&data_id) {
                self.inner.publish(&mirror, &data_id);
            }
        }
        self.update_names(&client, kind, |index| index.remove(&data_id))
            .await;
        let listener = self.inner.listening.lock().await.configs.remove(&data_id);
        if let Some(l) = listener {
            let _ = client.unlisten(&data_id, GROUP, l).await;
        }
        Ok(())
    }
}

impl Inner {
    /// A stored config as a document: decrypted, versioned by its stored bytes.
    fn document(
        &self,
        kind: ResourceKind,
        name: &str,
        data_id: String,
        raw: &str,
    ) -> Result<StoredDocument, StoreError> {
        let yaml = crypto::open(raw, self.cipher.as_ref())
            .map_err(|e| backend(&format!("read {data_id}"), e))?;
        Ok(StoredDocument {
            kind,
            name: name.to_string(),
            yaml,
            version: version_of(raw.as_bytes()),
            source: data_id,
        })
    }
}

/// Every config of the resource group as `(data id, content)`: the HTTP listing, or the
/// names indexes once the listing is gone (which needs the SDK client).
async fn list_resources(
    lister: &Lister,
    client: Option<&NacosClient>,
    names_mode: &AtomicBool,
) -> Result<Vec<(String, String)>, String> {
    if !names_mode.load(Ordering::Relaxed) {
        match lister.list(GROUP).await {
            Ok(listing) => {
                return Ok(listing
                    .into_iter()
                    .map(|c| (c.data_id, c.content))
                    .collect())
            }
            Err(ListError::Gone(status)) => {
                names_mode.store(true, Ordering::Relaxed);
                tracing::warn!(
                    status,
                    "this Nacos has no v1 config listing (Nacos 3.2 or later): listing through the names indexes; configs created without updating `<plural>.__names__` are not found"
                );
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let Some(client) = client else {
        return Err(
            "listing through the names indexes needs the gRPC client, not connected yet".into(),
        );
    };
    list_by_names(client).await.map_err(|e| e.to_string())
}

/// Lists through every kind's names index, reading each config it names.
async fn list_by_names(client: &NacosClient) -> Result<Vec<(String, String)>, ClientError> {
    let mut out = Vec::new();
    for kind in ResourceKind::ALL {
        let content = client
            .get(&layout::names_data_id(kind), NAMES_GROUP)
            .await?;
        let index = NamesIndex::parse(kind, content.as_deref());
        for data_id in index.data_ids() {
            if let Some(content) = client.get(data_id, GROUP).await? {
                out.push((data_id.to_string(), content));
            }
        }
    }
    Ok(out)
}

fn backend(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        what: what.to_string(),
        message: e.to_string(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}
