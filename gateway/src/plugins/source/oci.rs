//! Pulling a plugin from an OCI registry (distribution API v2), in the three image shapes
//! Istio and Higress read (solo-io's Wasm image spec): Higress's own, an OCI manifest whose
//! last layer is `application/vnd.oci.image.layer.v1.tar+gzip` holding `plugin.wasm`; a
//! Docker image whose last layer holds `plugin.wasm`; and the OCI artifact with a raw
//! `application/vnd.module.wasm.content.layer.v1+wasm` layer. Anonymous pulls, basic auth
//! and the bearer-token exchange Docker Hub and most cloud registries use. Every blob is
//! checked against its digest.

use std::io::Read;

use config_store::resource::wasmplugin::ImageRef;
use serde_json::Value;

use super::credentials::Credentials;
use super::http::{body, send, MAX_BYTES};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
/// The file a tar.gz layer must hold.
const PLUGIN_FILE: &str = "plugin.wasm";

/// The module of `image`, pulled with `credentials` when the registry asks for them.
/// `sha256` (WasmPlugin `spec.sha256`) is the image manifest's digest, as in Istio.
pub async fn pull(
    client: &reqwest::Client,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    sha256: Option<&str>,
) -> Result<Vec<u8>, String> {
    let mut session = Session {
        client,
        base: image.api_base(),
        repository: &image.repository,
        credentials,
        authorization: None,
    };
    let mut manifest = session.manifest(image.reference()).await?;
    if let Some(pinned) = &image.digest {
        check_digest(&manifest.bytes, pinned, "the manifest")?;
    }
    let mut digests = vec![manifest_digest(&manifest.bytes)];
    if manifest.is_index() {
        let digest = manifest.pick_from_index()?;
        manifest = session.manifest(&digest).await?;
        check_digest(&manifest.bytes, &digest, "the manifest")?;
        digests.push(manifest_digest(&manifest.bytes));
    }
    if let Some(want) = sha256 {
        let want = want.trim().to_ascii_lowercase();
        if !digests
            .iter()
            .any(|d| d.strip_prefix("sha256:") == Some(want.as_str()))
        {
            return Err(format!(
                "the image's manifest digest is {}, spec.sha256 wants sha256:{want}",
                digests[digests.len() - 1]
            ));
        }
    }
    let layer = manifest.wasm_layer()?;
    let blob = session.blob(&layer.digest).await?;
    check_digest(&blob, &layer.digest, "the layer")?;
    match layer.kind {
        LayerKind::Raw => Ok(blob),
        LayerKind::TarGz => extract_plugin(&blob),
    }
}

/// A registry conversation: the authorization found on the first 401 is reused.
struct Session<'a> {
    client: &'a reqwest::Client,
    base: String,
    repository: &'a str,
    credentials: Option<&'a Credentials>,
    authorization: Option<String>,
}

