//! Where a plugin's module comes from: `spec.url` → bytes. `file://` is read at each load
//! and checked against `spec.sha256`; `http(s)://` and `oci://` are downloaded before the
//! snapshot compiles ([`downloads`]) and read from there (`spec.sha256` is the module's
//! digest for http(s), the image manifest's for OCI, as in Istio).

pub mod credentials;
pub mod downloads;
pub mod http;
pub mod oci;

use std::sync::Arc;

use config_store::resource::wasmplugin::ModuleUrl;

pub use downloads::{Downloads, Want};

use super::PluginSpec;

/// The module bytes of `spec.url`, or why they cannot be had.
pub fn fetch(spec: &PluginSpec, downloads: &Downloads) -> Result<Arc<[u8]>, String> {
    let (url, sha256) = (spec.url.as_str(), spec.sha256.as_deref());
    match ModuleUrl::parse(url).map_err(|e| format!("url {url:?}: {e}"))? {
        ModuleUrl::File(path) => {
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("url {url:?}: cannot read module: {e}"))?;
            check_sha256(url, &bytes, sha256)?;
            Ok(bytes.into())
        }
        ModuleUrl::Http(_) | ModuleUrl::Oci(_) => {
            downloads.get(url, sha256, spec.pull_secret.as_deref())
        }
    }
}

/// `bytes` has the SHA-256 `want` (when one is set).
pub fn check_sha256(url: &str, bytes: &[u8], want: Option<&str>) -> Result<(), String> {
    let Some(want) = want else { return Ok(()) };
    let got = hex(&digest(bytes));
    if got.eq_ignore_ascii_case(want.trim()) {
        Ok(())
    } else {
        Err(format!(
            "url {url:?}: sha256 is {got}, spec.sha256 wants {want}"
        ))
    }
}

/// The SHA-256 of `bytes`, the module's identity in caches.
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
