//! Nacos service discovery: a `<service>.<group>.<namespace>.nacos` target is fed by one
//! naming subscription (instances pushed over gRPC by `nacos-sdk`), with one client per
//! Nacos server, namespace and user, created on first use.
//!
//! ```text
//! resolve(target) ─▶ client(server) ─▶ get_all_instances(subscribe) ─▶ set_endpoints
//!                                  └─▶ subscribe(listener) ─▶ push ─▶ set_endpoints
//! ```
//!
//! Only instances that are healthy, enabled and of weight > 0 receive traffic, by weight;
//! ephemeral and persistent instances alike; a service left with none answers 503. A push replaces the target's endpoints without a
//! route-table rebuild; requests in flight on a removed instance finish on it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use nacos_sdk::api::naming::{
    NamingChangeEvent, NamingEventListener, NamingService, NamingServiceBuilder, ServiceInstance,
};
use nacos_sdk::api::props::ClientProps;

use crate::upstream::{Endpoint, Target};

/// How long one call to a Nacos server may take (connecting, listing, subscribing).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Scale from Nacos's decimal weights (default 1.0) to endpoint weights.
const WEIGHT_SCALE: f64 = 100.0;
/// The largest endpoint weight (Nacos allows weights up to 10000).
const MAX_WEIGHT: u32 = 1_000_000;

/// A Nacos server as one client sees it: address, namespace and user.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NacosServer {
    /// `host:port` of its HTTP API (gRPC is port + 1000).
    pub addr: String,
    /// Namespace id; empty for `public`.
    pub namespace: String,
    /// Login, from the registry's `authSecretName` Secret.
    pub credentials: Option<NacosCredentials>,
}

/// A Nacos user name and password; `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NacosCredentials {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// One Nacos service: its server, group and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NacosService {
    /// The server holding it.
    pub server: NacosServer,
    /// Group, as registered (`DEFAULT_GROUP`).
    pub group: String,
    /// Service name, as registered.
    pub service: String,
}

/// Clients and subscriptions of one discovery registry.
pub struct NacosNaming {
    clients: tokio::sync::Mutex<HashMap<NacosServer, NamingService>>,
    subscriptions: Mutex<HashMap<String, Subscription>>,
    cache_dir: PathBuf,
}

/// A live subscription, dropped (and unsubscribed) once its target is gone.
struct Subscription {
    target: Weak<Target>,
    service: NacosService,
    listener: Arc<Listener>,
}

/// Applies pushed instances to its target.
struct Listener {
    target: Weak<Target>,
    label: String,
}

/// Why a service could not be subscribed.
#[derive(Debug, thiserror::Error)]
pub enum NacosDiscoveryError {
    /// No answer in time.
    #[error("Nacos {server} did not answer within {timeout:?}")]
    Timeout {
        /// Server address.
        server: String,
        /// The bound.
        timeout: Duration,
    },
    /// The SDK or the server refused.
    #[error("Nacos {server}: {message}")]
    Refused {
        /// Server address.
        server: String,
        /// What it said (no credentials).
        message: String,
    },
}

// === impl NacosServer ===

impl std::fmt::Debug for NacosServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NacosServer")
            .field("addr", &self.addr)
            .field("namespace", &self.namespace)
            .field("credentials", &self.credentials)
            .finish()
    }
}

// === impl NacosCredentials ===

impl std::fmt::Debug for NacosCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NacosCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

// === impl NacosService ===

impl NacosService {
    /// A stable identity without secrets: `nacos:<service>@<group>@<namespace>@<addr>[ as <user>]`.
    pub fn key(&self) -> String {
        let ns = match self.server.namespace.as_str() {
            "" => "public",
            ns => ns,
        };
        let mut key = format!(
            "nacos:{}@{}@{ns}@{}",
            self.service, self.group, self.server.addr
        );
        if let Some(c) = &self.server.credentials {
            key.push_str(&format!(" as {}", c.username));
        }
        key
    }
}

// === impl NacosNaming ===

impl std::fmt::Debug for NacosNaming {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NacosNaming")
            .field("subscriptions", &self.subs().len())
            .finish()
    }
}

