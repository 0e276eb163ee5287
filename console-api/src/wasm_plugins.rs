//! `/v1/wasm-plugins`: the catalogue of Wasm plugins the console can place. Gantry runs
//! WasmPlugin resources from the store but ships no catalogue, so it is empty (an honest
//! `[]`), single plugins are 404, and creating or changing one is refused with the reason.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::wrapper::{list as list_page, Params};

/// The refusal for catalogue writes and plugin placements: `plugin` on `what`.
pub fn no_catalogue(plugin: &str, what: &str) -> ApiError {
    ApiError::bad_request(format!(
        "not available: Gantry's console has no plugin catalogue, so it cannot place plugin \
         {plugin:?} on {what}; write a WasmPlugin resource with its url (file://, http(s)://, \
         oci://) to the config store instead; nothing was written"
    ))
}

/// `GET /v1/wasm-plugins?lang`: the plugins Gantry can load (none yet).
pub async fn list(State(_app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    Ok(list_page(Vec::<serde_json::Value>::new(), page))
}

fn unknown(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Wasm plugin {name:?} is not available: Gantry ships no Wasm plugins yet"
    ))
}

/// `GET /v1/wasm-plugins/{name}` (also `/config` and `/readme`): 404.
pub async fn get(Path(name): Path<String>) -> ApiError {
    unknown(&name)
}

/// `GET /v1/wasm-plugins/{name}/config` and `/readme`: 404.
pub async fn get_part(Path((name, _part)): Path<(String, String)>) -> ApiError {
    unknown(&name)
}

/// `POST /v1/wasm-plugins`: refused.
pub async fn create() -> ApiError {
    no_catalogue("a custom plugin", "the catalogue")
}

/// `PUT /v1/wasm-plugins/{name}`: refused.
pub async fn update(Path(name): Path<String>) -> ApiError {
    no_catalogue(&name, "the catalogue")
}

/// `DELETE /v1/wasm-plugins/{name}`: 404, there is none.
pub async fn delete(Path(name): Path<String>) -> ApiError {
    unknown(&name)
}
