//! Arbitrary bytes as one YAML source file → parse → validate → assemble → compile → find.
//! Nothing on this path may panic, whatever the input.
#![no_main]

use std::time::Duration;

use config_store::parse::{parse_source, SourceContext};
use config_store::resource::Resource;
use config_store::snapshot::{assemble, SourceOutcome};
use config_store::validate::validate;
use config_store::{ResourceKind, Snapshot};
use gateway::route_table::normalize_host;
use gateway::{compile, CompileOptions, Discovery};
use libfuzzer_sys::fuzz_target;

const LABEL: &str = "fuzz/fuzz.yaml";

fuzz_target!(|data: &[u8]| {
    // The first byte picks the directory kind; the rest is the file.
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let kinds = ResourceKind::ALL;
    let kind = kinds[first as usize % kinds.len()];
    let text = String::from_utf8_lossy(rest);
    let ctx = SourceContext {
        label: LABEL,
        dir_kind: Some(kind),
        default_name: Some("fuzz"),
    };
    let parsed = parse_source(ctx, &text);

    // Derived request targets: every host and path the input mentions, plus fixed ones.
    let mut hosts = vec![
        String::new(),
        "example.com".to_string(),
        "foo.bar.com".to_string(),
    ];
    let mut paths = vec![
        "/".to_string(),
        "/a/b?c=d".to_string(),
        "//x/../y".to_string(),
    ];
    if let Ok(p) = &parsed {
        for resource in &p.resources {
            let _ = validate(LABEL, resource);
            if let Resource::Ingress(ing) = resource {
                for rule in ing.spec.rules.iter().take(8) {
                    if let Some(h) = &rule.host {
                        hosts.push(h.clone());
                        hosts.push(h.replacen('*', "x", 1));
                    }
                    for path in rule.http.iter().flat_map(|h| h.paths.iter()).take(8) {
                        if let Some(p) = &path.path {
                            paths.push(p.clone());
                            paths.push(format!("{p}/sub"));
                        }
                    }
                }
            }
        }
    }

    let snapshot = assemble(
        &Snapshot::default(),
        vec![SourceOutcome::new(
            LABEL.to_string(),
            text.as_ref().into(),
            parsed,
        )],
    );
    let discovery = Discovery::new(Duration::from_secs(60));
    let compiled = compile(&snapshot, &discovery, &CompileOptions::default());
    for host in &hosts {
        let host = normalize_host(host);
        for path in &paths {
            let _ = compiled.table.find(&host, path);
        }
    }
});