impl Default for NacosNaming {
    fn default() -> Self {
        Self {
            clients: tokio::sync::Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(HashMap::new()),
            cache_dir: std::env::temp_dir().join("gantry-nacos-naming-cache"),
        }
    }
}

impl NacosNaming {
    fn subs(&self) -> MutexGuard<'_, HashMap<String, Subscription>> {
        match self.subscriptions.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        }
    }

    /// Whether `target` already has a live subscription.
    pub fn is_subscribed(&self, target: &Target) -> bool {
        self.subs()
            .get(target.key())
            .is_some_and(|s| s.target.strong_count() > 0)
    }

    /// Loads the instances of `service` into `target` and subscribes to their changes.
    pub async fn resolve(
        &self,
        target: &Arc<Target>,
        service: &NacosService,
    ) -> Result<(), NacosDiscoveryError> {
        if self.is_subscribed(target) {
            return Ok(());
        }
        let client = self.client(&service.server).await?;
        let listener = Arc::new(Listener {
            target: Arc::downgrade(target),
            label: target.key().to_string(),
        });
        let server = &service.server.addr;
        let instances = bounded(
            server,
            client.get_all_instances(
                service.service.clone(),
                Some(service.group.clone()),
                Vec::new(),
                true,
            ),
        )
        .await?;
        target.set_endpoints(endpoints_of(target.key(), &instances));
        bounded(
            server,
            client.subscribe(
                service.service.clone(),
                Some(service.group.clone()),
                Vec::new(),
                listener.clone(),
            ),
        )
        .await?;
        tracing::info!(
            target = target.key(),
            endpoints = target.endpoint_count(),
            "subscribed to Nacos service"
        );
        // A dead entry under the same key (target dropped and made again before
        // `forget_dropped` ran) is just replaced: its listener only holds a dead `Weak`, and
        // unsubscribing it would end the server-side subscription the new listener shares.
        self.subs().insert(
            target.key().to_string(),
            Subscription {
                target: Arc::downgrade(target),
                service: service.clone(),
                listener,
            },
        );
        Ok(())
    }

    /// Unsubscribes the services no route table uses any more.
    pub async fn forget_dropped(&self) {
        let dropped: Vec<Subscription> = {
            let mut subs = self.subs();
            let gone: Vec<String> = subs
                .iter()
                .filter(|(_, s)| s.target.strong_count() == 0)
                .map(|(k, _)| k.clone())
                .collect();
            gone.iter().filter_map(|k| subs.remove(k)).collect()
        };
        for sub in dropped {
            let Ok(client) = self.client(&sub.service.server).await else {
                continue;
            };
            let s = &sub.service;
            let listener: Arc<dyn NamingEventListener> = sub.listener;
            let call = client.unsubscribe(
                s.service.clone(),
                Some(s.group.clone()),
                Vec::new(),
                listener,
            );
            if let Err(e) = bounded(&s.server.addr, call).await {
                tracing::debug!(service = s.key(), "Nacos unsubscribe failed: {e}");
            }
        }
    }

    /// The client for `server`, connecting on first use.
    async fn client(&self, server: &NacosServer) -> Result<NamingService, NacosDiscoveryError> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(server) {
            return Ok(c.clone());
        }
        let mut props = ClientProps::new()
            .server_addr(server.addr.clone())
            .namespace(server.namespace.clone())
            .app_name("gantry")
            .env_first(false)
            .load_cache_at_start(false)
            // As Higress (`updateCacheWhenEmpty`): a service whose last instance left has
            // no endpoints (503), rather than keeping instances that are gone.
            .naming_push_empty_protection(false)
            .cache_dir(self.cache_dir.to_string_lossy().into_owned());
        let mut builder = NamingServiceBuilder::new(match &server.credentials {
            Some(c) => {
                props = props
                    .auth_username(c.username.clone())
                    .auth_password(c.password.clone());
                props
            }
            None => props,
        });
        if server.credentials.is_some() {
            builder = builder.enable_auth_plugin_http();
        }
        let client = bounded(&server.addr, builder.build()).await?;
        clients.insert(server.clone(), client.clone());
        Ok(client)
    }
}

// === impl Listener ===

