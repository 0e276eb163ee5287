//! The web UI at the site root. By default Gantry's own console (`console-ui/`, a Vite
//! build embedded into the binary at compile time): files by path, every other non-API
//! `GET` answered with `index.html` (single-page fallback). With `--console-ui-dir DIR`, a
//! built Higress Console frontend from disk instead: files by path, `/route` from
//! `route.html` when it exists, other unknown pages from `index.html`.
//! Unknown API paths (`/v1/…`, `/system/…`) are a JSON 404 either way.
//!
//! The embedded copy is `console-ui/dist`, committed, so building Rust needs no Node. After
//! changing `console-ui/src`, rebuild it with `cd console-ui && npm ci && npm run build`
//! and commit `dist/` (CI checks that it matches the sources).

use std::path::{Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;
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

/// The built Gantry console, embedded at compile time (also in debug builds).
#[derive(Embed)]
#[folder = "../console-ui/dist"]
struct Console;

/// Serves the UI for every path no API route matched.
pub async fn fallback(State(app): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let is_api = API_PREFIXES.iter().any(|p| path.starts_with(p))
        || ["/v1", "/system", "/session", "/user"].contains(&path.as_str());
    if is_api || !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ApiError::not_found(format!("no API endpoint {} {path}", req.method()))
            .into_response();
    }
    let Some(dir) = app.options.ui_dir.clone() else {
        return embedded(&path);
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

/// The embedded file for `path`; `index.html` for page paths (no file extension in the last
/// segment); a 404 for a missing asset, so a broken build shows as such, not as a page.
fn embedded(path: &str) -> Response {
    let name = path.trim_start_matches('/');
    let (name, file) = match Console::get(name) {
        Some(file) if !name.is_empty() => (name, file),
        _ => {
            let last = name.rsplit('/').next().unwrap_or("");
            if last.contains('.') {
                return ApiError::not_found(format!("no console file {path}")).into_response();
            }
            match Console::get("index.html") {
                Some(file) => ("index.html", file),
                None => {
                    return ApiError::internal("console-ui/dist has no index.html").into_response()
                }
            }
        }
    };
    // Vite names assets by content hash: they never change under one name.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mime = file.metadata.mimetype();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        file.data.into_owned(),
    )
        .into_response()
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

    #[test]
    fn embedded_console_has_an_index_and_its_assets() {
        let index = Console::get("index.html").expect("console-ui/dist/index.html embedded");
        let html = String::from_utf8_lossy(&index.data);
        assert!(html.contains("Gantry console"), "{html}");
        let assets: Vec<_> = Console::iter()
            .filter(|f| f.starts_with("assets/"))
            .collect();
        assert!(assets.iter().any(|f| f.ends_with(".js")), "{assets:?}");
        for a in &assets {
            assert!(html.contains(a.as_ref()), "index.html does not load {a}");
        }
    }
}
