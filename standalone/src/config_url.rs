//! `--config` locations as Higress's installer accepts them: `file:///abs`, `file://~/dir`,
//! `./dir`, `/abs`, `~/dir` (and `file:///c:/dir` on Windows).

use std::path::PathBuf;

use anyhow::{bail, Context};

/// Resolves a `--config` value to a directory path (not required to exist).
pub fn resolve(raw: &str) -> anyhow::Result<PathBuf> {
    if raw.starts_with("nacos://") {
        bail!(
            "--config {raw}: the Nacos store is not available in this build yet; use a directory"
        );
    }
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

    #[test]
    fn forms() {
        assert_eq!(
            resolve("file:///opt/conf").unwrap(),
            PathBuf::from("/opt/conf")
        );
        assert_eq!(resolve("./conf").unwrap(), PathBuf::from("./conf"));
        assert_eq!(resolve("/abs").unwrap(), PathBuf::from("/abs"));
        assert_eq!(
            resolve("file:///c:/temp/x").unwrap(),
            PathBuf::from("c:/temp/x")
        );
        let home = PathBuf::from(std::env::var("HOME").unwrap());
        assert_eq!(
            resolve("file://~/higress/conf").unwrap(),
            home.join("higress/conf")
        );
        assert!(resolve("nacos://10.0.0.1:8848").is_err());
        assert!(resolve("").is_err());
    }
}