struct Manifest {
    media_type: String,
    doc: Value,
    bytes: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
enum LayerKind {
    Raw,
    TarGz,
}

#[derive(Debug)]
struct Layer {
    digest: String,
    kind: LayerKind,
}

// === impl Session ===

impl Session<'_> {
    async fn manifest(&mut self, reference: &str) -> Result<Manifest, String> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        let accept = [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST].join(", ");
        let resp = self.get(&path, Some(&accept)).await?;
        let header_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
        let bytes = body(
            resp,
            &format!("the manifest of {}", self.repository),
            MAX_BYTES,
        )
        .await?;
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the manifest {reference} is not JSON: {e}"))?;
        let media_type = doc
            .get("mediaType")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or(header_type)
            .unwrap_or_else(|| OCI_MANIFEST.to_owned());
        Ok(Manifest {
            media_type,
            doc,
            bytes,
        })
    }

    async fn blob(&mut self, digest: &str) -> Result<Vec<u8>, String> {
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let resp = self.get(&path, None).await?;
        body(resp, &format!("blob {digest}"), MAX_BYTES).await
    }

    /// GET `path`; on the first 401 answers the registry's challenge and tries again.
    async fn get(&mut self, path: &str, accept: Option<&str>) -> Result<reqwest::Response, String> {
        let url = format!("{}{path}", self.base);
        for attempt in 0..2 {
            let mut req = self.client.get(&url);
            if let Some(a) = accept {
                req = req.header(reqwest::header::ACCEPT, a);
            }
            if let Some(auth) = &self.authorization {
                req = req.header(reqwest::header::AUTHORIZATION, auth);
            }
            let resp = send(req, &format!("GET {url}")).await?;
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = resp
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                self.authorization = Some(self.authorize(&challenge).await?);
                continue;
            }
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                let how = if self.credentials.is_some() {
                    "the imagePullSecret's credentials were refused"
                } else {
                    "the registry wants credentials: set spec.imagePullSecret"
                };
                return Err(format!("GET {url}: HTTP {}: {how}", status.as_u16()));
            }
            if !status.is_success() {
                return Err(format!("GET {url}: HTTP {}", status.as_u16()));
            }
            return Ok(resp);
        }
        Err(format!(
            "GET {url}: still unauthorized after answering the challenge"
        ))
    }

    /// The `Authorization` value that answers `challenge` (`Basic …` or `Bearer …`).
    async fn authorize(&self, challenge: &str) -> Result<String, String> {
        let (scheme, params) = parse_challenge(challenge);
        let basic = self.credentials.map(|c| {
            use base64::Engine as _;
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        });
        if scheme.eq_ignore_ascii_case("basic") {
            return basic.ok_or_else(|| {
                format!(
                    "{}: the registry wants credentials (basic auth): set spec.imagePullSecret",
                    self.base
                )
            });
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!(
                "{}: unsupported registry auth challenge {challenge:?}",
                self.base
            ));
        }
        let realm = param(&params, "realm")
            .ok_or_else(|| format!("{}: a bearer challenge without a realm", self.base))?;
        let scope = param(&params, "scope")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        let mut query = vec![("scope", scope)];
        if let Some(service) = param(&params, "service") {
            query.push(("service", service.to_owned()));
        }
        let mut req = self.client.get(realm).query(&query);
        if let Some(b) = &basic {
            req = req.header(reqwest::header::AUTHORIZATION, b);
        }
        let resp = send(req, &format!("token from {realm}")).await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("token from {realm}: HTTP {}", status.as_u16()));
        }
        let doc: Value = serde_json::from_slice(&body(resp, "the token", MAX_BYTES).await?)
            .map_err(|e| format!("token from {realm}: not JSON: {e}"))?;
        let token = doc
            .get("token")
            .or_else(|| doc.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| format!("token from {realm}: no token in the answer"))?;
        Ok(format!("Bearer {token}"))
    }
}

// === impl Manifest ===

impl Manifest {
    fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }

    /// The image of an index: `linux/amd64` or `wasi/wasm` when listed, else the first.
    fn pick_from_index(&self) -> Result<String, String> {
        let list = self
            .doc
            .get("manifests")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or("the image index lists no manifests")?;
        let platform = |m: &Value, os: &str, arch: &str| {
            let p = m.get("platform");
            p.and_then(|p| p.get("os")).and_then(Value::as_str) == Some(os)
                && p.and_then(|p| p.get("architecture"))
                    .and_then(Value::as_str)
                    == Some(arch)
        };
        let chosen = list
            .iter()
            .find(|m| platform(m, "linux", "amd64") || platform(m, "wasi", "wasm"))
            .unwrap_or(&list[0]);
        chosen
            .get("digest")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "an image index entry has no digest".to_owned())
    }

    /// The layer holding the module, by Istio's rules.
    fn wasm_layer(&self) -> Result<Layer, String> {
        let layers = self
            .doc
            .get("layers")
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
            .ok_or("the image has no layers")?;
        let descriptor = |l: &Value| {
            let media = l.get("mediaType").and_then(Value::as_str).unwrap_or("");
            let digest = l.get("digest").and_then(Value::as_str).unwrap_or("");
            (media.to_owned(), digest.to_owned())
        };
        let (last_type, last_digest) = descriptor(&layers[layers.len() - 1]);
        if last_type == OCI_LAYER || last_type == DOCKER_LAYER {
            return Ok(Layer {
                digest: last_digest,
                kind: LayerKind::TarGz,
            });
        }
        if self.media_type == DOCKER_MANIFEST {
            return Err(format!(
                "the last layer of a Docker image must be {DOCKER_LAYER}, not {last_type:?}"
            ));
        }
        layers
            .iter()
            .map(descriptor)
            .find(|(media, _)| media == WASM_LAYER)
            .map(|(_, digest)| Layer {
                digest,
                kind: LayerKind::Raw,
            })
            .ok_or_else(|| {
                format!(
                    "no Wasm layer: the last layer must be {OCI_LAYER} with {PLUGIN_FILE}, or a \
                     layer must be {WASM_LAYER}"
                )
            })
    }
}

