//! `/system/*`: first-run initialisation, version info, the console settings and the
//! `higress-config` ConfigMap as YAML.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::Response;
use config_store::{Precondition, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::account::CONFIG_MAP_NAME;
use crate::body::JsonBody;
use crate::doc::{self, root};
use crate::error::{ApiError, ApiResult};
use crate::wrapper::{done, ok, raw};

/// The global options ConfigMap.
const HIGRESS_CONFIG: &str = "higress-config";

/// Console settings Higress types as booleans.
const BOOLEAN_KEYS: &[&str] = &[
    "chat.enabled",
    "admin.password-change.disabled",
    "dashboard.builtin",
    "route.default.initialized",
    "system.initialized",
];

/// `POST /system/init` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitRequest {
    #[serde(default)]
    admin_user: Option<AdminUser>,
    #[serde(default)]
    configs: Option<BTreeMap<String, Value>>,
}

/// The admin user of `/system/init`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdminUser {
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

/// `/system/info`.
#[derive(Debug, Serialize)]
pub struct SystemInfo {
    /// Gantry's version.
    pub version: String,
    /// What this server offers, as Higress names it.
    pub capabilities: Vec<String>,
}

/// `PUT /system/higress-config` body.
#[derive(Debug, Deserialize)]
pub struct HigressConfigBody {
    #[serde(default)]
    config: String,
}

/// `POST /system/init`: creates the admin account (200 with an empty wrapper); 409 when the
/// console is initialised already (Higress: 500).
pub async fn init(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<InitRequest>,
) -> ApiResult<Response> {
    let user = body
        .admin_user
        .ok_or_else(|| ApiError::bad_request("Missing adminUser."))?;
    check_user_name(&user.name)?;
    if user.display_name.trim().is_empty() {
        return Err(ApiError::field("adminUser.displayName", "is required"));
    }
    if user.password.is_empty() {
        return Err(ApiError::field("adminUser.password", "is required"));
    }
    let configs: Vec<(String, String)> = body
        .configs
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != "system.initialized")
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, text)
        })
        .collect();
    if !app
        .initialize(&user.name, &user.display_name, &user.password, &configs)
        .await?
    {
        return Err(ApiError::conflict("System already initialized."));
    }
    Ok(done())
}

fn check_user_name(name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(ApiError::field("adminUser.name", "is required"));
    }
    if name.len() > 63 || name.chars().any(|c| c.is_control() || c == ':' || c == ' ') {
        return Err(ApiError::field(
            "adminUser.name",
            "use at most 63 characters, without spaces, ':' or control characters",
        ));
    }
    Ok(())
}

/// `GET /system/info`: raw, not wrapped (as Higress).
pub async fn info() -> Response {
    raw(SystemInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        capabilities: vec!["config.ingress.v1".into()],
    })
}

/// `GET /system/config`: the console ConfigMap's entries, the known flags as booleans;
/// `system.initialized` is whether the admin account exists.
pub async fn config(State(app): State<AppState>) -> Response {
    let snapshot = app.store.snapshot();
    let mut out = Map::new();
    out.insert("dashboard.builtin".into(), json!(false));
    if let Some(cm) = snapshot.config_map(CONFIG_MAP_NAME) {
        for (k, v) in &cm.data {
            let value = if BOOLEAN_KEYS.contains(&k.as_str()) {
                json!(v.trim().eq_ignore_ascii_case("true"))
            } else {
                json!(v)
            };
            out.insert(k.clone(), value);
        }
    }
    out.insert("dashboard.builtin".into(), json!(false));
    out.insert("system.initialized".into(), json!(app.account().is_some()));
    ok(Value::Object(out))
}

/// `GET /system/higress-config`: the ConfigMap as YAML, without labels, annotations and
/// server-side fields; `metadata.resourceVersion` carries the version to send back.
pub async fn get_higress_config(State(app): State<AppState>) -> ApiResult<Response> {
    let current = doc::get(app.store.as_ref(), ResourceKind::ConfigMap, HIGRESS_CONFIG).await?;
    let (mut value, version) = match current {
        Some(d) => (d.value, d.version),
        None => (
            doc::skeleton(ResourceKind::ConfigMap, HIGRESS_CONFIG),
            String::new(),
        ),
    };
    let meta = doc::child(root(&mut value), "metadata");
    for key in [
        "labels",
        "annotations",
        "creationTimestamp",
        "uid",
        "managedFields",
    ] {
        meta.remove(key);
    }
    meta.insert("resourceVersion".into(), json!(version));
    Ok(ok(doc::to_yaml(&value)?))
}

/// `PUT /system/higress-config`: replaces the ConfigMap from YAML carrying the
/// `metadata.resourceVersion` read before (stale → 409). Labels and annotations stored are
/// kept.
pub async fn put_higress_config(
    State(app): State<AppState>,
    JsonBody(body): JsonBody<HigressConfigBody>,
) -> ApiResult<Response> {
    let mut value: Value = yaml_serde::from_str(&body.config)
        .map_err(|e| ApiError::field("config", format!("not valid YAML: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::field(
            "config",
            "must be a ConfigMap YAML mapping",
        ));
    }
    let version = value
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::field("config", "metadata.resourceVersion is required"))?;
    let data = value
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::field("config", "data is required"))?;
    for (key, text) in data {
        if ["higress", "mesh", "meshNetworks"].contains(&key.as_str()) {
            let text = text
                .as_str()
                .ok_or_else(|| ApiError::field("config", format!("data.{key} must be a string")))?;
            yaml_serde::from_str::<Value>(text).map_err(|e| {
                ApiError::field("config", format!("data.{key} is not valid YAML: {e}"))
            })?;
        }
    }
    let current = doc::get(app.store.as_ref(), ResourceKind::ConfigMap, HIGRESS_CONFIG).await?;
    let precondition = match &current {
        Some(d) if d.version == version => Precondition::Version(version.clone()),
        Some(d) => {
            return Err(ApiError::conflict(format!(
                "higress-config has changed (current version: {}); reload it and retry",
                d.version
            )))
        }
        None if version.is_empty() => Precondition::Absent,
        None => return Err(ApiError::conflict("higress-config does not exist any more")),
    };
    let top = root(&mut value);
    top.insert("apiVersion".into(), json!("v1"));
    top.insert("kind".into(), json!("ConfigMap"));
    let meta = doc::child(top, "metadata");
    meta.remove("resourceVersion");
    meta.insert("name".into(), json!(HIGRESS_CONFIG));
    let stored_meta = current
        .as_ref()
        .map(|d| doc::object_at(&d.value, "/metadata"))
        .unwrap_or_default();
    for key in ["labels", "annotations"] {
        if let Some(v) = stored_meta.get(key) {
            meta.entry(key.to_string()).or_insert_with(|| v.clone());
        }
    }
    let yaml = doc::to_yaml(&value)?;
    app.put(
        ResourceKind::ConfigMap,
        HIGRESS_CONFIG,
        &yaml,
        precondition,
        current.as_ref().map(|d| d.yaml.as_str()),
    )
    .await?;
    get_higress_config(State(app)).await
}
