//! `spec.url` of a WasmPlugin, parsed: a local file, an HTTP(S) download, or an OCI image
//! reference. A url without a scheme is an OCI image, as in Higress (Istio's rule).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

/// Where a plugin's module comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleUrl {
    /// `file:///absolute/path.wasm`.
    File(PathBuf),
    /// `http://…` or `https://…`, fetched as is.
    Http(String),
    /// `oci://registry/repository[:tag][@digest]`.
    Oci(ImageRef),
}

/// An OCI image reference, normalised as Docker normalises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The registry's host and port as written (`docker.io` when none was).
    pub registry: String,
    /// The repository path (`library/x` for a bare Docker Hub name).
    pub repository: String,
    /// The tag (`latest` when none was given and there is no digest).
    pub tag: Option<String>,
    /// The manifest digest (`sha256:…`), when pinned.
    pub digest: Option<String>,
}

/// Why a url cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No url at all.
    #[error("a url is required (file://, http(s):// or oci://)")]
    Empty,
    /// A scheme other than the four.
    #[error("unknown scheme in {0:?} (expected file://, http(s):// or oci://)")]
    Scheme(String),
    /// `file://` with a relative path.
    #[error("a file:// url needs an absolute path (file:///…), not {0:?}")]
    RelativeFile(String),
    /// `http(s)://` without a host.
    #[error("{0:?} names no host")]
    NoHost(String),
    /// An OCI reference that does not parse.
    #[error("{url:?} is not an OCI image reference: {why}")]
    Image {
        /// The url.
        url: String,
        /// What is wrong.
        why: &'static str,
    },
}

impl ModuleUrl {
    /// Parses `url`; a url without `://` is an OCI image reference.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(UrlError::Empty);
        }
        if let Some(path) = url.strip_prefix("file://") {
            let path = PathBuf::from(path);
            if !path.is_absolute() {
                return Err(UrlError::RelativeFile(url.to_owned()));
            }
            return Ok(Self::File(path));
        }
        for scheme in ["http://", "https://"] {
            if let Some(rest) = url.strip_prefix(scheme) {
                if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
                    return Err(UrlError::NoHost(url.to_owned()));
                }
                return Ok(Self::Http(url.to_owned()));
            }
        }
        if let Some(image) = url.strip_prefix("oci://") {
            return ImageRef::parse(image)
                .map(Self::Oci)
                .map_err(|why| UrlError::Image {
                    url: url.to_owned(),
                    why,
                });
        }
        if url.contains("://") {
            return Err(UrlError::Scheme(url.to_owned()));
        }
        ImageRef::parse(url)
            .map(Self::Oci)
            .map_err(|why| UrlError::Image {
                url: url.to_owned(),
                why,
            })
    }

    /// True for a url fetched over the network (http(s) or OCI).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Self::File(_))
    }
}

// === impl ImageRef ===

