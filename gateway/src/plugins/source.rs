//! Where a plugin's module comes from: `spec.url` → bytes, checked against `spec.sha256`.
//! `file://` reads a local file. `http(s)://` and `oci://` are not supported yet: they are
//! a load error (the plugin's routes then follow `failStrategy`).

use std::path::Path;

/// The module bytes of `url`, or why they cannot be had.
pub fn fetch(url: &str, sha256: Option<&str>) -> Result<Vec<u8>, String> {
    let bytes = if let Some(path) = url.strip_prefix("file://") {
        let path = Path::new(path);
        if !path.is_absolute() {
            return Err(format!(
                "url {url:?}: a file:// url needs an absolute path (file:///…)"
            ));
        }
        std::fs::read(path).map_err(|e| format!("url {url:?}: cannot read module: {e}"))?
    } else if url.starts_with("http://") || url.starts_with("https://") {
        return Err(format!(
            "url {url:?}: plugins over http(s) are not supported yet; use file://"
        ));
    } else if url.starts_with("oci://") {
        return Err(format!(
            "url {url:?}: plugins from OCI registries are not supported yet; use file://"
        ));
    } else {
        return Err(format!(
            "url {url:?}: unknown scheme (expected file://, http(s):// or oci://)"
        ));
    };
    if let Some(want) = sha256 {
        let got = hex(ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref());
        if !got.eq_ignore_ascii_case(want.trim()) {
            return Err(format!(
                "url {url:?}: sha256 is {got}, spec.sha256 wants {want}"
            ));
        }
    }
    Ok(bytes)
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
