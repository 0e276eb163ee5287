//! `--config` locations as Higress's installer accepts them: a directory (`file:///abs`,
//! `file://~/dir`, `./dir`, `/abs`, `~/dir`, `file:///c:/dir` on Windows) or a Nacos server
//! (`nacos://host:port`), each naming one store.

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Context};
use config_store::{DirStore, Limits, Snapshot};

/// Where the configuration lives: which store to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// A directory in the Higress standalone layout.
    Dir(PathBuf),
    /// A Nacos server, `host:port` of its HTTP API.
    Nacos(String),
}

// === impl ConfigLocation ===

impl ConfigLocation {
    /// Reads the configuration once within `limits`, without watching (`gantry validate`,
    /// `gantry routes`).
    pub fn load_once(&self, limits: Limits) -> anyhow::Result<Snapshot> {
        match self {
            ConfigLocation::Dir(root) => DirStore::load_with(root, limits)
                .with_context(|| format!("--config {}", root.display())),
            ConfigLocation::Nacos(addr) => bail!(
                "--config nacos://{addr}: the Nacos store is not available in this build yet; use a directory"
            ),
        }
    }
}

impl fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigLocation::Dir(root) => write!(f, "{}", root.display()),
            ConfigLocation::Nacos(addr) => write!(f, "nacos://{addr}"),
        }
    }
}

/// Resolves a `--config` value to a store location (a directory is not required to exist).
pub fn resolve(raw: &str) -> anyhow::Result<ConfigLocation> {
    if let Some(addr) = raw.strip_prefix("nacos://") {
        let addr = addr.trim_end_matches('/');
        if addr.is_empty() {
            bail!("--config {raw}: give the Nacos server as nacos://host:port");
        }
        return Ok(ConfigLocation::Nacos(addr.to_string()));
    }
    resolve_dir(raw).map(ConfigLocation::Dir)
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
            resolve("nacos://10.0.0.1:8848/").unwrap(),
            ConfigLocation::Nacos("10.0.0.1:8848".into())
        );
        assert!(resolve("nacos://").is_err());
        assert!(resolve("").is_err());
    }
}
