//! The directory store against a real temp directory: loading, writes, and each watch mode.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use config_store::{
    ConfigStore, DirStore, ResourceKind, Snapshot, StoreError, WatchMode, WatchOptions,
};

fn ingress(host: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: r\nspec:\n  rules:\n  - host: {host}\n"
    )
}

fn host_of(s: &Snapshot) -> Option<String> {
    s.ingresses()
        .next()
        .and_then(|e| e.ingress.spec.rules[0].host.clone())
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Waits until the store publishes a snapshot with `host`, or the deadline passes.
async fn wait_for_host(store: &DirStore, host: &str, deadline: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut rx = store.subscribe();
    loop {
        if host_of(&rx.borrow_and_update()).as_deref() == Some(host) {
            return Some(start.elapsed());
        }
        let left = deadline.checked_sub(start.elapsed())?;
        if tokio::time::timeout(left, rx.changed()).await.is_err() {
            return None;
        }
    }
}

fn options(mode: WatchMode, poll_ms: u64) -> WatchOptions {
    WatchOptions {
        mode,
        poll_interval: Duration::from_millis(poll_ms),
        ..WatchOptions::default()
    }
}

#[tokio::test]
async fn loads_the_standalone_layout_and_reports_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/r.yaml", &ingress("a.com"));
    write(dir.path(), "ingresses/bad.yaml", "kind: [");
    write(dir.path(), "ingresses/skipped.yml", &ingress("b.com"));
    write(dir.path(), "envoyfilters/x.yaml", "kind: EnvoyFilter");
    let snapshot = DirStore::load(dir.path()).unwrap();
    assert_eq!(host_of(&snapshot).as_deref(), Some("a.com"));
    let errors: Vec<String> = snapshot.errors().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("error: ingresses/bad.yaml: invalid YAML"),
        "{errors:?}"
    );
    assert!(DirStore::load(&dir.path().join("missing")).is_err());
}

#[tokio::test]
async fn put_and_delete_go_through_validation_and_atomic_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path(), options(WatchMode::Poll, 60_000)).unwrap();
    store
        .put(ResourceKind::Ingress, "r", &ingress("a.com"))
        .await
        .unwrap();
    assert_eq!(host_of(&store.snapshot()).as_deref(), Some("a.com"));
    assert!(dir.path().join("ingresses/r.yaml").is_file());
    assert!(!dir.path().join("ingresses/r.yaml.tmp").exists());

    let err = store
        .put(ResourceKind::Ingress, "r", &ingress("bad host"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("spec.rules[0].host"), "{err}");
    assert_eq!(host_of(&store.snapshot()).as_deref(), Some("a.com"));

    std::fs::write(dir.path().join("ingresses/r.yaml.tmp"), "in progress").unwrap();
    let err = store
        .put(ResourceKind::Ingress, "r", &ingress("b.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    std::fs::remove_file(dir.path().join("ingresses/r.yaml.tmp")).unwrap();

    assert!(matches!(
        store
            .put(ResourceKind::Ingress, "../x", &ingress("a.com"))
            .await,
        Err(StoreError::InvalidName(_))
    ));
    store.delete(ResourceKind::Ingress, "r").await.unwrap();
    assert_eq!(store.snapshot().ingresses().count(), 0);
    assert!(matches!(
        store.delete(ResourceKind::Ingress, "r").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn events_mode_applies_an_edit_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/r.yaml", &ingress("a.com"));
    let store = DirStore::open(dir.path(), options(WatchMode::Events, 60_000)).unwrap();
    assert_eq!(host_of(&store.snapshot()).as_deref(), Some("a.com"));
    write(dir.path(), "ingresses/r.yaml", &ingress("b.com"));
    let took = wait_for_host(&store, "b.com", Duration::from_secs(1)).await;
    assert!(took.is_some(), "edit not applied within 1 s in events mode");
}

#[tokio::test]
async fn poll_mode_applies_an_edit_within_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/r.yaml", &ingress("a.com"));
    let store = DirStore::open(dir.path(), options(WatchMode::Poll, 300)).unwrap();
    write(dir.path(), "ingresses/r.yaml", &ingress("b.com"));
    // One interval plus scheduling slack.
    let took = wait_for_host(&store, "b.com", Duration::from_millis(300 + 400)).await;
    assert!(took.is_some(), "edit not applied within one poll interval");
}

/// Docker Desktop bind mounts from Windows raise no file events in the container. Writing
/// through a hard link outside the watched tree reproduces that: the inode changes but no
/// event reaches the watched directory. `auto` must still see it; `events` alone must not
/// (which shows the case really raises no event).
#[tokio::test]
async fn auto_mode_sees_edits_that_raise_no_events() {
    let outside = tempfile::tempdir().unwrap();
    for (mode, expect_seen) in [(WatchMode::Auto, true), (WatchMode::Events, false)] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "ingresses/r.yaml", &ingress("a.com"));
        let link = outside.path().join(format!("{mode:?}.yaml"));
        std::fs::hard_link(dir.path().join("ingresses/r.yaml"), &link).unwrap();
        let store = Arc::new(DirStore::open(dir.path(), options(mode, 300)).unwrap());
        // Let the poller take its first look before editing.
        tokio::time::sleep(Duration::from_millis(400)).await;
        std::fs::write(&link, ingress("b.com")).unwrap();
        let seen = wait_for_host(&store, "b.com", Duration::from_millis(1500))
            .await
            .is_some();
        assert_eq!(seen, expect_seen, "mode {mode:?}");
    }
}
