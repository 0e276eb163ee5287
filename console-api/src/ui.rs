//! The web UI at the site root: with `--console-ui-dir DIR`, a built Higress Console
//! frontend — files by path, `/route` from `route.html` when it exists, other unknown
//! non-API paths from `index.html`. Without it, `/` is a short page saying how to get one.
//! Unknown API paths (`/v1/…`, `/system/…`) are a JSON 404 either way.

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::app::AppState;
use crate::error::ApiError;

/// Path prefixes that belong to the API, never to the UI.
const API_PREFIXES: &[&str] = &[
    "/v1/",
    "/v3/",
    "/system/",
    "/session/",
    "/user/",
    "/dashboard/",
    "/gantry/",
];

const LANDING: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Gantry console</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Gantry console API</h1>
<p>This port serves the Higress console's REST API (<a href="/v3/api-docs">OpenAPI document</a>,
<a href="/gantry/status">status</a>).</p>
<p>To use the Higress Console web UI here, build its frontend
(<code>higress-group/higress-console</code>, <code>frontend/</code>: <code>npm install &amp;&amp; npm run build</code>)
and start Gantry with <code>--console-ui-dir &lt;the build directory&gt;</code>.</p>
</body></html>
"#;

/// Serves the UI (or the landing page) for every path no API route matched.
pub async fn fallback(State(app): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let is_api = API_PREFIXES.iter().any(|p| path.starts_with(p))
        || ["/v1", "/system", "/session", "/user"].contains(&path.as_str());
    if is_api || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::not_found(format!("no API endpoint {} {path}", req.method()))
            .into_response();
    }
    let Some(dir) = app.options.ui_dir.clone() else {
        return if path == "/" {
            Html(LANDING).into_response()
        } else {
            ApiError::not_found(format!(
                "no page {path}: no console UI is configured (--console-ui-dir)"
            ))
            .into_response()
        };
    };
    let page = page_for(&dir, &path);
    match ServeDir::new(&dir)
        .fallback(ServeFile::new(page))
        .oneshot(req)
        .await
    {
        Ok(resp) => resp.into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `DIR/<path>.html` for a page path made of plain segments, when it exists; else
/// `DIR/index.html`.
fn page_for(dir: &Path, path: &str) -> PathBuf {
    let trimmed = path.trim_matches('/');
    let plain = !trimmed.is_empty()
        && trimmed.split('/').all(|s| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if plain {
        let candidate = dir.join(format!("{trimmed}.html"));
        if candidate.is_file() {
            return candidate;
        }
    }
    dir.join("index.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_map_to_html_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("route.html"), "r").unwrap();
        assert_eq!(
            page_for(dir.path(), "/route"),
            dir.path().join("route.html")
        );
        assert_eq!(
            page_for(dir.path(), "/domain"),
            dir.path().join("index.html")
        );
        assert_eq!(
            page_for(dir.path(), "/../etc"),
            dir.path().join("index.html")
        );
    }
}
