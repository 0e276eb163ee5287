//! No diagnostic carries a Secret's value: malformed Secrets keep their field path and a
//! generic reason, and YAML errors in files that may hold a Secret quote nothing.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use base64::Engine;
use config_store::{DirStore, Snapshot};

/// The value every malformed Secret below carries; it must appear in no message.
const VALUE: &str = "Hunter2-SECRET-7f3a9c";

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn load(files: &[(&str, String)]) -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    DirStore::load(dir.path()).unwrap()
}

fn assert_hidden(s: &Snapshot) {
    for d in s.diagnostics() {
        let shown = format!("{d} {d:?}");
        assert!(!shown.contains(VALUE), "value leaked: {shown}");
        assert!(
            !shown.contains(&VALUE[..8]),
            "part of the value leaked: {shown}"
        );
    }
}

/// `(file, expected diagnostic)` for each malformed Secret.
fn cases() -> Vec<(&'static str, String, String)> {
    vec![
        (
            "secrets/string-data.yaml",
            format!("kind: Secret\ndata: {VALUE}\n"),
            "error: secrets/string-data.yaml: Secret string-data: data: invalid type: expected a map (value not shown: this is a Secret)".to_string(),
        ),
        (
            "secrets/number.yaml",
            "kind: Secret\ndata:\n  pin: 739184625\n".to_string(),
            "error: secrets/number.yaml: Secret number: data.pin: invalid type: expected a string (value not shown: this is a Secret)".to_string(),
        ),
        (
            "secrets/string-map.yaml",
            format!("kind: Secret\nstringData: [{VALUE}]\n"),
            "error: secrets/string-map.yaml: Secret string-map: stringData: invalid type: expected a map (value not shown: this is a Secret)".to_string(),
        ),
        (
            "secrets/bad-base64.yaml",
            format!("kind: Secret\ndata:\n  password: '{VALUE}!'\n"),
            "error: secrets/bad-base64.yaml: Secret bad-base64: data: not valid base64: data[\"password\"] has an invalid character at offset 7".to_string(),
        ),
        (
            "secrets/tls.yaml",
            format!(
                "kind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
                b64(&format!("-----BEGIN {VALUE}\n")),
                b64(&format!("-----BEGIN PRIVATE KEY-----\n{VALUE}\n")),
            ),
            String::new(),
        ),
        (
            "secrets/duplicate.yaml",
            format!("kind: Secret\nstringData:\n  {VALUE}: a\n  {VALUE}: b\n"),
            "error: secrets/duplicate.yaml: invalid YAML at line 3 column 3 (details hidden: the file may hold a Secret)".to_string(),
        ),
        (
            "configmaps/elsewhere.yaml",
            format!("kind: Secret\ndata: {{k: [{VALUE}]}}\n"),
            "error: configmaps/elsewhere.yaml: Secret elsewhere: data.k: invalid type: expected a string (value not shown: this is a Secret)".to_string(),
        ),
    ]
}

#[test]
fn malformed_secrets_never_show_their_values() {
    let files: Vec<(&str, String)> = cases().into_iter().map(|(f, t, _)| (f, t)).collect();
    let s = load(&files);
    assert_hidden(&s);
    let shown: Vec<String> = s.diagnostics().iter().map(ToString::to_string).collect();
    for (file, _, expected) in cases() {
        let mine: Vec<&String> = shown.iter().filter(|d| d.contains(file)).collect();
        assert!(!mine.is_empty(), "no diagnostic for {file}: {shown:#?}");
        if !expected.is_empty() {
            assert_eq!(mine, [&expected], "{file}");
        }
    }
    // The TLS Secret: each key named, neither value quoted.
    let tls: Vec<&String> = shown
        .iter()
        .filter(|d| d.contains("secrets/tls.yaml"))
        .collect();
    assert_eq!(tls.len(), 2, "{tls:#?}");
    assert!(
        tls[0].contains("data[\"tls.crt\"]: not a PEM certificate chain"),
        "{tls:?}"
    );
    assert!(
        tls[1].contains("data[\"tls.key\"]: not a PEM private key"),
        "{tls:?}"
    );
}

#[test]
fn yaml_errors_in_secret_files_quote_nothing() {
    // Syntax errors at the event pre-read (aliases present) and in the loader.
    let texts = [
        format!("a: &x 1\nkind: Secret\ndata: *{VALUE}\n"),
        format!("kind: Secret\ndata:\n  k: \"{VALUE}\n"),
        format!("kind: Secret\ndata: {{k: {VALUE}\n"),
    ];
    for text in texts {
        let s = load(&[("secrets/s.yaml", text.clone())]);
        assert_hidden(&s);
        let e: Vec<String> = s.errors().map(ToString::to_string).collect();
        assert_eq!(e.len(), 1, "{text}: {e:?}");
        assert!(e[0].contains("details hidden"), "{e:?}");
    }
}

#[test]
fn secret_debug_output_lists_keys_only() {
    let s = load(&[(
        "secrets/ok.yaml",
        format!(
            "kind: Secret\ndata:\n  token: {}\nstringData:\n  other: {VALUE}\n",
            b64(VALUE)
        ),
    )]);
    assert!(s.errors().next().is_none());
    let debug = format!("{:?}", s.secret("ok").unwrap());
    assert!(
        debug.contains("token") && debug.contains("other"),
        "{debug}"
    );
    assert!(
        !debug.contains(VALUE) && !debug.contains(&b64(VALUE)),
        "{debug}"
    );
}
