//! `--config` locations as Higress's installer accepts them: a directory (`file:///abs`,
//! `file://~/dir`, `./dir`, `/abs`, `~/dir`, `file:///c:/dir` on Windows) or a Nacos server
//! (`nacos://host:port`, optionally `/namespace`), each naming one store.

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Context};
use config_store::{DirStore, Limits, NacosOptions, NacosStore, Snapshot};

use crate::nacos_args::NacosArgs;

/// Where the configuration lives: which store to open.
#[derive(Debug, Clone)]
pub enum ConfigLocation {
    /// A directory in the Higress standalone layout.
    Dir(PathBuf),
    /// A Nacos namespace: the server's `host:port` (HTTP API), namespace and access.
    Nacos(NacosOptions),
}

// === impl ConfigLocation ===

impl ConfigLocation {
    /// Reads the configuration once within `limits`, without watching (`gantry validate`,
    /// `gantry routes`).
    pub fn load_once(&self, limits: Limits) -> anyhow::Result<Snapshot> {
        match self {
            ConfigLocation::Dir(root) => DirStore::load_with(root, limits)
                .with_context(|| format!("--config {}", root.display())),
            ConfigLocation::Nacos(options) => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .context("cannot start a runtime to read Nacos")?;
                runtime
                    .block_on(NacosStore::load(options))
                    .with_context(|| format!("--config {}", options.describe()))
            }
        }
    }
}

impl PartialEq for ConfigLocation {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ConfigLocation::Dir(a), ConfigLocation::Dir(b)) => a == b,
            (ConfigLocation::Nacos(a), ConfigLocation::Nacos(b)) => a.describe() == b.describe(),
            _ => false,
        }
    }
}

impl Eq for ConfigLocation {}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigLocation::Dir(root) => write!(f, "{}", root.display()),
            ConfigLocation::Nacos(options) => f.write_str(&options.describe()),
        }
    }
}

/// Resolves a `--config` value to a store location (a directory is not required to exist),
/// with Nacos defaults (namespace `higress-system` unless the URL names one).
pub fn resolve(raw: &str) -> anyhow::Result<ConfigLocation> {
    if raw.starts_with("nacos://") {
        return nacos(raw).map(|(options, _)| ConfigLocation::Nacos(options));
    }
    resolve_dir(raw).map(ConfigLocation::Dir)
}

/// Like [`resolve`], with the `--nacos-*` flags applied to a Nacos location.
pub fn resolve_with(raw: &str, flags: &NacosArgs) -> anyhow::Result<ConfigLocation> {
    if raw.starts_with("nacos://") {
        let (mut options, namespace_in_url) = nacos(raw)?;
        flags.apply(&mut options, namespace_in_url);
        return Ok(ConfigLocation::Nacos(options));
    }
    resolve_dir(raw).map(ConfigLocation::Dir)
}

/// `nacos://host:port[/namespace]` → options, and whether the URL named the namespace.
fn nacos(raw: &str) -> anyhow::Result<(NacosOptions, bool)> {
    let rest = raw.trim_start_matches("nacos://").trim_end_matches('/');
    let (server, namespace) = match rest.split_once('/') {
        Some((server, ns)) => (server, Some(ns)),
        None => (rest, None),
    };
    let valid_port = server
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !valid_port {
        bail!("--config {raw}: give the Nacos server as nacos://host:port (its HTTP port, usually 8848)");
    }
    if namespace.is_some_and(|ns| ns.is_empty() || ns.contains(['/', '?', '#'])) {
        bail!("--config {raw}: the namespace after host:port must be one path segment");
    }
    let mut options = NacosOptions::new(server);
    if let Some(ns) = namespace {
        options.namespace = ns.to_string();
    }
    Ok((options, namespace.is_some()))
}

/// Resolves a directory location to its path.
fn resolve_dir(raw: &str) -> anyhow::Result<PathBuf> {
    let path = raw
        .strip_prefix("file://")
        .unwrap_or(raw)
        .replace('\\', "/");
    if path.is_empty() {
        bail!("--config is empty: give a directory such as ./conf or file:///etc/gantry");
    }
    // `file:///c:/dir` → `c:/dir`.
    let path = match path.as_bytes() {
        [b'/', drive, b':', ..] if drive.is_ascii_alphabetic() => path[1..].to_string(),
        _ => path,
    };
    let expanded = if let Some(rest) =
        path.strip_prefix("~/")
            .or(if path == "~" { Some("") } else { None })
    {
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .context("--config uses ~ but HOME is not set")?;
        PathBuf::from(home).join(rest)
    } else {
        PathBuf::from(path)
    };
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(p: &str) -> ConfigLocation {
        ConfigLocation::Dir(PathBuf::from(p))
    }

    #[test]
    fn forms() {
        assert_eq!(resolve("file:///opt/conf").unwrap(), dir("/opt/conf"));
        assert_eq!(resolve("./conf").unwrap(), dir("./conf"));
        assert_eq!(resolve("/abs").unwrap(), dir("/abs"));
        assert_eq!(resolve("file:///c:/temp/x").unwrap(), dir("c:/temp/x"));
        let home = PathBuf::from(std::env::var("HOME").unwrap());
        assert_eq!(
            resolve("file://~/higress/conf").unwrap(),
            ConfigLocation::Dir(home.join("higress/conf"))
        );
        assert_eq!(
            resolve("nacos://10.0.0.1:8848/").unwrap().to_string(),
            "nacos://10.0.0.1:8848/higress-system"
        );
        assert_eq!(
            resolve("nacos://10.0.0.1:8848/team-a").unwrap().to_string(),
            "nacos://10.0.0.1:8848/team-a"
        );
        assert!(resolve("nacos://").is_err());
        assert!(resolve("nacos://10.0.0.1").is_err());
        assert!(resolve("nacos://10.0.0.1:8848/a/b").is_err());
        assert!(resolve("").is_err());
    }
}