/// `plugin.wasm` from a tar.gz layer.
fn extract_plugin(blob: &[u8]) -> Result<Vec<u8>, String> {
    let gz = flate2::read::GzDecoder::new(blob);
    let mut archive = tar::Archive::new(gz);
    let entries = archive
        .entries()
        .map_err(|e| format!("the layer is not a tar.gz: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the layer is not a tar.gz: {e}"))?;
        let is_plugin = entry
            .path()
            .ok()
            .and_then(|p| p.file_name().map(|n| n == PLUGIN_FILE))
            .unwrap_or(false);
        if !is_plugin || !entry.header().entry_type().is_file() {
            continue;
        }
        if entry.size() > MAX_BYTES as u64 {
            return Err(format!(
                "{PLUGIN_FILE} is larger than {} MiB",
                MAX_BYTES >> 20
            ));
        }
        let mut out = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut out)
            .map_err(|e| format!("reading {PLUGIN_FILE} from the layer: {e}"))?;
        return Ok(out);
    }
    Err(format!("{PLUGIN_FILE} not found in the layer"))
}

fn manifest_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", super::hex(&super::digest(bytes)))
}

fn check_digest(bytes: &[u8], digest: &str, what: &str) -> Result<(), String> {
    let want = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("{what}: unsupported digest {digest:?} (only sha256)"))?;
    let got = super::hex(&super::digest(bytes));
    if got.eq_ignore_ascii_case(want) {
        Ok(())
    } else {
        Err(format!(
            "{what} does not match its digest {digest} (sha256:{got})"
        ))
    }
}

/// `Bearer realm="…",service="…"` → `("Bearer", [(realm, …), (service, …)])`.
fn parse_challenge(header: &str) -> (&str, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((key, value.to_owned()));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme, params)
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(media_type: &str, layers: &[&str]) -> Manifest {
        let layers: Vec<Value> = layers
            .iter()
            .enumerate()
            .map(|(i, m)| serde_json::json!({"mediaType": m, "digest": format!("sha256:{i}")}))
            .collect();
        Manifest {
            media_type: media_type.into(),
            doc: serde_json::json!({ "layers": layers }),
            bytes: Vec::new(),
        }
    }

    #[test]
    fn the_wasm_layer_is_found_as_istio_finds_it() {
        let higress = manifest(
            OCI_MANIFEST,
            &[
                "application/vnd.module.wasm.spec.v1+yaml",
                "application/vnd.module.wasm.doc.v1+markdown",
                OCI_LAYER,
            ],
        );
        let l = higress.wasm_layer();
        assert!(
            matches!(l, Ok(Layer { ref digest, kind: LayerKind::TarGz }) if digest == "sha256:2"),
            "{l:?}"
        );
        let artifact = manifest(
            OCI_MANIFEST,
            &[WASM_LAYER, "application/vnd.module.wasm.config.v1+json"],
        );
        assert!(matches!(
            artifact.wasm_layer(),
            Ok(Layer {
                kind: LayerKind::Raw,
                ..
            })
        ));
        let docker = manifest(DOCKER_MANIFEST, &[DOCKER_LAYER]);
        assert!(matches!(
            docker.wasm_layer(),
            Ok(Layer {
                kind: LayerKind::TarGz,
                ..
            })
        ));
        let e = manifest(DOCKER_MANIFEST, &["text/plain"])
            .wasm_layer()
            .err()
            .unwrap_or_default();
        assert!(e.contains("last layer of a Docker image"), "{e}");
        let e = manifest(OCI_MANIFEST, &["text/plain"])
            .wasm_layer()
            .err()
            .unwrap_or_default();
        assert!(e.contains("no Wasm layer"), "{e}");
    }

    #[test]
    fn plugin_wasm_comes_out_of_a_tar_gz_layer() {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("README.md", &b"hi"[..]),
            ("./dist/plugin.wasm", b"\0asm\x01\0\0\0"),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, data).expect("tar");
        }
        let raw = tar.into_inner().expect("tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).expect("gzip");
        let blob = gz.finish().expect("gzip");
        assert_eq!(
            extract_plugin(&blob).as_deref(),
            Ok(&b"\0asm\x01\0\0\0"[..])
        );
        let e = extract_plugin(b"not gzip").err().unwrap_or_default();
        assert!(e.contains("not a tar.gz"), "{e}");
    }

    #[test]
    fn challenges_and_digests() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:plugins/x:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(param(&p, "realm"), Some("https://auth.example/token"));
        assert_eq!(param(&p, "service"), Some("registry.example"));
        assert_eq!(param(&p, "scope"), Some("repository:plugins/x:pull"));
        let (scheme, p) = parse_challenge(r#"Basic realm="basic-realm""#);
        assert_eq!((scheme, param(&p, "realm")), ("Basic", Some("basic-realm")));
        let d = format!("sha256:{}", super::super::hex(&super::super::digest(b"x")));
        assert_eq!(check_digest(b"x", &d, "blob"), Ok(()));
        assert!(check_digest(b"y", &d, "blob").is_err_and(|e| e.contains("does not match")));
    }
}
