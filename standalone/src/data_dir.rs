//! `--data-dir`: the directory where Gantry keeps its own state (the socket that hands the
//! listeners to a new process on upgrade, the last good config snapshot). Only Gantry's user
//! may write there: whoever can create files in it could take over the listening sockets.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// The default data directory when Gantry runs as root.
const ROOT_DEFAULT: &str = "/var/lib/gantry";

/// Group- or world-writable permission bits.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// The sticky bit: in such a directory (`/tmp`) others cannot rename or delete our entries.
const STICKY: u32 = 0o1000;

/// A resolved data directory: it exists, is owned by this user and only this user can write
/// it, and every directory above it is safe as well.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
}

// === impl DataDir ===

impl DataDir {
    /// Resolves `flag` (`--data-dir` / `GANTRY_DATA_DIR`) or the default, creates it with mode
    /// 0700 when missing, and checks that only this user can write it.
    pub fn resolve(flag: Option<&Path>) -> anyhow::Result<Self> {
        let path = match flag {
            Some(path) => path.to_path_buf(),
            None => default_path()?,
        };
        let path = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .context("cannot read the current directory")?
                .join(path)
        };
        Self::open(path)
    }

    /// Creates `path` (mode 0700) if missing and checks it.
    pub fn open(path: PathBuf) -> anyhow::Result<Self> {
        if !path.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&path)
                .with_context(|| {
                    format!("cannot create data dir {} (--data-dir)", path.display())
                })?;
        }
        check(&path, euid())?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The unix socket over which a running Gantry hands its listening sockets to the
    /// `--upgrade` process.
    pub fn upgrade_socket(&self) -> PathBuf {
        self.path.join("upgrade.sock")
    }
}

/// `/var/lib/gantry` as root, else `$XDG_DATA_HOME/gantry` or `~/.local/share/gantry`.
fn default_path() -> anyhow::Result<PathBuf> {
    if euid() == 0 {
        return Ok(PathBuf::from(ROOT_DEFAULT));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        if xdg.is_absolute() {
            return Ok(xdg.join("gantry"));
        }
    }
    match std::env::var_os("HOME").map(PathBuf::from) {
        Some(home) if home.is_absolute() => Ok(home.join(".local/share/gantry")),
        _ => bail!("no data dir: HOME is not set; pass --data-dir (or GANTRY_DATA_DIR)"),
    }
}

/// Refuses `dir` unless it is a directory owned by `uid` that neither group nor others can
/// write, under directories that only `uid` or root can change (or that are sticky).
fn check(dir: &Path, uid: u32) -> anyhow::Result<()> {
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot read data dir {} (--data-dir)", dir.display()))?;
    if !meta.is_dir() {
        bail!("data dir {} is not a directory (--data-dir)", dir.display());
    }
    if meta.uid() != uid {
        bail!(
            "data dir {} belongs to uid {}, not to this user (uid {uid}): refusing it, since \
             its owner could take over the listening sockets; pick another --data-dir or chown it",
            dir.display(),
            meta.uid()
        );
    }
    let mode = meta.permissions().mode();
    if mode & WRITABLE_BY_OTHERS != 0 {
        bail!(
            "data dir {} is writable by group or others (mode {:o}): refusing it, since they \
             could take over the listening sockets; run `chmod 700 {}` or pick another --data-dir",
            dir.display(),
            mode & 0o7777,
            dir.display()
        );
    }
    let canonical = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve data dir {}", dir.display()))?;
    for ancestor in canonical.ancestors().skip(1) {
        let meta = std::fs::metadata(ancestor)
            .with_context(|| format!("cannot read {}", ancestor.display()))?;
        let mode = meta.permissions().mode();
        let owner_ok = meta.uid() == uid || meta.uid() == 0;
        let open = mode & WRITABLE_BY_OTHERS != 0 && mode & STICKY == 0;
        if !owner_ok || open {
            bail!(
                "data dir {} is under {} (uid {}, mode {:o}), which others can change: \
                 refusing it; pick another --data-dir",
                dir.display(),
                ancestor.display(),
                meta.uid(),
                mode & 0o7777
            );
        }
    }
    Ok(())
}

/// This process's effective user id.
fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn dir_with_mode(mode: u32) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        (tmp, dir)
    }

    #[test]
    fn creates_a_private_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b");
        let dir = DataDir::open(path.clone()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(dir.upgrade_socket(), path.join("upgrade.sock"));
    }

    #[test]
    fn refuses_a_world_writable_dir() {
        let (_tmp, dir) = dir_with_mode(0o777);
        let e = DataDir::open(dir.clone()).unwrap_err().to_string();
        assert!(e.contains("writable by group or others"), "{e}");
        assert!(e.contains(&dir.display().to_string()), "{e}");
    }

    #[test]
    fn refuses_a_group_writable_dir() {
        let (_tmp, dir) = dir_with_mode(0o770);
        assert!(DataDir::open(dir).is_err());
    }

    #[test]
    fn refuses_a_dir_of_another_user() {
        let (_tmp, dir) = dir_with_mode(0o700);
        let e = check(&dir, euid() + 1).unwrap_err().to_string();
        assert!(e.contains("not to this user"), "{e}");
    }

    #[test]
    fn refuses_a_dir_under_an_open_parent() {
        let (_tmp, open) = dir_with_mode(0o777);
        let inner = open.join("inner");
        std::fs::create_dir(&inner).unwrap();
        std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700)).unwrap();
        let e = DataDir::open(inner).unwrap_err().to_string();
        assert!(e.contains("which others can change"), "{e}");
    }

    #[test]
    fn accepts_a_dir_under_a_sticky_parent() {
        let (_tmp, sticky) = dir_with_mode(0o1777);
        let inner = sticky.join("inner");
        assert!(DataDir::open(inner).is_ok());
    }
}
