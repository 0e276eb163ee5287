//! [`NacosOptions`]: where the Nacos store reads and writes (server, namespace, credentials,
//! Secret key, timings), with Higress standalone's defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::nacos::crypto::{Cipher, CryptoError};

/// The Nacos namespace (tenant) Higress standalone uses by default (`NACOS_NS`).
pub const DEFAULT_NAMESPACE: &str = "higress-system";
/// How often every data id is listed again (Higress: `NACOS_LIST_REFRESH_INTERVAL_SECS`).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// How long one request to Nacos may take before it counts as failed.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of a [`crate::nacos::NacosStore`].
#[derive(Clone)]
pub struct NacosOptions {
    /// `host:port` of the Nacos HTTP API (the SDK's gRPC port is this port + 1000).
    pub server: String,
    /// The namespace (tenant) id; default `higress-system`.
    pub namespace: String,
    /// Username and password when Nacos has auth on.
    pub credentials: Option<Credentials>,
    /// The key Secrets are encrypted with (`enc|…`), 16, 24 or 32 bytes; `None` stores and
    /// expects them in clear.
    pub data_enc_key: Option<Vec<u8>>,
    /// Period of the full re-list; default 10 s.
    pub refresh_interval: Duration,
    /// Timeout of each request to Nacos; default 5 s.
    pub request_timeout: Duration,
    /// Where the last good snapshot and the SDK's cache are kept; `None` keeps no local
    /// snapshot (and the SDK cache goes to the temp dir).
    pub data_dir: Option<PathBuf>,
}

/// Nacos login.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Username.
    pub username: String,
    /// Password (never printed).
    pub password: String,
}

// === impl NacosOptions ===

impl NacosOptions {
    /// Options for the server at `host:port` with every default.
    pub fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            credentials: None,
            data_enc_key: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            data_dir: None,
        }
    }

    /// `nacos://host:port/namespace`, the store's description in logs, status and the local
    /// snapshot's name. Holds no credentials.
    pub fn describe(&self) -> String {
        format!("nacos://{}/{}", self.server, self.namespace)
    }

    /// The Secret cipher, checking the key length.
    pub fn cipher(&self) -> Result<Option<Cipher>, CryptoError> {
        self.data_enc_key.as_deref().map(Cipher::new).transpose()
    }
}

impl fmt::Debug for NacosOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NacosOptions")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .field("credentials", &self.credentials)
            .field("data_enc_key", &self.data_enc_key.as_ref().map(|_| "<set>"))
            .field("refresh_interval", &self.refresh_interval)
            .field("request_timeout", &self.request_timeout)
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut o = NacosOptions::new("127.0.0.1:8848");
        o.credentials = Some(Credentials {
            username: "nacos".into(),
            password: "hunter2".into(),
        });
        o.data_enc_key = Some(b"0123456789abcdef0123456789abcdef".to_vec());
        let shown = format!("{o:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        assert_eq!(o.describe(), "nacos://127.0.0.1:8848/higress-system");
    }
}
