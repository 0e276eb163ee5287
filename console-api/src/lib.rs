//! The admin API: the Higress console's REST API, served at the root of `--console-port`,
//! so the Higress Console web UI and scripts written for it drive Gantry. Writes go through
//! the [`ConfigStore`] (never into the gateway); status comes from a read-only
//! [`StatusSource`].
//!
//! Open endpoints (no session): `GET /healthz`, `/healthz/ready`, `/readyz`,
//! `/gantry/status`, `/v3/api-docs`, `/system/info`, `/system/config`; `POST /system/init`,
//! `/session/login`; `GET /session/logout`; the UI files.
//! Everything else needs the `_hi_sess` cookie or `Authorization: Basic`:
//! - `GET /user/info`, `POST /user/changePassword`
//! - `GET|PUT /system/higress-config`, `GET /v1/gantry/status`, `/v1/gantry/route-table`
//! - the console resources, listed in `console-api/README.md` and `/v3/api-docs`.
//!
//! Shapes: GET → `{success,message,data}` (lists add `total,pageNum,pageSize`), POST → 201
//! raw object, PUT → 200 raw object, DELETE → 204; errors → [`error::ApiError`].

pub mod app;
pub mod auth;
pub mod body;
pub mod doc;
pub mod domains;
pub mod error;
pub mod live;
pub mod openapi;
pub mod plugin_instances;
pub mod routes;
pub mod service_sources;
pub mod services;
pub mod session;
pub mod status;
pub mod system;
pub mod tls_certificates;
pub mod ui;
pub mod unsupported;
pub mod user;
pub mod version;
pub mod wasm_plugins;
pub mod wrapper;
pub mod write;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use config_store::{ConfigStore, Diagnostic};
use tokio::sync::watch;

use crate::app::{App, AppState};
pub use crate::status::{Readiness, StaleResource, StatusReport};

/// What the running gateway reports about itself.
pub trait StatusSource: Send + Sync + 'static {
    /// Number of routes in the live table.
    fn route_count(&self) -> usize;
    /// Problems found while compiling the live table.
    fn gateway_diagnostics(&self) -> Vec<Diagnostic>;
    /// The saved snapshot this process started from because its config was broken
    /// (`<file> saved at <time>`), if any.
    fn restored_from(&self) -> Option<String> {
        None
    }
    /// The revision of the snapshot the gateway serves, followed as it changes; writes wait
    /// on it so they answer once live. `None`: not reported (writes do not wait).
    fn applied_revision(&self) -> Option<watch::Receiver<u64>> {
        None
    }
    /// The live route table as JSON (a list of routes in match order, as the gateway
    /// describes them), for the web console. `None`: not reported.
    fn route_table(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// `--console-password`: creates the `admin` account at start when there is none.
    pub admin_password: Option<String>,
    /// `--console-ui-dir`: a built Higress Console frontend to serve at the site root
    /// instead of the embedded Gantry console.
    pub ui_dir: Option<PathBuf>,
}

/// Shared state of the admin API.
#[derive(Clone)]
pub struct ConsoleState {
    /// Where configuration is read from and written to.
    pub store: Arc<dyn ConfigStore>,
    /// The gateway's status.
    pub status: Arc<dyn StatusSource>,
    /// Command-line options.
    pub options: ConsoleOptions,
}

/// The admin API router (without the start-up account setup; see [`start`]).
pub fn router(state: ConsoleState) -> Router {
    routes(App::new(state))
}

/// Sets up the admin account (`--console-password` creates it; a plain Higress password is
/// hashed), then returns the router.
pub async fn start(state: ConsoleState) -> Router {
    let app = App::new(state);
    app.bootstrap().await;
    routes(app)
}

/// [`start`], then serves the API on `listener` (recording client addresses for the login
/// rate limit) until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: ConsoleState) -> std::io::Result<()> {
    let router = start(state).await;
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

fn routes(app: AppState) -> Router {
    let open = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/healthz/ready", get(|| async { "ok" }))
        .route("/readyz", get(status::readyz))
        .route("/gantry/status", get(status::status))
        .route("/v3/api-docs", get(openapi::serve))
        .route("/system/init", post(system::init))
        .route("/system/info", get(system::info))
        .route("/system/config", get(system::config))
        .route("/session/login", post(session::login))
        .route("/session/logout", get(session::logout));
    let protected = Router::new()
        .route("/user/info", get(user::info))
        .route("/user/changePassword", post(user::change_password))
        .route(
            "/system/higress-config",
            get(system::get_higress_config).put(system::put_higress_config),
        )
        .route("/v1/gantry/status", get(status::console_status))
        .route("/v1/gantry/route-table", get(live::route_table))
        .route("/v1/domains", get(domains::list).post(domains::create))
        .route(
            "/v1/domains/{name}",
            get(domains::get)
                .put(domains::update)
                .delete(domains::delete),
        )
        .route("/v1/domains/{name}/routes", get(domains::routes_of))
        .route("/v1/routes", get(routes::list).post(routes::create))
        .route(
            "/v1/routes/{name}",
            get(routes::get).put(routes::update).delete(routes::delete),
        )
        .route(
            "/v1/service-sources",
            get(service_sources::list).post(service_sources::create),
        )
        .route(
            "/v1/service-sources/{name}",
            get(service_sources::get)
                .put(service_sources::update)
                .delete(service_sources::delete),
        )
        .route("/v1/services", get(services::list))
        .route(
            "/v1/tls-certificates",
            get(tls_certificates::list).post(tls_certificates::create),
        )
        .route(
            "/v1/tls-certificates/{name}",
            get(tls_certificates::get)
                .put(tls_certificates::update)
                .delete(tls_certificates::delete),
        )
        .route(
            "/v1/wasm-plugins",
            get(wasm_plugins::list).post(wasm_plugins::create),
        )
        .route(
            "/v1/wasm-plugins/{name}",
            get(wasm_plugins::get)
                .put(wasm_plugins::update)
                .delete(wasm_plugins::delete),
        )
        .route(
            "/v1/wasm-plugins/{name}/{part}",
            get(wasm_plugins::get_part),
        )
        .route(
            "/v1/global/plugin-instances",
            get(plugin_instances::global_list),
        )
        .route(
            "/v1/global/plugin-instances/{plugin}",
            get(plugin_instances::global_get)
                .put(plugin_instances::global_put)
                .delete(plugin_instances::global_delete),
        )
        .route(
            "/v1/domains/{name}/plugin-instances",
            get(plugin_instances::domain_list),
        )
        .route(
            "/v1/domains/{name}/plugin-instances/{plugin}",
            get(plugin_instances::domain_get)
                .put(plugin_instances::domain_put)
                .delete(plugin_instances::domain_delete),
        )
        .route(
            "/v1/routes/{name}/plugin-instances",
            get(plugin_instances::route_list),
        )
        .route(
            "/v1/routes/{name}/plugin-instances/{plugin}",
            get(plugin_instances::route_get)
                .put(plugin_instances::route_put)
                .delete(plugin_instances::route_delete),
        )
        .route(
            "/v1/services/{name}/plugin-instances",
            get(plugin_instances::service_list),
        )
        .route(
            "/v1/services/{name}/plugin-instances/{plugin}",
            get(plugin_instances::service_get)
                .put(plugin_instances::service_put)
                .delete(plugin_instances::service_delete),
        )
        .merge(unsupported::routes())
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::guard));
    open.merge(protected).fallback(ui::fallback).with_state(app)
}
