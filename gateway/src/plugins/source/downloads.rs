//! Remote modules (`http(s)://`, `oci://`), downloaded before a snapshot compiles so the
//! compile itself never waits on the network. Kept in memory by url and, for a serving
//! gateway, on disk in its data dir (`<data dir>/wasm`, like Higress's
//! `/var/lib/istio/data`), so a restart with `IfNotPresent` needs no registry. Pull policy as
//! Higress's: `IfNotPresent` downloads once; `Always` downloads again whenever the
//! WasmPlugin changes. A failed download is tried again on the next snapshot and at the
//! latest after [`RETRY`]; until then its plugin reports the error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use config_store::resource::wasmplugin::{ModuleUrl, PullPolicy, WasmPluginSpec};

use super::credentials::Credentials;
use super::{hex, http, oci};

/// How soon a failed download is tried again without a config change.
pub const RETRY: Duration = Duration::from_secs(10);

/// One remote module a snapshot wants.
#[derive(Debug, Clone)]
pub struct Want {
    /// The WasmPlugin's name.
    pub plugin: String,
    /// Its spec (a change re-downloads under `Always`).
    pub spec: WasmPluginSpec,
    /// The parsed url.
    pub url: ModuleUrl,
    /// Credentials from `imagePullSecret`, or why they cannot be had.
    pub credentials: Result<Option<Credentials>, String>,
}

/// Downloaded modules by url.
#[derive(Default)]
pub struct Downloads {
    dir: Mutex<Option<PathBuf>>,
    client: OnceLock<Result<reqwest::Client, String>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    modules: HashMap<String, Entry>,
    specs: HashMap<String, WasmPluginSpec>,
}

enum Entry {
    Ready(Arc<[u8]>),
    Failed { message: String, at: Instant },
}

impl std::fmt::Debug for Downloads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Downloads")
            .field("dir", &*lock(&self.dir))
            .finish()
    }
}

// === impl Want ===

impl Want {
    fn key(&self) -> String {
        let secret = self
            .spec
            .image_pull_secret
            .as_deref()
            .filter(|n| !n.is_empty());
        key(&self.spec.url, self.spec.sha256.as_deref(), secret)
    }
}

/// The cache key of a download: the url, the digest it must have and the pull secret it
/// was pulled with (a module pulled with credentials is not served to a plugin without).
fn key(url: &str, sha256: Option<&str>, pull_secret: Option<&str>) -> String {
    let mut key = url.trim().to_owned();
    if let Some(d) = sha256 {
        key.push_str(" sha256=");
        key.push_str(&d.trim().to_ascii_lowercase());
    }
    if let Some(secret) = pull_secret {
        key.push_str(" secret=");
        key.push_str(secret);
    }
    key
}

// === impl Downloads ===

impl Downloads {
    /// From now on, also keeps downloads on disk in `dir` (created when needed).
    pub fn set_dir(&self, dir: PathBuf) {
        *lock(&self.dir) = Some(dir);
    }

    /// Downloads what `wants` needs and does not have; forgets urls no longer wanted.
    pub async fn refresh(&self, wants: &[Want]) {
        let jobs: Vec<&Want> = {
            let state = lock(&self.state);
            let mut jobs: Vec<&Want> = Vec::new();
            for w in wants {
                let changed = state.specs.get(&w.plugin) != Some(&w.spec);
                let needed = match state.modules.get(&w.key()) {
                    Some(Entry::Ready(_)) => {
                        changed && w.spec.pull_policy(&w.url) == PullPolicy::Always
                    }
                    Some(Entry::Failed { at, .. }) => changed || at.elapsed() >= RETRY,
                    None => true,
                };
                if needed && !jobs.iter().any(|j| j.key() == w.key()) {
                    jobs.push(w);
                }
            }
            jobs
        };
        let results = futures_util::future::join_all(jobs.iter().map(|w| self.obtain(w))).await;
        let mut state = lock(&self.state);
        for (w, result) in jobs.iter().zip(results) {
            let entry = match result {
                Ok(bytes) => Entry::Ready(bytes.into()),
                Err(message) => {
                    let again = matches!(
                        state.modules.get(&w.key()),
                        Some(Entry::Failed { message: m, .. }) if *m == message
                    );
                    if again {
                        tracing::debug!(plugin = %w.plugin, "plugin download failed again: {message}");
                    } else {
                        tracing::warn!(plugin = %w.plugin, "plugin download failed: {message}");
                    }
                    Entry::Failed {
                        message,
                        at: Instant::now(),
                    }
                }
            };
            state.modules.insert(w.key(), entry);
        }
        let keys: Vec<String> = wants.iter().map(Want::key).collect();
        state.modules.retain(|k, _| keys.contains(k));
        state.specs = wants
            .iter()
            .map(|w| (w.plugin.clone(), w.spec.clone()))
            .collect();
    }

