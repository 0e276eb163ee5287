//! Writes through the directory store: the store contract, atomic writes, and resources
//! inside multi-document files replaced or deleted by name.

#![allow(clippy::unwrap_used)]

mod contract;

use std::path::Path;
use std::time::Duration;

use config_store::store::version_of;
use config_store::{
    ConfigStore, DirStore, Precondition, ResourceKind, StoreError, WatchMode, WatchOptions,
};

fn options() -> WatchOptions {
    // Only the store's own reloads: no watcher races the assertions.
    WatchOptions {
        mode: WatchMode::Poll,
        poll_interval: Duration::from_secs(3600),
        ..WatchOptions::default()
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn dir_store_meets_the_store_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path(), options()).unwrap();
    contract::check(&store, |name| format!("ingresses/{name}.yaml")).await;
    assert!(!dir.path().join("ingresses/seam-a.yaml").exists());
}

#[tokio::test]
async fn writes_are_atomic_and_respect_a_writer_at_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::open(dir.path(), options()).unwrap();
    let k = ResourceKind::Ingress;
    store
        .put(k, "r", &contract::ingress("r", "a.com"), Precondition::Any)
        .await
        .unwrap();
    assert!(dir.path().join("ingresses/r.yaml").is_file());
    assert!(!dir.path().join("ingresses/r.yaml.tmp").exists());
    std::fs::write(dir.path().join("ingresses/r.yaml.tmp"), "in progress").unwrap();
    let err = store
        .put(k, "r", &contract::ingress("r", "b.com"), Precondition::Any)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
}

#[tokio::test]
async fn opening_a_missing_directory_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = DirStore::open(&missing, options()).err().unwrap();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(!missing.exists(), "no empty skeleton is created");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    assert!(DirStore::open(&file, options()).is_err());
}

const MULTI: &str = "# two routes\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\nspec:\n  rules:\n  - host: a.com\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: b\nspec:\n  rules:\n  - host: b.com\n";

fn hosts(store: &DirStore) -> Vec<(String, String)> {
    store
        .snapshot()
        .ingresses()
        .map(|e| {
            (
                e.ingress.metadata.name.clone(),
                e.ingress.spec.rules[0].host.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_resource_in_a_multi_document_file_is_replaced_and_deleted_by_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/all.yaml", MULTI);
    let store = DirStore::open(dir.path(), options()).unwrap();
    let k = ResourceKind::Ingress;

    let b = store.get(k, "b").await.unwrap();
    assert_eq!(b.source, "ingresses/all.yaml");
    assert_eq!(b.version, version_of(MULTI.as_bytes()));
    assert!(
        b.yaml.starts_with("apiVersion") && b.yaml.contains("b.com"),
        "{}",
        b.yaml
    );
    assert_eq!(store.list(k).await.unwrap().len(), 2);

    // Replace b in place: a is untouched, no ingresses/b.yaml appears.
    let v = store
        .put(
            k,
            "b",
            &contract::ingress("b", "b2.com"),
            Precondition::Version(b.version.clone()),
        )
        .await
        .unwrap();
    assert!(!dir.path().join("ingresses/b.yaml").exists());
    let text = std::fs::read_to_string(dir.path().join("ingresses/all.yaml")).unwrap();
    assert_eq!(v, version_of(text.as_bytes()));
    assert!(text.starts_with("# two routes\n"), "{text}");
    assert_eq!(
        hosts(&store),
        vec![("a".into(), "a.com".into()), ("b".into(), "b2.com".into())]
    );
    // The sibling's version moved with the file: a stale write to it is refused.
    let err = store
        .put(
            k,
            "a",
            &contract::ingress("a", "x.com"),
            Precondition::Version(b.version),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");

    // Delete a: b alone would be renamed after the file, so it moves to its own file.
    store.delete(k, "a", Precondition::Any).await.unwrap();
    assert_eq!(hosts(&store), vec![("b".into(), "b2.com".into())]);
    assert!(!dir.path().join("ingresses/all.yaml").exists());
    assert_eq!(store.get(k, "b").await.unwrap().source, "ingresses/b.yaml");
    store.delete(k, "b", Precondition::Any).await.unwrap();
    assert!(hosts(&store).is_empty());

    // With three documents, deleting one keeps the other two in the file.
    write(
        dir.path(),
        "ingresses/three.yaml",
        &format!(
            "{MULTI}---
{}",
            contract::ingress("c", "c.com")
        ),
    );
    store.reload().await;
    store.delete(k, "b", Precondition::Any).await.unwrap();
    let names: Vec<String> = hosts(&store).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["a", "c"]);
    assert_eq!(
        store.get(k, "c").await.unwrap().source,
        "ingresses/three.yaml"
    );
}
