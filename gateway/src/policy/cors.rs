//! CORS as Envoy's filter does it for Higress: preflights are answered by the gateway,
//! allowed origins are echoed on responses, disallowed origins get no CORS headers.

use async_trait::async_trait;
use config_store::annotations::Cors;
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;
use regex::Regex;

use crate::filter::{FilterState, Flow, HttpFilter};
use crate::proxy::respond::respond;
use crate::proxy::RequestCtx;

/// A compiled CORS policy.
#[derive(Debug)]
pub struct CorsPolicy {
    origins: Vec<OriginMatch>,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: Option<HeaderValue>,
    allow_credentials: bool,
    max_age: HeaderValue,
}

#[derive(Debug)]
enum OriginMatch {
    Exact(String),
    Pattern(Regex),
}

// === impl CorsPolicy ===

impl CorsPolicy {
    /// Compiles the annotation; `None` if a value cannot be a header (validated earlier).
    pub fn compile(cors: &Cors) -> Option<Self> {
        let origins = cors
            .allow_origins
            .iter()
            .map(|o| {
                if let Some(pos) = o.find("*.") {
                    // `http://*.a.com` → any scheme and subdomain of a.com.
                    let host = &o[pos + 1..];
                    Regex::new(&format!(
                        "^(?:[a-z][a-z0-9+.-]*://)?[^/]*{}(?::[0-9]+)?$",
                        regex::escape(host)
                    ))
                    .ok()
                    .map(OriginMatch::Pattern)
                } else {
                    Some(OriginMatch::Exact(o.trim_end_matches('/').to_string()))
                }
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            origins,
            allow_methods: HeaderValue::from_str(&cors.allow_methods).ok()?,
            allow_headers: HeaderValue::from_str(&cors.allow_headers).ok()?,
            expose_headers: match &cors.expose_headers {
                Some(e) => Some(HeaderValue::from_str(e).ok()?),
                None => None,
            },
            allow_credentials: cors.allow_credentials,
            max_age: HeaderValue::from(cors.max_age),
        })
    }

    /// True when `origin` may use the route.
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.is_empty()
            || self.origins.iter().any(|m| match m {
                OriginMatch::Exact(o) => o.eq_ignore_ascii_case(origin),
                OriginMatch::Pattern(re) => re.is_match(origin),
            })
    }

    /// Headers answering a preflight from an allowed `origin`.
    pub fn preflight_headers(&self, origin: &HeaderValue) -> Vec<(&'static str, HeaderValue)> {
        let mut h = vec![
            ("access-control-allow-origin", origin.clone()),
            ("access-control-allow-methods", self.allow_methods.clone()),
            ("access-control-allow-headers", self.allow_headers.clone()),
            ("access-control-max-age", self.max_age.clone()),
        ];
        if self.allow_credentials {
            h.push((
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            ));
        }
        h
    }

    /// Headers added to a normal response for an allowed `origin`.
    pub fn response_headers(&self, origin: &HeaderValue) -> Vec<(&'static str, HeaderValue)> {
        let mut h = vec![("access-control-allow-origin", origin.clone())];
        if self.allow_credentials {
            h.push((
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            ));
        }
        if let Some(e) = &self.expose_headers {
            h.push(("access-control-expose-headers", e.clone()));
        }
        h
    }
}

// === impl HttpFilter for CorsPolicy ===

/// The allowed origin of this request, kept for the response (the filter's state).
struct AllowedOrigin(HeaderValue);

#[async_trait]
impl HttpFilter for CorsPolicy {
    fn name(&self) -> &str {
        "cors"
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<Flow> {
        let req = session.req_header();
        let Some(origin) = req
            .headers
            .get(http::header::ORIGIN)
            .filter(|o| o.to_str().is_ok_and(|o| self.allows(o)))
        else {
            return Ok(Flow::Continue);
        };
        let preflight = req.method == http::Method::OPTIONS
            && req
                .headers
                .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            let headers = self.preflight_headers(origin);
            respond(session, 200, headers, String::new()).await?;
            return Ok(Flow::Responded);
        }
        *state = Some(Box::new(AllowedOrigin(origin.clone())));
        Ok(Flow::Continue)
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        if let Some(AllowedOrigin(origin)) = state.as_ref().and_then(|s| s.downcast_ref()) {
            for (name, value) in self.response_headers(origin) {
                resp.insert_header(name, value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> CorsPolicy {
        CorsPolicy::compile(&Cors {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: "GET".into(),
            allow_headers: "X".into(),
            expose_headers: None,
            allow_credentials: true,
            max_age: 10,
        })
        .unwrap()
    }

    #[test]
    fn origins() {
        assert!(policy(&[]).allows("http://any.com"));
        let p = policy(&["http://a.com", "https://*.b.com"]);
        assert!(p.allows("http://a.com"));
        assert!(!p.allows("http://c.com"));
        assert!(p.allows("https://x.b.com"));
        assert!(p.allows("http://x.y.b.com:8080"));
        assert!(!p.allows("https://b.com.evil.org"));
    }
}
