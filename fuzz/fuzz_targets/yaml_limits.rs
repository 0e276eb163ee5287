//! Arbitrary bytes as YAML → `limits::check_yaml` (small caps, so the fuzzer reaches them) →
//! `yaml_serde`, as `parse::parse_source` does. Never panics, and whatever the check admits
//! stays bounded when `yaml_serde` builds it: at most the nodes the text can hold written
//! out plus the alias budget. This guards the byte pre-filter and the saphyr event pre-read
//! against any input whose aliases libyaml would expand further than they count.
#![no_main]

use config_store::limits::{check_yaml, Limits};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;

const LIMITS: Limits = Limits {
    max_file_size: 1 << 20,
    max_depth: 64,
    max_alias_nodes: 10_000,
};

/// Nodes in a value, counting mapping keys; stops counting past `cap`.
fn nodes(v: &yaml_serde::Value, cap: u64, count: &mut u64) {
    *count += 1;
    if *count > cap {
        return;
    }
    match v {
        yaml_serde::Value::Sequence(items) => {
            for item in items {
                nodes(item, cap, count);
            }
        }
        yaml_serde::Value::Mapping(map) => {
            for (k, v) in map {
                nodes(k, cap, count);
                nodes(v, cap, count);
            }
        }
        yaml_serde::Value::Tagged(t) => nodes(&t.value, cap, count),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if check_yaml(&text, &LIMITS).is_err() {
        return;
    }
    // Every written node takes at least one byte (an empty scalar borrows its indicator's).
    let cap = 2 * text.len() as u64 + 16 + LIMITS.max_alias_nodes;
    let mut count = 0;
    for doc in yaml_serde::Deserializer::from_str(&text) {
        match yaml_serde::Value::deserialize(doc) {
            Ok(value) => nodes(&value, cap, &mut count),
            Err(_) => break,
        }
    }
    assert!(
        count <= cap,
        "admitted YAML expanded to more than {cap} nodes"
    );
});
