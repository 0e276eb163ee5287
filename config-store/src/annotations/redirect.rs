//! Redirects: `temporal-redirect` (302, checked first), `permanent-redirect` (+ `-code`,
//! default 301), `ssl-redirect` / `force-ssl-redirect` (308 to https), and `app-root`.

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// A route that answers with a redirect instead of proxying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirect {
    /// To an absolute URL (path kept when the URL has none).
    Url {
        /// `http(s)://host[:port][/path]`.
        url: String,
        /// 301..=308.
        code: u16,
    },
    /// Same URL with the `https` scheme, 308.
    Https,
}

impl AnnotationGroup for Redirect {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        if let Some(v) = reader.get("temporal-redirect") {
            check_url(&v)?;
            return Ok(Some(Redirect::Url {
                url: v.value,
                code: 302,
            }));
        }
        if let Some(v) = reader.get("permanent-redirect") {
            check_url(&v)?;
            let code = match reader.get("permanent-redirect-code") {
                Some(c) => {
                    let n = c.parse_u32()?;
                    // Higress: out-of-range codes fall back to 301.
                    if (300..=308).contains(&n) {
                        n as u16
                    } else {
                        301
                    }
                }
                None => 301,
            };
            return Ok(Some(Redirect::Url { url: v.value, code }));
        }
        let ssl = reader.bool("ssl-redirect")?.unwrap_or(false)
            | reader.bool("force-ssl-redirect")?.unwrap_or(false);
        Ok(ssl.then_some(Redirect::Https))
    }
}

fn check_url(v: &super::reader::Value<'_>) -> Result<(), AnnotationError> {
    let rest = v
        .value
        .strip_prefix("http://")
        .or_else(|| v.value.strip_prefix("https://"))
        .ok_or_else(|| v.error(format!("{:?} is not an absolute http(s) URL", v.value)))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(v.error(format!("{:?} has no host", v.value)));
    }
    Ok(())
}

/// `app-root`: requests for `/` on the Ingress's hosts get a 302 to this path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoot(pub String);

impl AnnotationGroup for AppRoot {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let Some(v) = reader.get("app-root") else {
            return Ok(None);
        };
        if !v.value.starts_with('/') || v.value.contains(char::is_whitespace) {
            return Err(v.error(format!("{:?} must be a path starting with \"/\"", v.value)));
        }
        Ok(Some(AppRoot(v.value)))
    }
}
