//! A failed read is not a deletion: the directory store keeps the last good resources of
//! whatever it cannot read (root gone or replaced, kind directory replaced, unreadable or
//! truncated or oversized file), reports it, and deletes only what a listing no longer holds.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config_store::{
    ConfigStore, DirStore, Limits, ResourceKind, Snapshot, WatchMode, WatchOptions,
};

fn ingress(host: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: r\nspec:\n  rules:\n  - host: {host}\n"
    )
}

/// A config root inside a scratch parent, so the root itself can be renamed and replaced.
struct Root {
    parent: tempfile::TempDir,
}

impl Root {
    fn new() -> Self {
        let root = Self {
            parent: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(root.path().join("ingresses")).unwrap();
        root
    }

    fn path(&self) -> PathBuf {
        self.parent.path().join("config")
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn aside(&self) -> PathBuf {
        self.parent.path().join("config.moved")
    }
}

/// A store that only reloads when told to, so each step is deterministic.
fn open(root: &Path, limits: Limits) -> DirStore {
    DirStore::open(
        root,
        WatchOptions {
            mode: WatchMode::Poll,
            poll_interval: Duration::from_secs(3600),
            limits,
        },
    )
    .unwrap()
}

fn host(s: &Snapshot) -> Option<String> {
    s.ingresses()
        .next()
        .and_then(|e| e.ingress.spec.rules[0].host.clone())
}

fn stale(s: &Snapshot) -> bool {
    s.get(ResourceKind::Ingress, "r").unwrap().stale
}

fn errors(s: &Snapshot) -> Vec<String> {
    s.errors().map(ToString::to_string).collect()
}

/// True when this process reads files whatever their mode bits (root, CAP_DAC_OVERRIDE).
fn mode_bits_do_not_block(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o000)).unwrap();
    let reads = fs::read(path).is_ok() || fs::read_dir(path).is_ok();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
    reads
}

#[tokio::test]
async fn root_gone_or_replaced_by_a_file_keeps_everything() {
    let root = Root::new();
    root.write("ingresses/r.yaml", &ingress("a.com"));
    let store = open(&root.path(), Limits::default());
    assert_eq!(host(&store.snapshot()).as_deref(), Some("a.com"));

    // Renamed away: the listing fails, nothing is deleted.
    fs::rename(root.path(), root.aside()).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(stale(&s));
    assert_eq!(
        errors(&s),
        ["error: .: the config root is gone; the last good configuration stays in force"]
    );

    // A file where the root was.
    fs::write(root.path(), "not a directory").unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert_eq!(
        errors(&s),
        ["error: .: the config root is not a directory; the last good configuration stays in force"]
    );

    // Back again: fresh, no error.
    fs::remove_file(root.path()).unwrap();
    fs::rename(root.aside(), root.path()).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(!stale(&s));
    assert!(s.diagnostics().is_empty(), "{:?}", s.diagnostics());
}

#[tokio::test]
async fn kind_directory_replaced_by_a_file_keeps_its_resources() {
    let root = Root::new();
    root.write("ingresses/r.yaml", &ingress("a.com"));
    let store = open(&root.path(), Limits::default());

    let ingresses = root.path().join("ingresses");
    let aside = root.parent.path().join("ingresses.moved");
    fs::rename(&ingresses, &aside).unwrap();
    fs::write(&ingresses, "oops").unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(stale(&s));
    assert_eq!(
        errors(&s),
        ["error: ingresses: is a file, not a directory; the last good versions of its resources stay in force"]
    );

    // Removing the directory for good is a deletion: the root listing no longer holds it.
    fs::remove_file(&ingresses).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(s.ingresses().count(), 0);
    assert!(s.diagnostics().is_empty(), "{:?}", s.diagnostics());
}

#[tokio::test]
async fn unreadable_file_and_directory_keep_their_resources() {
    use std::os::unix::fs::PermissionsExt;
    let root = Root::new();
    root.write("ingresses/r.yaml", &ingress("a.com"));
    let file = root.path().join("ingresses/r.yaml");
    if mode_bits_do_not_block(&file) {
        eprintln!("skipped: this process reads files whatever their mode (running as root)");
        return;
    }
    let store = open(&root.path(), Limits::default());

    fs::set_permissions(&file, fs::Permissions::from_mode(0o000)).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(stale(&s));
    let e = errors(&s);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("error: ingresses/r.yaml: cannot read file (Permission denied"),
        "{e:?}"
    );
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();

    let dir = root.path().join("ingresses");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    store.reload().await;
    let s = store.snapshot();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    let e = errors(&s);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("error: ingresses: cannot read directory (Permission denied"),
        "{e:?}"
    );

    store.reload().await;
    assert!(store.snapshot().diagnostics().is_empty());
}

#[tokio::test]
async fn truncated_file_keeps_its_last_good_version_until_deleted() {
    let root = Root::new();
    root.write("ingresses/r.yaml", &ingress("a.com"));
    let store = open(&root.path(), Limits::default());
    let file = root.path().join("ingresses/r.yaml");

    fs::write(&file, "").unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(stale(&s));
    let e = errors(&s);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("error: ingresses/r.yaml: file is empty (0 bytes)"),
        "{e:?}"
    );

    // The editor finishes its save.
    fs::write(&file, ingress("b.com")).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("b.com"));
    assert!(s.diagnostics().is_empty());

    // Deleting is a deletion.
    fs::write(&file, "").unwrap();
    store.reload().await;
    fs::remove_file(&file).unwrap();
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(s.ingresses().count(), 0);
    assert!(s.diagnostics().is_empty(), "{:?}", s.diagnostics());
}

#[test]
fn a_new_empty_file_is_only_a_warning() {
    let root = Root::new();
    root.write("ingresses/new.yaml", "");
    let s = DirStore::load(&root.path()).unwrap();
    let all: Vec<String> = s.diagnostics().iter().map(ToString::to_string).collect();
    assert_eq!(
        all,
        ["warning: ingresses/new.yaml: empty file; nothing to load"]
    );
}

#[tokio::test]
async fn oversized_file_keeps_its_last_good_version() {
    let root = Root::new();
    root.write("ingresses/r.yaml", &ingress("a.com"));
    let store = open(&root.path(), Limits::with_max_file_size(1024));

    let big = format!("{}# {}\n", ingress("b.com"), "x".repeat(2000));
    root.write("ingresses/r.yaml", &big);
    store.reload().await;
    let s = store.snapshot();
    assert_eq!(host(&s).as_deref(), Some("a.com"));
    assert!(stale(&s));
    let e = errors(&s);
    assert_eq!(
        e,
        [format!(
            "error: ingresses/r.yaml: file is {} bytes, over the 1 KiB limit (raise it with --max-file-size); not read",
            big.len()
        )]
    );
    // With a higher limit the same file loads.
    let s = DirStore::load_with(&root.path(), Limits::with_max_file_size(1 << 20)).unwrap();
    assert_eq!(host(&s).as_deref(), Some("b.com"));
}
