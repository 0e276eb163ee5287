//! WasmPlugin checks: what the resource says must be something Gantry's plugin host can
//! act on. Whether the module can be fetched and loads is checked when the gateway
//! compiles the snapshot (an outside input); here: the url, pull policy, phase, fail
//! strategy and match rules.

use crate::resource::wasmplugin::{ModuleUrl, PULL_POLICIES};
use crate::resource::WasmPlugin;

const PHASES: [&str; 4] = ["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"];
const FAIL_STRATEGIES: [&str; 2] = ["FAIL_CLOSE", "FAIL_OPEN"];

/// Every problem of `plugin`, as `(field, message)`.
pub fn check(plugin: &WasmPlugin) -> Vec<(String, String)> {
    let s = &plugin.spec;
    let mut errors = Vec::new();
    let mut error = |field: &str, message: String| errors.push((field.to_owned(), message));
    let url = ModuleUrl::parse(&s.url);
    if let Err(e) = &url {
        error("spec.url", e.to_string());
    }
    if let Some(p) = s
        .image_pull_policy
        .as_deref()
        .filter(|p| !PULL_POLICIES.contains(p))
    {
        error(
            "spec.imagePullPolicy",
            format!(
                "unknown pull policy {p:?} (expected one of {})",
                PULL_POLICIES.join(", ")
            ),
        );
    }
    if let Some(sha) = &s.sha256 {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            error("spec.sha256", "must be 64 hex digits".into());
        }
    }
    if let Some(p) = s.phase.as_deref().filter(|p| !PHASES.contains(p)) {
        error(
            "spec.phase",
            format!(
                "unknown phase {p:?} (expected one of {})",
                PHASES.join(", ")
            ),
        );
    }
    if let Some(f) = s
        .fail_strategy
        .as_deref()
        .filter(|f| !FAIL_STRATEGIES.contains(f))
    {
        error(
            "spec.failStrategy",
            format!(
                "unknown fail strategy {f:?} (expected {})",
                FAIL_STRATEGIES.join(" or ")
            ),
        );
    }
    if let Some(c) = s.default_config.as_ref().filter(|c| !c.is_object()) {
        error(
            "spec.defaultConfig",
            format!("must be an object, not {}", kind(c)),
        );
    }
    for (i, rule) in s.match_rules.iter().enumerate() {
        let field = format!("spec.matchRules[{i}]");
        let Some(obj) = rule.as_object() else {
            error(&field, "must be an object".into());
            continue;
        };
        let mut targets = 0;
        for (key, value) in obj {
            match key.as_str() {
                "ingress" | "domain" | "service" => {
                    let ok = value.as_array().is_some_and(|a| {
                        a.iter().all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
                    });
                    if ok {
                        targets += value.as_array().map_or(0, Vec::len);
                    } else {
                        error(&format!("{field}.{key}"), "must be a list of names".into());
                    }
                }
                "config" if !value.is_object() => error(
                    &format!("{field}.config"),
                    format!("must be an object, not {}", kind(value)),
                ),
                "configDisable" if !value.is_boolean() => error(
                    &format!("{field}.configDisable"),
                    "must be true or false".into(),
                ),
                "config" | "configDisable" => {}
                other => error(
                    &format!("{field}.{other}"),
                    "unknown field (expected ingress, domain, service, config, configDisable)"
                        .into(),
                ),
            }
        }
        if targets == 0 {
            error(
                &field,
                "names no ingress, domain or service, so it would apply nowhere".into(),
            );
        }
    }
    errors
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
