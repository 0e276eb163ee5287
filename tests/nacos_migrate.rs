//! `gantry migrate` between a directory and Nacos: the quick-start config round-trips with
//! identical content; differing resources are refused without `--force`; Secrets written
//! by Gantry are encrypted as Higress does and a wrong key fails clearly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gantry_tests::rnacos::NS;
use gantry_tests::{run_cli, Rnacos};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const WRONG_KEY: &str = "fedcba9876543210fedcba9876543210";

fn quickstart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf-samples/quickstart")
}

/// Every file under `root` (relative path → content).
fn files(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_quickstart_round_trips_through_nacos_with_identical_content() {
    let nacos = Rnacos::start().await;
    let url = nacos.config_url();
    let source = quickstart().display().to_string();
    let out = run_cli(&["migrate", "--from", &source, "--to", &url]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(out.stdout.contains("3 created"), "{}", out.stdout);
    // Stored as Higress standalone does.
    let ingress =
        std::fs::read_to_string(quickstart().join("ingresses/route-foo-bar.yaml")).unwrap();
    assert_eq!(
        nacos.get(NS, NS, "ingresses.route-foo-bar").await,
        Some(ingress)
    );
    assert!(nacos
        .get(NS, "DEFAULT_GROUP", "ingresses.__names__")
        .await
        .unwrap()
        .contains("higress-system/ingresses.route-foo-bar\n"));
    let check = run_cli(&["validate", "--config", &url]);
    assert_eq!(check.code(), Some(0), "{}", check.combined());
    assert!(check.stdout.contains("1 route(s)"), "{}", check.stdout);

    // Back to a new directory: byte-for-byte the same files.
    let back = tempfile::tempdir().unwrap();
    let dest = back.path().join("conf");
    let dest_s = dest.display().to_string();
    let out = run_cli(&["migrate", "--from", &url, "--to", &dest_s]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let copied: BTreeMap<_, _> = files(&dest)
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .collect();
    assert_eq!(copied, files(&quickstart()));

    // Again: nothing to do.
    let out = run_cli(&["migrate", "--from", &source, "--to", &url]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(
        out.stdout.contains("0 created, 0 replaced, 3 unchanged"),
        "{}",
        out.stdout
    );

    // Into another namespace of the same Nacos.
    let other = format!("{url}/team-b");
    let out = run_cli(&["migrate", "--from", &url, "--to", &other]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(nacos
        .get("team-b", NS, "ingresses.route-foo-bar")
        .await
        .is_some());

    // A differing resource is refused without --force, replaced with it.
    let edited = std::fs::read_to_string(dest.join("ingresses/route-foo-bar.yaml"))
        .unwrap()
        .replace("foo.bar.com", "other.bar.com");
    std::fs::write(dest.join("ingresses/route-foo-bar.yaml"), &edited).unwrap();
    let out = run_cli(&["migrate", "--from", &dest_s, "--to", &url]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(
        out.stdout.contains("differs    Ingress route-foo-bar"),
        "{}",
        out.stdout
    );
    assert!(nacos
        .get(NS, NS, "ingresses.route-foo-bar")
        .await
        .unwrap()
        .contains("foo.bar.com"));
    let out = run_cli(&["migrate", "--from", &dest_s, "--to", &url, "--force"]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert!(
        out.stdout.contains("replaced   Ingress route-foo-bar"),
        "{}",
        out.stdout
    );
    assert_eq!(
        nacos.get(NS, NS, "ingresses.route-foo-bar").await,
        Some(edited)
    );
}

#[tokio::test]
async fn secrets_written_by_gantry_are_encrypted_and_a_wrong_key_fails_clearly() {
    let nacos = Rnacos::start().await;
    let url = nacos.config_url();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: higress-system\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n";
    std::fs::write(dir.path().join("secrets/creds.yaml"), secret).unwrap();
    let source = dir.path().display().to_string();
    let out = run_cli(&[
        "migrate",
        "--from",
        &source,
        "--to",
        &url,
        "--data-enc-key",
        KEY,
    ]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    let raw = nacos.get(NS, NS, "secrets.creds").await.unwrap();
    assert!(
        raw.starts_with("enc|") && !raw.contains("aHVudGVyMg"),
        "{raw}"
    );

    // The same key reads it back.
    let ok = run_cli(&["validate", "--config", &url, "--data-enc-key", KEY]);
    assert_eq!(ok.code(), Some(0), "{}", ok.combined());
    let back = tempfile::tempdir().unwrap();
    let dest = back.path().display().to_string();
    let out = run_cli(&[
        "migrate",
        "--from",
        &url,
        "--to",
        &dest,
        "--data-enc-key",
        KEY,
    ]);
    assert_eq!(out.code(), Some(0), "{}", out.combined());
    assert_eq!(
        std::fs::read_to_string(back.path().join("secrets/creds.yaml")).unwrap(),
        secret
    );

    // A wrong key (also from the environment variable form): the error names the dataId
    // and never shows the content.
    for args in [
        vec!["validate", "--config", &url, "--data-enc-key", WRONG_KEY],
        vec!["validate", "--config", &url],
    ] {
        let out = run_cli(&args);
        assert_eq!(out.code(), Some(1), "{}", out.combined());
        let errors = out.errors().join("\n");
        assert!(errors.contains("secrets.creds"), "{errors}");
        assert!(errors.contains("data encryption key"), "{errors}");
        assert!(!out.combined().contains("aHVudGVyMg"), "{}", out.combined());
    }
    let bad = run_cli(&["validate", "--config", &url, "--data-enc-key", "short"]);
    assert_eq!(bad.code(), Some(2), "{}", bad.combined());
    assert!(
        bad.combined().contains("16, 24 or 32"),
        "{}",
        bad.combined()
    );
}
