//! CORS (`enable-cors` and the `cors-*` keys), with Higress's defaults. The gateway answers
//! preflights itself and echoes an allowed origin.

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// CORS policy of an Ingress's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// Allowed origins; empty means any (`*`). Entries with `*` in the host are suffix
    /// patterns (`http://*.a.com` allows any scheme and subdomain of `a.com`).
    pub allow_origins: Vec<String>,
    /// `Access-Control-Allow-Methods`.
    pub allow_methods: String,
    /// `Access-Control-Allow-Headers`.
    pub allow_headers: String,
    /// `Access-Control-Expose-Headers`, if any.
    pub expose_headers: Option<String>,
    /// `Access-Control-Allow-Credentials: true` (default true).
    pub allow_credentials: bool,
    /// `Access-Control-Max-Age` seconds (default 1728000).
    pub max_age: u32,
}

/// Higress's default allowed methods.
pub const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
/// Higress's default allowed headers.
pub const DEFAULT_HEADERS: &str = "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization";

impl AnnotationGroup for Cors {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        if !reader.bool("enable-cors")?.unwrap_or(false) {
            return Ok(None);
        }
        let mut allow_origins = reader
            .get("cors-allow-origin")
            .map(|v| v.list())
            .unwrap_or_default();
        if allow_origins.iter().any(|o| o == "*") {
            allow_origins.clear();
        }
        let max_age = match reader.get("cors-max-age") {
            Some(v) => v.parse_u32()?,
            None => 1_728_000,
        };
        Ok(Some(Cors {
            allow_origins,
            allow_methods: reader
                .get("cors-allow-methods")
                .map_or(DEFAULT_METHODS.into(), |v| v.value),
            allow_headers: reader
                .get("cors-allow-headers")
                .map_or(DEFAULT_HEADERS.into(), |v| v.value),
            expose_headers: reader.get("cors-expose-headers").map(|v| v.value),
            allow_credentials: reader.bool("cors-allow-credentials")?.unwrap_or(true),
            max_age,
        }))
    }
}
