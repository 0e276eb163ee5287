//! Arbitrary bytes as Ingress annotations → `IngressAnnotations::parse`. Never panics.
//!
//! Input: lines of `key=value`; a line starting with a space continues the previous value on a
//! new line (multi-line values such as `destination`). Parsed twice: once with the keys as
//! given, once with each unknown key forced onto `higress.io/<known key>` (or the nginx prefix,
//! picked by the key's first byte) so every annotation parser is reached without the fuzzer
//! having to guess key names.
#![no_main]

use std::collections::BTreeMap;

use config_store::annotations::{AnnotationReader, IngressAnnotations};
use libfuzzer_sys::fuzz_target;

/// Header/query match keys take a suffix (the header or parameter name).
const MATCH_KEYS: &[&str] = &[
    "exact-match-header-x-user",
    "prefix-match-header-x-user",
    "regex-match-header-x-user",
    "exact-match-query-q",
    "prefix-match-query-q",
    "regex-match-query-q",
];

/// Every key the parsers read: config-store's list plus match keys.
fn known_keys() -> Vec<&'static str> {
    config_store::annotations::unsupported::KNOWN
        .iter()
        .chain(MATCH_KEYS)
        .copied()
        .collect()
}

const PREFIXES: &[&str] = &["higress.io/", "nginx.ingress.kubernetes.io/"];

fn pairs(text: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in text.split('\n') {
        if let (Some(rest), Some((_, value))) = (line.strip_prefix(' '), out.last_mut()) {
            value.push('\n');
            value.push_str(rest);
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        out.push((k, v.to_string()));
    }
    out
}

fn run(map: &BTreeMap<String, String>) {
    let _ = IngressAnnotations::parse(&AnnotationReader::new(map));
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    // 1. Keys as given.
    let pairs = pairs(&text);
    let raw: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    run(&raw);

    // 2. Keys forced onto a known annotation; the key's first byte picks which (and the
    //    prefix), so one input sets several features at once.
    let forced: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| {
            // An already known key (as in the seeds) stays as it is.
            let known = PREFIXES
                .iter()
                .any(|p| k.strip_prefix(p).is_some_and(|rest| known_keys().contains(&rest)));
            if known {
                return (k.to_string(), v.clone());
            }
            let b = k.bytes().next().unwrap_or(0) as usize;
            let keys = known_keys();
            let key = keys[b % keys.len()];
            let prefix = PREFIXES[(b / keys.len()) % PREFIXES.len()];
            (format!("{prefix}{key}"), v.clone())
        })
        .collect();
    run(&forced);
});
