//! Plugin instances under `/v1/global`, `/v1/domains/{d}`, `/v1/routes/{r}` and
//! `/v1/services/{s}` `/plugin-instances[/{plugin}]`. The console has no plugin catalogue
//! (`wasm_plugins.rs`), so it places no plugin: lists are empty, a single instance reads
//! as not configured (`enabled: false`, never 404, as the UI expects), and a PUT is 400
//! "not available", nothing written. WasmPlugin resources written to the store directly
//! do run; they are not listed here yet.

use axum::extract::{Path, State};
use axum::response::Response;
use config_store::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::app::{App, AppState};
use crate::body::JsonBody;
use crate::doc;
use crate::error::{ApiError, ApiResult};
use crate::version::Version;
use crate::wasm_plugins::no_catalogue;
use crate::wrapper::{list as list_page, no_content, ok, Params};

/// Where an instance applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every route.
    Global,
    /// One domain.
    Domain,
    /// One route (Ingress).
    Route,
    /// One service.
    Service,
}

/// A plugin instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Instance {
    /// The CR's version.
    pub version: Version,
    /// `GLOBAL`, `DOMAIN`, `ROUTE` or `SERVICE` (deprecated, kept in sync).
    pub scope: Option<String>,
    /// The target (deprecated, kept in sync).
    pub target: Option<String>,
    /// Scope → target.
    pub targets: Option<Map<String, Value>>,
    /// Plugin name.
    pub plugin_name: Option<String>,
    /// Plugin version.
    pub plugin_version: Option<String>,
    /// Console-internal instance.
    pub internal: Option<bool>,
    /// On or off.
    pub enabled: Option<bool>,
    /// Configuration as YAML.
    pub raw_configurations: Option<String>,
    /// Configuration.
    pub configurations: Option<Value>,
}

// === impl Scope ===

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Global => "GLOBAL",
            Scope::Domain => "DOMAIN",
            Scope::Route => "ROUTE",
            Scope::Service => "SERVICE",
        }
    }
}

async fn check_target(app: &App, scope: Scope, target: Option<&str>) -> ApiResult<()> {
    let Some(t) = target else { return Ok(()) };
    let known = match scope {
        Scope::Global => true,
        Scope::Domain => doc::get(
            app.store.as_ref(),
            ResourceKind::ConfigMap,
            &format!("domain-{}", crate::routes::convert::normalize_domain(t)),
        )
        .await?
        .is_some(),
        Scope::Route => doc::get(app.store.as_ref(), ResourceKind::Ingress, t)
            .await?
            .is_some(),
        Scope::Service => crate::services::all(&app.store.snapshot())
            .iter()
            .any(|s| s.name == t),
    };
    if known {
        Ok(())
    } else {
        let what = match scope {
            Scope::Domain => "domain",
            Scope::Route => "route",
            _ => "service",
        };
        Err(ApiError::bad_request(format!("Unknown {what}: {t}")))
    }
}

fn unconfigured(scope: Scope, target: Option<&str>, plugin: &str) -> Instance {
    let mut targets = Map::new();
    targets.insert(
        scope.name().into(),
        target.map_or(Value::Null, |t| json!(t)),
    );
    Instance {
        scope: Some(scope.name().into()),
        target: target.map(str::to_string),
        targets: Some(targets),
        plugin_name: Some(plugin.to_string()),
        internal: Some(false),
        enabled: Some(false),
        ..Instance::default()
    }
}

async fn do_list(
    app: &App,
    scope: Scope,
    target: Option<&str>,
    params: &Params,
) -> ApiResult<Response> {
    let page = params.page()?;
    check_target(app, scope, target).await?;
    Ok(list_page(Vec::<Instance>::new(), page))
}

async fn do_get(
    app: &App,
    scope: Scope,
    target: Option<&str>,
    plugin: &str,
) -> ApiResult<Response> {
    check_target(app, scope, target).await?;
    Ok(ok(unconfigured(scope, target, plugin)))
}

async fn do_put(
    app: &App,
    scope: Scope,
    target: Option<&str>,
    plugin: &str,
    body: Instance,
) -> ApiResult<Response> {
    if let Some(p) = body.plugin_name.as_deref().filter(|p| !p.is_empty()) {
        if p != plugin {
            return Err(ApiError::field(
                "pluginName",
                format!("{p:?} does not match the URL ({plugin:?})"),
            ));
        }
    }
    if body.internal == Some(true) {
        return Err(ApiError::field(
            "internal",
            "internal instances cannot be written",
        ));
    }
    check_target(app, scope, target).await?;
    if let Some(raw) = body
        .raw_configurations
        .as_deref()
        .filter(|r| !r.trim().is_empty())
    {
        yaml_serde::from_str::<Value>(raw)
            .map_err(|e| ApiError::field("rawConfigurations", format!("not valid YAML: {e}")))?;
    }
    let what = match target {
        Some(t) => format!("{} {t}", scope.name().to_lowercase()),
        None => "every route".to_string(),
    };
    Err(no_catalogue(plugin, &what))
}

/// Route handlers for one scope.
macro_rules! scoped {
    ($list:ident, $get:ident, $put:ident, $delete:ident, $scope:expr, target) => {
        /// `GET …/plugin-instances`.
        pub async fn $list(
            State(app): State<AppState>,
            Path(t): Path<String>,
            p: Params,
        ) -> ApiResult<Response> {
            do_list(&app, $scope, Some(&t), &p).await
        }
        /// `GET …/plugin-instances/{plugin}`.
        pub async fn $get(
            State(app): State<AppState>,
            Path((t, plugin)): Path<(String, String)>,
        ) -> ApiResult<Response> {
            do_get(&app, $scope, Some(&t), &plugin).await
        }
        /// `PUT …/plugin-instances/{plugin}`.
        pub async fn $put(
            State(app): State<AppState>,
            Path((t, plugin)): Path<(String, String)>,
            JsonBody(body): JsonBody<Instance>,
        ) -> ApiResult<Response> {
            do_put(&app, $scope, Some(&t), &plugin, body).await
        }
        /// `DELETE …/plugin-instances/{plugin}`: 204 (nothing is configured).
        pub async fn $delete(Path((_t, _plugin)): Path<(String, String)>) -> Response {
            no_content()
        }
    };
}

scoped!(
    domain_list,
    domain_get,
    domain_put,
    domain_delete,
    Scope::Domain,
    target
);
scoped!(
    route_list,
    route_get,
    route_put,
    route_delete,
    Scope::Route,
    target
);
scoped!(
    service_list,
    service_get,
    service_put,
    service_delete,
    Scope::Service,
    target
);

/// `GET /v1/global/plugin-instances`.
pub async fn global_list(State(app): State<AppState>, p: Params) -> ApiResult<Response> {
    do_list(&app, Scope::Global, None, &p).await
}

/// `GET /v1/global/plugin-instances/{plugin}`.
pub async fn global_get(
    State(app): State<AppState>,
    Path(plugin): Path<String>,
) -> ApiResult<Response> {
    do_get(&app, Scope::Global, None, &plugin).await
}

/// `PUT /v1/global/plugin-instances/{plugin}`.
pub async fn global_put(
    State(app): State<AppState>,
    Path(plugin): Path<String>,
    JsonBody(body): JsonBody<Instance>,
) -> ApiResult<Response> {
    do_put(&app, Scope::Global, None, &plugin, body).await
}

/// `DELETE /v1/global/plugin-instances/{plugin}`: 204.
pub async fn global_delete(Path(_plugin): Path<String>) -> Response {
    no_content()
}
