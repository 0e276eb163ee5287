//! Console features Gantry does not serve yet — consumers, AI routes and providers, MCP
//! servers, proxy servers, the dashboard — answered 501 in the console wrapper
//! (`success:false`, "… is not supported by Gantry yet"), never an empty page.

use axum::routing::any;
use axum::Router;

use crate::app::AppState;
use crate::error::ApiError;

/// Path prefixes of features not served, and what to call them.
pub const UNSUPPORTED: &[(&str, &str)] = &[
    ("/v1/consumers", "Consumers"),
    ("/v1/ai/routes", "AI routes"),
    ("/v1/ai/providers", "LLM providers"),
    ("/v1/mcpServer", "MCP servers"),
    ("/v1/proxy-servers", "Proxy servers"),
    ("/dashboard", "The dashboard"),
    ("/grafana", "The built-in Grafana"),
    ("/aiproxy", "The AI assistant"),
];

/// Routes answering 501 for every path under each unsupported prefix.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for &(prefix, what) in UNSUPPORTED {
        let handler = move || async move { ApiError::not_implemented(what) };
        router = router
            .route(prefix, any(handler))
            .route(&format!("{prefix}/{{*rest}}"), any(handler));
    }
    router
}
