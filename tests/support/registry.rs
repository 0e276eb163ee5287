//! A real OCI registry for plugin tests: Debian's `docker-registry` (distribution 2.8) on a
//! loopback port with a temp storage dir, optionally behind htpasswd basic auth; killed on
//! drop. Images are pushed with the distribution API itself (monolithic blob uploads, then
//! the manifest), in the shapes Higress and Istio use.
//!
//! The binary is `$DOCKER_REGISTRY_BIN`, else `docker-registry` on `PATH` (tests/run.sh
//! installs the Debian package).

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::ports::free_port;

/// The user the authenticated registry knows.
pub const USER: (&str, &str) = ("gantry", "pull-s3cret");
/// `htpasswd -Bbn -C 5 gantry pull-s3cret` (the registry reads only bcrypt).
const HTPASSWD: &str = "gantry:$2y$05$kGdllESboNO/wfS8s.nQ2O/AkGG8OiGD5DdFyzGnm1KAYvbYPoe5u\n";

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Higress's plugin layer: a tar.gz holding `plugin.wasm`.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The raw Wasm layer of the OCI artifact variant.
pub const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// A running registry.
pub struct Registry {
    child: Child,
    _dir: TempDir,
    /// `127.0.0.1:<port>`.
    pub host: String,
    auth: bool,
    client: reqwest::Client,
}

fn binary() -> String {
    std::env::var("DOCKER_REGISTRY_BIN").unwrap_or_else(|_| "docker-registry".to_owned())
}

impl Registry {
    /// Starts a registry; with `auth`, every request needs [`USER`]'s basic auth.
    pub async fn start(auth: bool) -> Self {
        let dir = TempDir::new().expect("registry dir");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if auth {
            std::fs::write(dir.path().join("htpasswd"), HTPASSWD).expect("htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: gantry-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("registry config");
        let log = File::create(dir.path().join("registry.log")).expect("registry log");
        let child = Command::new(binary())
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install Debian's docker-registry (tests/run.sh does) \
                     or set DOCKER_REGISTRY_BIN",
                    binary()
                )
            });
        let registry = Self {
            child,
            _dir: dir,
            host,
            auth,
            client: reqwest::Client::new(),
        };
        let started = Instant::now();
        loop {
            let up = registry
                .client
                .get(format!("http://{}/v2/", registry.host))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200 || r.status().as_u16() == 401);
            if up {
                return registry;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not answer on {}",
                registry.host
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn with_auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.auth {
            req.basic_auth(USER.0, Some(USER.1))
        } else {
            req
        }
    }

    /// Uploads `bytes` as a blob of `repo`; returns its descriptor digest.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> String {
        let digest = digest(bytes);
        let start = self
            .with_auth(
                self.client
                    .post(format!("http://{}/v2/{repo}/blobs/uploads/", self.host)),
            )
            .send()
            .await
            .expect("start upload");
        assert_eq!(start.status().as_u16(), 202, "start upload of {repo}");
        let location = start
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .expect("upload location")
            .to_owned();
        let location = if location.starts_with('/') {
            format!("http://{}{location}", self.host)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self
            .with_auth(
                self.client
                    .put(format!("{location}{sep}digest={digest}"))
                    .header("content-type", "application/octet-stream")
                    .body(bytes.to_vec()),
            )
            .send()
            .await
            .expect("upload blob");
        assert_eq!(put.status().as_u16(), 201, "upload blob to {repo}");
        digest
    }

    /// Pushes an OCI image of `layers` (`(media type, bytes)`, in order) as `repo:tag`;
    /// returns the manifest's digest.
    pub async fn push_image(&self, repo: &str, tag: &str, layers: &[(&str, Vec<u8>)]) -> String {
        let config = b"{}".to_vec();
        let config_digest = self.push_blob(repo, &config).await;
        let mut descriptors = Vec::new();
        for (media, bytes) in layers {
            let d = self.push_blob(repo, bytes).await;
            descriptors.push(json!({"mediaType": media, "digest": d, "size": bytes.len()}));
        }
        let manifest: Value = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": config.len(),
            },
            "layers": descriptors,
        });
        let bytes = serde_json::to_vec(&manifest).expect("manifest");
        let put = self
            .with_auth(
                self.client
                    .put(format!("http://{}/v2/{repo}/manifests/{tag}", self.host))
                    .header("content-type", OCI_MANIFEST)
                    .body(bytes.clone()),
            )
            .send()
            .await
            .expect("put manifest");
        let status = put.status().as_u16();
        let text = put.text().await.unwrap_or_default();
        assert_eq!(status, 201, "put manifest {repo}:{tag}: {text}");
        digest(&bytes)
    }

    /// A `kubernetes.io/dockerconfigjson` Secret named `name` with [`USER`]'s login here.
    pub fn pull_secret(&self, name: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let auth = b64(&format!("{}:{}", USER.0, USER.1));
        let config = json!({"auths": {self.host.clone(): {"auth": auth}}}).to_string();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": "higress-system"},
            "data": {".dockerconfigjson": b64(&config)},
        })
        .to_string()
    }

    /// Manifest GETs the registry logged so far (pulls, not pushes).
    pub fn manifest_pulls(&self) -> usize {
        let log =
            std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/manifests/"))
            .count()
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let d = ring_digest(bytes);
    let mut hex = String::from("sha256:");
    for b in d {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

fn ring_digest(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

/// A tar.gz holding `bytes` as `plugin.wasm`, as `tar czf plugin.tar.gz plugin.wasm` makes.
pub fn plugin_tar_gz(bytes: &[u8]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(bytes.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "plugin.wasm", bytes).expect("tar");
    let raw = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).expect("gzip");
    gz.finish().expect("gzip")
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