impl ImageRef {
    /// Parses `registry/repository[:tag][@digest]` (no scheme).
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or("a digest must be sha256:<64 hex digits>")?;
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err("a digest must be sha256:<64 hex digits>");
                }
                (rest, Some(digest.to_ascii_lowercase()))
            }
            None => (s, None),
        };
        // A tag is after the last ':' that follows the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if tag.is_empty() || tag.len() > 128 || !tag.bytes().all(tag_byte) {
                    return Err("a tag is 1 to 128 of [A-Za-z0-9_.-]");
                }
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_owned(), path.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid = !repository.is_empty()
            && repository.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !valid {
            return Err("the repository is lower-case [a-z0-9._-] components separated by '/'");
        }
        if registry.is_empty() {
            return Err("the registry host is empty");
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            (tag, _) => tag,
        };
        Ok(Self {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// True for the `latest` tag without a digest (Higress pulls it again on every change).
    pub fn is_latest(&self) -> bool {
        self.digest.is_none() && self.tag.as_deref() == Some("latest")
    }

    /// The registry API's base url: plain HTTP for loopback and private addresses, HTTPS
    /// elsewhere (go-containerregistry's rule, which Istio and Higress use); Docker Hub's
    /// API host for `docker.io`.
    pub fn api_base(&self) -> String {
        let host = if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            self.registry.as_str()
        };
        let scheme = if is_local(host) { "http" } else { "https" };
        format!("{scheme}://{host}")
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn tag_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.-".contains(&b)
}

/// `localhost[:port]`, a loopback or private IP (with or without a port).
fn is_local(host: &str) -> bool {
    let bare = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if bare == "localhost" {
        return true;
    }
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oci(s: &str) -> ImageRef {
        match ModuleUrl::parse(s) {
            Ok(ModuleUrl::Oci(r)) => r,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn higress_registry_urls_parse() {
        let r = oci("oci://higress-registry.cn-hangzhou.cr.aliyuncs.com/plugins/key-auth:1.0.0");
        assert_eq!(r.registry, "higress-registry.cn-hangzhou.cr.aliyuncs.com");
        assert_eq!(r.repository, "plugins/key-auth");
        assert_eq!(r.reference(), "1.0.0");
        assert!(!r.is_latest());
        assert_eq!(
            r.api_base(),
            "https://higress-registry.cn-hangzhou.cr.aliyuncs.com"
        );
    }

    #[test]
    fn docker_hub_names_local_registries_and_digests() {
        let r = oci("tetrate/hello");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.reference()),
            ("docker.io", "tetrate/hello", "latest")
        );
        assert!(r.is_latest());
        assert_eq!(r.api_base(), "https://registry-1.docker.io");
        assert_eq!(oci("oci://busybox").repository, "library/busybox");
        let r = oci("oci://127.0.0.1:5000/plugins/t:2.0.0");
        assert_eq!(r.api_base(), "http://127.0.0.1:5000");
        assert_eq!(
            oci("oci://localhost:5000/a/b").api_base(),
            "http://localhost:5000"
        );
        assert_eq!(oci("oci://[::1]:5000/a").api_base(), "http://[::1]:5000");
        assert_eq!(oci("oci://10.1.2.3/a").api_base(), "http://10.1.2.3");
        let d = format!("sha256:{}", "ab".repeat(32));
        let r = oci(&format!("oci://reg.example:443/a/b@{d}"));
        assert_eq!((r.reference(), r.tag.as_deref()), (d.as_str(), None));
        assert_eq!(r.to_string(), format!("reg.example:443/a/b@{d}"));
    }

    #[test]
    fn bad_urls_say_why() {
        let err = |s: &str| ModuleUrl::parse(s).err().map(|e| e.to_string());
        assert_eq!(
            err("ftp://x/p.wasm").as_deref(),
            Some(r#"unknown scheme in "ftp://x/p.wasm" (expected file://, http(s):// or oci://)"#)
        );
        assert!(err("file://plugins/p.wasm").is_some_and(|e| e.contains("absolute path")));
        assert!(err("http:///p.wasm").is_some_and(|e| e.contains("names no host")));
        assert!(err("oci://reg.example/Upper:1").is_some_and(|e| e.contains("lower-case")));
        assert!(err("oci://reg.example/a:").is_some_and(|e| e.contains("a tag is")));
        assert!(err("oci://reg.example/a@md5:00").is_some_and(|e| e.contains("digest")));
        assert_eq!(
            err("  ").as_deref(),
            Some("a url is required (file://, http(s):// or oci://)")
        );
        assert!(matches!(
            ModuleUrl::parse("file:///p.wasm"),
            Ok(ModuleUrl::File(p)) if p == std::path::Path::new("/p.wasm")
        ));
        assert!(matches!(
            ModuleUrl::parse("https://h/p.wasm"),
            Ok(ModuleUrl::Http(_))
        ));
    }
}
