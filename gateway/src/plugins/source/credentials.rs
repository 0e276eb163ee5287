//! Registry credentials from a WasmPlugin's `imagePullSecret`: a Kubernetes Secret of type
//! `kubernetes.io/dockerconfigjson` (`.dockerconfigjson`) or the older `.dockercfg`, as
//! `docker login` writes them. Values never reach a log line or an error message.

use std::fmt;

use base64::Engine as _;
use config_store::resource::Secret;

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The credentials `secret` holds for `registry` (`host[:port]`), `Ok(None)` when it holds
/// none for that registry (the pull is then anonymous, as Docker's is).
pub fn for_registry(secret: &Secret, registry: &str) -> Result<Option<Credentials>, String> {
    let name = &secret.metadata.name;
    let (json, auths) = if let Some(v) = secret.data.get(".dockerconfigjson") {
        (v, true)
    } else if let Some(v) = secret.data.get(".dockercfg") {
        (v, false)
    } else {
        return Err(format!(
            "Secret {name:?} has no .dockerconfigjson (type kubernetes.io/dockerconfigjson)"
        ));
    };
    let doc: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| format!("Secret {name:?}: the docker config is not JSON ({e})"))?;
    let entries = if auths { doc.get("auths") } else { Some(&doc) };
    let Some(entries) = entries.and_then(|e| e.as_object()) else {
        return Ok(None);
    };
    let want = normalize(registry);
    let Some(entry) = entries
        .iter()
        .find(|(key, _)| normalize(key) == want)
        .map(|(_, v)| v)
    else {
        return Ok(None);
    };
    let text = |k: &str| entry.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if !text("username").is_empty() {
        return Ok(Some(Credentials {
            username: text("username").to_owned(),
            password: text("password").to_owned(),
        }));
    }
    let auth = text("auth");
    if auth.is_empty() {
        return Ok(None);
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| format!("Secret {name:?}: the auth of {registry} is not base64 text"))?;
    let (username, password) = decoded
        .split_once(':')
        .ok_or_else(|| format!("Secret {name:?}: the auth of {registry} is not user:password"))?;
    Ok(Some(Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    }))
}

/// A docker config key or registry name as a bare host: no scheme, no path; Docker Hub's
/// several names as one.
fn normalize(key: &str) -> String {
    let key = key
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = key.split('/').next().unwrap_or(key).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_owned()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(key: &str, json: &str) -> Secret {
        let mut s = Secret::default();
        s.metadata.name = "pull".into();
        s.data.insert(key.into(), json.as_bytes().to_vec());
        s
    }

    #[test]
    fn docker_login_configs_give_the_registry_s_credentials() {
        // base64("gantry:s3cret")
        let s = secret(
            ".dockerconfigjson",
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Z2FudHJ5OnMzY3JldA=="},"127.0.0.1:5000":{"username":"u","password":"p"}}}"#,
        );
        let hub = for_registry(&s, "docker.io").ok().flatten();
        assert_eq!(
            hub.map(|c| (c.username, c.password)),
            Some(("gantry".into(), "s3cret".into()))
        );
        let local = for_registry(&s, "127.0.0.1:5000").ok().flatten();
        assert_eq!(local.map(|c| c.username), Some("u".into()));
        assert_eq!(for_registry(&s, "other.example").ok(), Some(None));
        let old = secret(".dockercfg", r#"{"reg.example":{"auth":"YTpi"}}"#);
        assert_eq!(
            for_registry(&old, "reg.example")
                .ok()
                .flatten()
                .map(|c| c.password),
            Some("b".into())
        );
    }

    #[test]
    fn bad_secrets_say_what_without_their_values() {
        let e = for_registry(&secret("token", "x"), "r")
            .err()
            .unwrap_or_default();
        assert!(e.contains("no .dockerconfigjson"), "{e}");
        let s = secret(
            ".dockerconfigjson",
            r#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#,
        );
        let e = for_registry(&s, "r").err().unwrap_or_default();
        assert!(
            e.contains("not user:password") && !e.contains("bm9jb2xvbg"),
            "{e}"
        );
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
