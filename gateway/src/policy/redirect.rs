//! Redirect responses: to a URL (`permanent-redirect`, `temporal-redirect`), to a path on the
//! same host (`app-root`), or to the same URL over https (`ssl-redirect`). The request's
//! query string is kept.

/// Where a redirect points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTo {
    /// `scheme://authority` plus the configured path, or the request's path when the URL has
    /// none.
    Url {
        /// `scheme://authority`.
        origin: String,
        /// Path from the URL, if any (not `/`-only).
        path: Option<String>,
        /// Status code.
        code: u16,
    },
    /// A path on the same scheme and host (302).
    Path(String),
    /// The same URL with `https` (308).
    Https,
}

// === impl RedirectTo ===

impl RedirectTo {
    /// From an annotation URL (validated as `http(s)://host…`).
    pub fn url(url: &str, code: u16) -> Self {
        let scheme_end = url.find("://").map_or(0, |i| i + 3);
        let (origin, path) = match url[scheme_end..].find('/') {
            Some(i) => (&url[..scheme_end + i], Some(&url[scheme_end + i..])),
            None => (url, None),
        };
        RedirectTo::Url {
            origin: origin.to_string(),
            path: path.filter(|p| *p != "/").map(str::to_string),
            code,
        }
    }

    /// The status code.
    pub fn code(&self) -> u16 {
        match self {
            RedirectTo::Url { code, .. } => *code,
            RedirectTo::Path(_) => 302,
            RedirectTo::Https => 308,
        }
    }

    /// The `Location` for a request with this scheme, host (as sent, may carry a port),
    /// path and query.
    pub fn location(&self, scheme: &str, host: &str, path: &str, query: Option<&str>) -> String {
        let q = query.map(|q| format!("?{q}")).unwrap_or_default();
        match self {
            RedirectTo::Url {
                origin, path: p, ..
            } => {
                format!("{origin}{}{q}", p.as_deref().unwrap_or(path))
            }
            RedirectTo::Path(p) => format!("{scheme}://{host}{p}{q}"),
            RedirectTo::Https => {
                let bare = crate::route_table::host::strip_port(host);
                format!("https://{bare}{path}{q}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let r = RedirectTo::url("http://bar.com", 301);
        assert_eq!(
            r.location("http", "foo.com", "/foo", None),
            "http://bar.com/foo"
        );
        let r = RedirectTo::url("https://bar.com/x/", 302);
        assert_eq!(
            r.location("http", "foo.com", "/foo", Some("a=1")),
            "https://bar.com/x/?a=1"
        );
        assert_eq!(
            RedirectTo::Https.location("http", "foo.com:8080", "/p", None),
            "https://foo.com/p"
        );
        assert_eq!(
            RedirectTo::Path("/app".into()).location("http", "foo.com:81", "/", None),
            "http://foo.com:81/app"
        );
    }
}