impl NamingEventListener for Listener {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let Some(target) = self.target.upgrade() else {
            return;
        };
        let Some(instances) = &event.instances else {
            return;
        };
        let endpoints = endpoints_of(&self.label, instances);
        if endpoints != target.endpoints() {
            tracing::info!(target = self.label, endpoints = ?endpoints.iter().map(|e| e.addr).collect::<Vec<_>>(), "Nacos instances changed");
            target.set_endpoints(endpoints);
        }
    }
}

/// The instances that receive traffic, as weighted endpoints, sorted.
pub fn endpoints_of(label: &str, instances: &[ServiceInstance]) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = instances
        .iter()
        .filter(|i| i.healthy && i.enabled && i.weight > 0.0)
        .filter_map(|i| {
            let Ok(ip) = i.ip.parse::<IpAddr>() else {
                tracing::warn!(
                    target = label,
                    ip = i.ip,
                    "Nacos instance address is not an IP; skipped"
                );
                return None;
            };
            let port = u16::try_from(i.port).ok().filter(|p| *p != 0)?;
            Some(Endpoint {
                addr: SocketAddr::new(ip, port),
                weight: weight_of(i.weight),
            })
        })
        .collect();
    out.sort();
    out.dedup_by_key(|e| e.addr);
    out
}

/// A Nacos weight (a decimal, default 1.0) as an endpoint weight, keeping ratios to 1/100.
fn weight_of(weight: f64) -> u32 {
    let scaled = (weight * WEIGHT_SCALE).round();
    if scaled.is_nan() || scaled < 1.0 {
        1
    } else if scaled >= f64::from(MAX_WEIGHT) {
        MAX_WEIGHT
    } else {
        scaled as u32
    }
}

/// Runs an SDK call with [`CALL_TIMEOUT`].
async fn bounded<T>(
    server: &str,
    call: impl std::future::Future<Output = nacos_sdk::api::error::Result<T>>,
) -> Result<T, NacosDiscoveryError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Err(_) => Err(NacosDiscoveryError::Timeout {
            server: server.to_string(),
            timeout: CALL_TIMEOUT,
        }),
        Ok(Err(e)) => Err(NacosDiscoveryError::Refused {
            server: server.to_string(),
            message: e.to_string(),
        }),
        Ok(Ok(v)) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(ip: &str, port: i32, weight: f64, healthy: bool, enabled: bool) -> ServiceInstance {
        ServiceInstance {
            ip: ip.into(),
            port,
            weight,
            healthy,
            enabled,
            ..ServiceInstance::default()
        }
    }

    #[test]
    fn only_serving_instances_become_weighted_endpoints() {
        let eps = endpoints_of(
            "t",
            &[
                instance("127.0.0.1", 8002, 3.0, true, true),
                instance("127.0.0.1", 8001, 1.0, true, true),
                instance("127.0.0.1", 8003, 1.0, false, true),
                instance("127.0.0.1", 8004, 1.0, true, false),
                instance("127.0.0.1", 8005, 0.0, true, true),
                instance("not-an-ip", 8006, 1.0, true, true),
                instance("127.0.0.1", 0, 1.0, true, true),
                instance("::1", 8007, 0.004, true, true),
            ],
        );
        let got: Vec<(String, u32)> = eps.iter().map(|e| (e.addr.to_string(), e.weight)).collect();
        assert_eq!(
            got,
            vec![
                ("127.0.0.1:8001".to_string(), 100),
                ("127.0.0.1:8002".to_string(), 300),
                ("[::1]:8007".to_string(), 1),
            ]
        );
    }

    #[test]
    fn key_and_debug_never_show_the_password() {
        let svc = NacosService {
            server: NacosServer {
                addr: "127.0.0.1:8848".into(),
                namespace: String::new(),
                credentials: Some(NacosCredentials {
                    username: "nacos".into(),
                    password: "s3cret-pw".into(),
                }),
            },
            group: "DEFAULT_GROUP".into(),
            service: "echo".into(),
        };
        assert_eq!(
            svc.key(),
            "nacos:echo@DEFAULT_GROUP@public@127.0.0.1:8848 as nacos"
        );
        assert!(!format!("{svc:?}").contains("s3cret-pw"));
    }
}