    /// The downloaded module of `url` (with `sha256`, pulled with `pull_secret`), or why
    /// there is none.
    pub fn get(
        &self,
        url: &str,
        sha256: Option<&str>,
        pull_secret: Option<&str>,
    ) -> Result<Arc<[u8]>, String> {
        match lock(&self.state)
            .modules
            .get(&key(url, sha256, pull_secret))
        {
            Some(Entry::Ready(bytes)) => Ok(bytes.clone()),
            Some(Entry::Failed { message, .. }) => Err(message.clone()),
            None => Err(format!("url {url:?}: not downloaded")),
        }
    }

    /// How long until a failed download is due again (`None`: nothing failed).
    pub fn retry_in(&self) -> Option<Duration> {
        lock(&self.state)
            .modules
            .values()
            .filter_map(|e| match e {
                Entry::Failed { at, .. } => Some(RETRY.saturating_sub(at.elapsed())),
                Entry::Ready(_) => None,
            })
            .min()
    }

    /// The module of `w`: from disk under `IfNotPresent`, else from the network.
    async fn obtain(&self, w: &Want) -> Result<Vec<u8>, String> {
        let url = &w.spec.url;
        let disk = self.disk_path(w);
        if w.spec.pull_policy(&w.url) == PullPolicy::IfNotPresent {
            let cached = disk.as_ref().and_then(|p| std::fs::read(p).ok());
            if let Some(bytes) = cached.filter(|b| match &w.url {
                ModuleUrl::Http(_) => super::check_sha256(url, b, w.spec.sha256.as_deref()).is_ok(),
                _ => true,
            }) {
                tracing::info!(plugin = %w.plugin, %url, "plugin module from the download cache");
                return Ok(bytes);
            }
        }
        let started = Instant::now();
        let client = self
            .client
            .get_or_init(http::client)
            .as_ref()
            .map_err(Clone::clone)?;
        let bytes = match &w.url {
            ModuleUrl::Http(u) => {
                let bytes = http::fetch(client, u).await?;
                super::check_sha256(url, &bytes, w.spec.sha256.as_deref())?;
                bytes
            }
            ModuleUrl::Oci(image) => {
                let credentials = w.credentials.clone()?;
                oci::pull(
                    client,
                    image,
                    credentials.as_ref(),
                    w.spec.sha256.as_deref(),
                )
                .await
                .map_err(|e| format!("url {url:?}: {e}"))?
            }
            ModuleUrl::File(_) => return Err(format!("url {url:?}: a file is not downloaded")),
        };
        tracing::info!(
            plugin = %w.plugin,
            %url,
            bytes = bytes.len(),
            ms = started.elapsed().as_millis() as u64,
            "plugin module downloaded"
        );
        if let Some(path) = &disk {
            if let Err(e) = write_atomically(path, &bytes) {
                tracing::warn!(path = %path.display(), "cannot cache the plugin download: {e}");
            }
        }
        Ok(bytes)
    }

    fn disk_path(&self, w: &Want) -> Option<PathBuf> {
        let name = hex(&super::digest(w.key().as_bytes()));
        lock(&self.dir)
            .as_ref()
            .map(|d| d.join(format!("{name}.wasm")))
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
