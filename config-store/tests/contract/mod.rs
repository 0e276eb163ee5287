//! The store contract every [`ConfigStore`] must meet (addressed, versioned writes with
//! preconditions, the shared put check), run against each store by its own test file.

#![allow(clippy::unwrap_used, dead_code)]

use config_store::store::version_of;
use config_store::{ConfigStore, Precondition, ResourceKind, StoreError};

/// An Ingress document named `name` routing `host`.
pub fn ingress(name: &str, host: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\nspec:\n  rules:\n  - host: {host}\n"
    )
}

fn host_of(store: &dyn ConfigStore, name: &str) -> Option<String> {
    store
        .snapshot()
        .ingresses()
        .find(|e| e.ingress.metadata.name == name)
        .and_then(|e| e.ingress.spec.rules[0].host.clone())
}

/// Runs every contract check; `label` maps a name to the source label the store reports
/// (`ingresses/a.yaml`, `ingresses.a`).
pub async fn check(store: &dyn ConfigStore, label: impl Fn(&str) -> String) {
    let k = ResourceKind::Ingress;
    // Create: the version is the MD5 of what was stored, the snapshot has it.
    let body = ingress("seam-a", "a.com");
    let v1 = store
        .put(k, "seam-a", &body, Precondition::Absent)
        .await
        .unwrap();
    assert_eq!(v1, version_of(body.as_bytes()));
    assert_eq!(host_of(store, "seam-a").as_deref(), Some("a.com"));
    let doc = store.get(k, "seam-a").await.unwrap();
    assert_eq!(
        (doc.yaml.as_str(), doc.version.as_str()),
        (body.as_str(), v1.as_str())
    );
    assert_eq!(doc.source, label("seam-a"));
    let snapshot = store.snapshot();
    let object = snapshot.get(k, "seam-a").unwrap();
    assert_eq!(
        (&*object.version, object.source.as_str()),
        (v1.as_str(), doc.source.as_str())
    );

    // Create again → Conflict carrying the current version.
    let err = store
        .put(
            k,
            "seam-a",
            &ingress("seam-a", "x.com"),
            Precondition::Absent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { current: Some(v), .. } if *v == v1),
        "{err}"
    );

    // Update with the current version works; a stale one is refused and changes nothing.
    let body2 = ingress("seam-a", "b.com");
    let v2 = store
        .put(k, "seam-a", &body2, Precondition::Version(v1.clone()))
        .await
        .unwrap();
    assert_ne!(v1, v2);
    assert_eq!(host_of(store, "seam-a").as_deref(), Some("b.com"));
    let err = store
        .put(
            k,
            "seam-a",
            &ingress("seam-a", "c.com"),
            Precondition::Version(v1.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { current: Some(v), .. } if *v == v2),
        "{err}"
    );
    assert_eq!(host_of(store, "seam-a").as_deref(), Some("b.com"));
    let err = store
        .put(
            k,
            "seam-missing",
            &ingress("seam-missing", "c.com"),
            Precondition::Version(v1.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { current: None, .. }),
        "{err}"
    );

    // The shared put check: wrong kind, wrong name, several documents, invalid content.
    for (body, needle) in [
        (
            "kind: ConfigMap\nmetadata: {name: seam-a}\n".to_string(),
            "does not match the address",
        ),
        (ingress("other", "a.com"), "does not match the address"),
        (
            format!(
                "{}---\n{}",
                ingress("seam-a", "a.com"),
                ingress("seam-a", "a.com")
            ),
            "2 documents",
        ),
        (ingress("seam-a", "'bad host'"), "spec.rules[0].host"),
    ] {
        let err = store
            .put(k, "seam-a", &body, Precondition::Any)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    assert_eq!(store.get(k, "seam-a").await.unwrap().version, v2);

    // List is ordered by name and carries versions.
    store
        .put(k, "seam-b", &ingress("seam-b", "d.com"), Precondition::Any)
        .await
        .unwrap();
    let listed: Vec<(String, String)> = store
        .list(k)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.name.starts_with("seam-"))
        .map(|d| (d.name, d.version))
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0], ("seam-a".to_string(), v2.clone()));
    assert_eq!(listed[1].0, "seam-b");

    // Delete: a stale version is refused; then it goes, and a second delete is NotFound.
    let err = store
        .delete(k, "seam-a", Precondition::Version(v1.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    store
        .delete(k, "seam-a", Precondition::Version(v2.clone()))
        .await
        .unwrap();
    assert_eq!(host_of(store, "seam-a"), None);
    assert!(matches!(
        store.get(k, "seam-a").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete(k, "seam-a", Precondition::Any).await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete(k, "seam-b", Precondition::Any).await.unwrap();
    assert!(matches!(
        store
            .put(k, "../x", &ingress("x", "a.com"), Precondition::Any)
            .await,
        Err(StoreError::InvalidName(_))
    ));
}
