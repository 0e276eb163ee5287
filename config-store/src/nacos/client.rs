//! [`NacosClient`]: the `nacos-sdk` gRPC client (port = HTTP port + 1000) for reading,
//! publishing (with compare-and-swap), removing and listening to configs, every call
//! bounded by a timeout.
//!
//! Two SDK clients share one [`NacosClient`]: the SDK answers `get_config` from its cache
//! for any config that has a listener (and keeps a deleted config's last content there),
//! so reads go through a client that never listens, and listeners live on the other.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use nacos_sdk::api::config::{ConfigChangeListener, ConfigService, ConfigServiceBuilder};
use nacos_sdk::api::error::Error as SdkError;
use nacos_sdk::api::props::ClientProps;

use crate::nacos::options::NacosOptions;

/// What the SDK reports when a call fails. Messages hold no credentials or content.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// No answer in time (Nacos down, or the client reconnecting).
    #[error("no answer from Nacos within {0:?}")]
    Timeout(Duration),
    /// The SDK or the server refused the call.
    #[error("{0}")]
    Sdk(String),
}

/// A connected Nacos config client for one namespace.
pub struct NacosClient {
    /// Never has listeners, so every read reaches the server.
    reader: ConfigService,
    /// Holds the listeners.
    watcher: ConfigService,
    timeout: Duration,
}

// === impl NacosClient ===

impl NacosClient {
    /// Connects to `options.server` (gRPC on its port + 1000), logging in when credentials
    /// are set. Environment variables never override these options (`env_first(false)`).
    pub async fn connect(options: &NacosOptions) -> Result<Self, ClientError> {
        let cache_dir = match &options.data_dir {
            Some(dir) => dir.join("nacos-sdk-cache"),
            None => std::env::temp_dir().join("gantry-nacos-sdk-cache"),
        };
        let mut props = ClientProps::new()
            .server_addr(options.server.clone())
            .namespace(options.namespace.clone())
            .app_name("gantry")
            .env_first(false)
            .load_cache_at_start(false)
            .cache_dir(cache_dir);
        if let Some(c) = &options.credentials {
            props = props
                .auth_username(c.username.clone())
                .auth_password(c.password.clone());
        }
        let build = |props: ClientProps| {
            let builder = ConfigServiceBuilder::new(props);
            let builder = if options.credentials.is_some() {
                builder.enable_auth_plugin_http()
            } else {
                builder
            };
            builder.build()
        };
        // Building waits for a first health check; bound it like any call.
        let limit = options.request_timeout * 2;
        let (reader, watcher) = tokio::join!(
            bounded(limit, build(props.clone())),
            bounded(limit, build(props))
        );
        Ok(Self {
            reader: reader?,
            watcher: watcher?,
            timeout: options.request_timeout,
        })
    }

    /// The content of a config, `None` when it does not exist.
    pub async fn get(&self, data_id: &str, group: &str) -> Result<Option<String>, ClientError> {
        let call = self.reader.get_config(data_id.into(), group.into());
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => Err(ClientError::Timeout(self.timeout)),
            Ok(Ok(resp)) => Ok(Some(resp.content().clone())),
            Ok(Err(SdkError::ConfigNotFound(_))) => Ok(None),
            Ok(Err(e)) => Err(ClientError::Sdk(e.to_string())),
        }
    }

    /// Publishes a config; with `cas_md5`, only if its current MD5 is that (servers that
    /// enforce compare-and-swap, as Nacos does, refuse otherwise).
    pub async fn publish(
        &self,
        data_id: &str,
        group: &str,
        content: &str,
        cas_md5: Option<&str>,
    ) -> Result<(), ClientError> {
        let (d, g, c) = (data_id.to_string(), group.to_string(), content.to_string());
        let published = match cas_md5 {
            Some(md5) => {
                bounded(
                    self.timeout,
                    self.reader.publish_config_cas(d, g, c, None, md5.into()),
                )
                .await?
            }
            None => bounded(self.timeout, self.reader.publish_config(d, g, c, None)).await?,
        };
        if published {
            Ok(())
        } else {
            Err(ClientError::Sdk(format!("Nacos did not publish {data_id}")))
        }
    }

    /// Removes a config.
    pub async fn remove(&self, data_id: &str, group: &str) -> Result<(), ClientError> {
        let removed = bounded(
            self.timeout,
            self.reader.remove_config(data_id.into(), group.into()),
        )
        .await?;
        if removed {
            Ok(())
        } else {
            Err(ClientError::Sdk(format!("Nacos did not remove {data_id}")))
        }
    }

    /// Calls `listener` with the new content each time the config changes (not on delete).
    pub async fn listen(
        &self,
        data_id: &str,
        group: &str,
        listener: Arc<dyn ConfigChangeListener>,
    ) -> Result<(), ClientError> {
        bounded(
            self.timeout,
            self.watcher
                .add_listener(data_id.into(), group.into(), listener),
        )
        .await
    }

    /// Stops calling `listener`.
    pub async fn unlisten(
        &self,
        data_id: &str,
        group: &str,
        listener: Arc<dyn ConfigChangeListener>,
    ) -> Result<(), ClientError> {
        bounded(
            self.timeout,
            self.watcher
                .remove_listener(data_id.into(), group.into(), listener),
        )
        .await
    }
}

/// Runs an SDK call with a timeout.
async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, SdkError>>,
) -> Result<T, ClientError> {
    match tokio::time::timeout(limit, call).await {
        Err(_) => Err(ClientError::Timeout(limit)),
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ClientError::Sdk(e.to_string())),
    }
}
