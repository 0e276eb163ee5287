//! WasmPlugin checks: what the resource says must be something Gantry's plugin host can
//! act on. Whether the module loads is checked when the gateway compiles the snapshot
//! (an outside input); here: the url scheme, phase, fail strategy and match rules. A url
//! Gantry cannot fetch yet (`http(s)://`, `oci://`) is an error "not enforced", naming
//! what the plugin would cover, so an auth plugin is never silently skipped.

use crate::resource::WasmPlugin;

const PHASES: [&str; 4] = ["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"];
const FAIL_STRATEGIES: [&str; 2] = ["FAIL_CLOSE", "FAIL_OPEN"];
const SCHEMES: [&str; 4] = ["file://", "http://", "https://", "oci://"];

/// Every problem of `plugin`, as `(field, message)`.
pub fn check(plugin: &WasmPlugin) -> Vec<(String, String)> {
    let s = &plugin.spec;
    let mut errors = Vec::new();
    let mut error = |field: &str, message: String| errors.push((field.to_owned(), message));
    if s.url.is_empty() {
        error(
            "spec.url",
            "a url is required (file://, http(s)://, oci://)".into(),
        );
    } else if !s.url.starts_with("file://") && SCHEMES.iter().any(|p| s.url.starts_with(p)) {
        let name = s
            .plugin_name
            .as_deref()
            .unwrap_or(plugin.metadata.name.as_str());
        error(
            "spec.url",
            format!(
                "not enforced: Gantry loads plugins from file:// urls only so far, so plugin \
                 {name:?} from {:?} would not apply to {}",
                s.url,
                covers(plugin)
            ),
        );
    } else if !SCHEMES.iter().any(|p| s.url.starts_with(p)) {
        error(
            "spec.url",
            format!(
                "unknown scheme in {:?} (expected file://, http(s):// or oci://)",
                s.url
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

/// What the plugin would apply to, for messages.
fn covers(plugin: &WasmPlugin) -> String {
    let spec = &plugin.spec;
    let mut covers = Vec::new();
    let global = spec.plugin_config.is_some()
        || (spec.default_config.is_some() && spec.default_config_disable != Some(true));
    if global {
        covers.push("every route (global config)".to_string());
    }
    if spec.plugin_config.is_none() {
        for rule in &spec.match_rules {
            if rule.get("configDisable").and_then(|v| v.as_bool()) == Some(true) {
                continue;
            }
            for (key, what) in [
                ("ingress", "Ingress"),
                ("domain", "domain"),
                ("service", "service"),
            ] {
                let names = rule.get(key).and_then(|v| v.as_array());
                for n in names.into_iter().flatten().filter_map(|v| v.as_str()) {
                    covers.push(format!("{what} {n}"));
                }
            }
        }
    }
    if covers.is_empty() {
        "no route (no enabled config)".to_string()
    } else {
        covers.join(", ")
    }
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
