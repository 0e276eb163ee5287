//! The Nacos store against a real Nacos-protocol server (rnacos): the store contract,
//! Higress standalone's layout, Secret encryption, pushes, auth.

#![allow(clippy::unwrap_used)]

mod contract;

use std::time::{Duration, Instant};

use config_store::nacos::crypto::Cipher;
use config_store::store::version_of;
use config_store::{
    ConfigStore, NacosOptions, NacosStore, Precondition, ResourceKind, Snapshot, StoreError,
};
use gantry_tests::rnacos::ADMIN;
use gantry_tests::Rnacos;

const NS: &str = "higress-system";
const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn options(nacos: &Rnacos) -> NacosOptions {
    NacosOptions::new(nacos.addr())
}

fn host_of(s: &Snapshot, name: &str) -> Option<String> {
    s.ingresses()
        .find(|e| e.ingress.metadata.name == name)
        .and_then(|e| e.ingress.spec.rules[0].host.clone())
}

/// Waits until the store's snapshot satisfies `check`; returns how long it took.
async fn wait_for(
    store: &NacosStore,
    deadline: Duration,
    check: impl Fn(&Snapshot) -> bool,
) -> Option<Duration> {
    let start = Instant::now();
    let mut rx = store.subscribe();
    loop {
        if check(&rx.borrow_and_update()) {
            return Some(start.elapsed());
        }
        let left = deadline.checked_sub(start.elapsed())?;
        if tokio::time::timeout(left, rx.changed()).await.is_err() {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nacos_store_meets_the_store_contract() {
    let nacos = Rnacos::start().await;
    let store = NacosStore::open(options(&nacos)).await.unwrap();
    assert!(store.state().is_ok(), "{:?}", store.state());
    contract::check(&store, |name| format!("ingresses.{name}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_keep_higress_standalone_layout() {
    let nacos = Rnacos::start().await;
    let store = NacosStore::open(options(&nacos)).await.unwrap();
    let k = ResourceKind::Ingress;
    let body = contract::ingress("route-a", "a.com");
    store
        .put(k, "route-a", &body, Precondition::Absent)
        .await
        .unwrap();
    store
        .put(
            k,
            "route-b",
            &contract::ingress("route-b", "b.com"),
            Precondition::Absent,
        )
        .await
        .unwrap();
    // dataId <plural>.<name> in group higress-system, content = the YAML as given.
    assert_eq!(
        nacos.get(NS, NS, "ingresses.route-a").await.as_deref(),
        Some(body.as_str())
    );
    assert_eq!(
        nacos
            .get(NS, "DEFAULT_GROUP", "ingresses.__names__")
            .await
            .as_deref(),
        Some("higress-system/ingresses.route-a\nhigress-system/ingresses.route-b\n")
    );
    store.delete(k, "route-a", Precondition::Any).await.unwrap();
    store.delete(k, "route-b", Precondition::Any).await.unwrap();
    assert_eq!(nacos.get(NS, NS, "ingresses.route-a").await, None);
    assert_eq!(
        nacos
            .get(NS, "DEFAULT_GROUP", "ingresses.__names__")
            .await
            .as_deref(),
        Some("EMPTY")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_what_higress_wrote_and_follows_pushes() {
    let nacos = Rnacos::start().await;
    // As Higress standalone stores them: full K8s YAML, names index in the Create form.
    let higress_yaml = |host: &str| {
        format!(
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: route-a\n  namespace: higress-system\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\nspec:\n  rules:\n  - host: {host}\n"
        )
    };
    nacos
        .publish(NS, NS, "ingresses.route-a", &higress_yaml("a.com"))
        .await;
    nacos
        .publish(
            NS,
            "DEFAULT_GROUP",
            "ingresses.__names__",
            "higress-system/route-a\n",
        )
        .await;
    nacos
        .publish(NS, NS, "ingressclasses.higress", "kind: IngressClass\n")
        .await;
    let store = NacosStore::open(options(&nacos)).await.unwrap();
    let snapshot = store.snapshot();
    assert_eq!(host_of(&snapshot, "route-a").as_deref(), Some("a.com"));
    let object = snapshot.get(ResourceKind::Ingress, "route-a").unwrap();
    assert_eq!(object.source, "ingresses.route-a");
    assert_eq!(
        &*object.version,
        version_of(higress_yaml("a.com").as_bytes())
    );

    // A change published in Nacos arrives by push.
    nacos
        .publish(NS, NS, "ingresses.route-a", &higress_yaml("a2.com"))
        .await;
    let took = wait_for(&store, Duration::from_secs(5), |s| {
        host_of(s, "route-a").as_deref() == Some("a2.com")
    })
    .await
    .expect("the pushed change is applied");
    eprintln!("publish → snapshot: {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // Broken content keeps the last good version; the diagnostic names the dataId and field.
    nacos
        .publish(NS, NS, "ingresses.route-a", &higress_yaml("'bad host'"))
        .await;
    wait_for(&store, Duration::from_secs(5), |s| {
        s.errors().next().is_some()
    })
    .await
    .expect("the broken change is reported");
    let s = store.snapshot();
    assert_eq!(host_of(&s, "route-a").as_deref(), Some("a2.com"));
    let e = s.errors().next().unwrap();
    assert_eq!(
        (e.source.as_str(), e.field.as_deref()),
        ("ingresses.route-a", Some("spec.rules[0].host"))
    );

    // A new data id announced through the names index is found at once.
    nacos
        .publish(
            NS,
            NS,
            "ingresses.route-c",
            &contract::ingress("route-c", "c.com"),
        )
        .await;
    nacos
        .publish(
            NS,
            "DEFAULT_GROUP",
            "ingresses.__names__",
            "higress-system/route-a\nhigress-system/route-c\n",
        )
        .await;
    let took = wait_for(&store, Duration::from_secs(5), |s| {
        host_of(s, "route-c").is_some()
    })
    .await
    .expect("the new data id is found");
    eprintln!("new data id → snapshot: {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // Deleted in Nacos (with the index updated): gone from the snapshot.
    nacos.remove(NS, NS, "ingresses.route-c").await;
    nacos
        .publish(
            NS,
            "DEFAULT_GROUP",
            "ingresses.__names__",
            "higress-system/route-a\n",
        )
        .await;
    wait_for(&store, Duration::from_secs(5), |s| {
        host_of(s, "route-c").is_none()
    })
    .await
    .expect("the deleted data id is dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_data_id_without_index_is_found_by_the_periodic_relist() {
    let nacos = Rnacos::start().await;
    let mut o = options(&nacos);
    o.refresh_interval = Duration::from_millis(500);
    let store = NacosStore::open(o).await.unwrap();
    nacos
        .publish(
            NS,
            NS,
            "ingresses.console-made",
            &contract::ingress("console-made", "m.com"),
        )
        .await;
    wait_for(&store, Duration::from_secs(10), |s| {
        host_of(s, "console-made").is_some()
    })
    .await
    .expect("found by the re-list");
    // And the names index is repaired so every reader sees it.
    let mut healed = None;
    for _ in 0..100 {
        healed = nacos.get(NS, "DEFAULT_GROUP", "ingresses.__names__").await;
        if healed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        healed.as_deref(),
        Some("higress-system/ingresses.console-made\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_encrypted_like_higress_and_a_wrong_key_fails_clearly() {
    let nacos = Rnacos::start().await;
    let mut o = options(&nacos);
    o.data_enc_key = Some(KEY.to_vec());
    let store = NacosStore::open(o).await.unwrap();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n";
    let version = store
        .put(ResourceKind::Secret, "creds", secret, Precondition::Absent)
        .await
        .unwrap();
    let raw = nacos.get(NS, NS, "secrets.creds").await.unwrap();
    assert!(
        raw.starts_with("enc|") && !raw.contains("aHVudGVyMg"),
        "{raw}"
    );
    assert_eq!(
        version,
        version_of(raw.as_bytes()),
        "version = MD5 of the stored text"
    );
    let clear = config_store::nacos::crypto::open(&raw, Some(&Cipher::new(KEY).unwrap())).unwrap();
    assert_eq!(clear, secret);
    assert_eq!(
        store.get(ResourceKind::Secret, "creds").await.unwrap().yaml,
        secret
    );
    assert!(store.snapshot().secret("creds").is_some());

    // Another instance with the wrong key: a clear error naming the dataId, no content.
    let mut wrong = options(&nacos);
    wrong.data_enc_key = Some(b"fedcba9876543210fedcba9876543210".to_vec());
    let other = NacosStore::open(wrong).await.unwrap();
    let s = other.snapshot();
    assert!(s.secret("creds").is_none());
    let e = s.errors().next().expect("an error for the Secret");
    assert_eq!(e.source, "secrets.creds");
    assert!(e.message.contains("wrong data encryption key"), "{e}");
    let err = other.get(ResourceKind::Secret, "creds").await.unwrap_err();
    let shown = format!("{err} {e}");
    assert!(
        shown.contains("secrets.creds") && !shown.contains("aHVudGVyMg"),
        "{shown}"
    );
    // Without a key at all.
    let none = NacosStore::open(options(&nacos)).await.unwrap();
    let e = none
        .snapshot()
        .errors()
        .next()
        .map(ToString::to_string)
        .unwrap();
    assert!(
        e.contains("secrets.creds") && e.contains("no data encryption key"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_on_needs_the_credentials() {
    let nacos = Rnacos::start_with_auth().await;
    let mut o = options(&nacos);
    o.credentials = Some(config_store::nacos::Credentials {
        username: ADMIN.0.into(),
        password: ADMIN.1.into(),
    });
    let store = NacosStore::open(o).await.unwrap();
    assert!(store.state().is_ok(), "{:?}", store.state());
    store
        .put(
            ResourceKind::Ingress,
            "r",
            &contract::ingress("r", "a.com"),
            Precondition::Absent,
        )
        .await
        .unwrap();
    assert!(nacos.get(NS, NS, "ingresses.r").await.is_some());
    let listed = store.list(ResourceKind::Ingress).await.unwrap();
    assert_eq!(listed.len(), 1);

    // No credentials: unreachable, saying why, and writes fail.
    let anonymous = NacosStore::open(options(&nacos)).await.unwrap();
    let state = format!("{:?}", anonymous.state());
    assert!(state.contains("--nacos-username"), "{state}");
    assert!(anonymous.snapshot().ingresses().next().is_none());
    // Wrong password: refused, and the message holds no password.
    let mut bad = options(&nacos);
    bad.credentials = Some(config_store::nacos::Credentials {
        username: ADMIN.0.into(),
        password: "not-the-password".into(),
    });
    let bad = NacosStore::open(bad).await.unwrap();
    let state = format!("{:?}", bad.state());
    assert!(
        !bad.state().is_ok() && !state.contains("not-the-password"),
        "{state}"
    );
    assert!(matches!(
        bad.put(
            ResourceKind::Ingress,
            "x",
            &contract::ingress("x", "x.com"),
            Precondition::Any
        )
        .await,
        Err(StoreError::Backend { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_right_after_listening_is_heard() {
    use config_store::nacos::client::NacosClient;
    use config_store::nacos::watch::{config_listener, Event};
    // The SDK registered a listener with the server in a task of its own, after `listen`
    // returned: a change in between was never pushed (tests/nacos_instances.rs saw it as a
    // console edit another gateway missed). Several rounds, since each is a race.
    let nacos = Rnacos::start().await;
    let client = NacosClient::connect(&options(&nacos)).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for round in 0..50 {
        let id = format!("ingresses.race-{round}");
        nacos.publish(NS, NS, &id, "v: 1\n").await;
        client.listen(&id, NS, config_listener(&tx)).await.unwrap();
        client.publish(&id, NS, "v: 2\n", None).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match rx.recv().await {
                    Some(Event::Config {
                        data_id, content, ..
                    }) if data_id == id && content == "v: 2\n" => return,
                    Some(_) => {}
                    None => std::future::pending().await,
                }
            }
        })
        .await;
        assert!(heard.is_ok(), "round {round}: the change was not pushed");
    }
}
