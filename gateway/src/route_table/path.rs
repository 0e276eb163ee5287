//! Path matching as Higress generates it: Exact is the whole path; Prefix is element-wise
//! (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`). The query is never part of it.

/// How a route matches the request path.
#[derive(Debug, Clone)]
pub enum PathMatch {
    /// The whole path equals this.
    Exact(String),
    /// Element-wise prefix, stored without a trailing `/` (`""` is the root and matches all).
    Prefix(String),
    /// A regex (`use-regex`, regex `rewrite-target`, `full-path-regex`).
    Regex {
        /// The path as written in the Ingress.
        source: String,
        /// Anchored matcher: `^(?:source)` or, for full-path regexes, `^(?:source)$`.
        matcher: regex::Regex,
    },
    /// An internal route Gantry adds (app-root); matches the exact path, sorts after
    /// Exact, Prefix and regex routes.
    Internal(String),
}

// === impl PathMatch ===

impl PathMatch {
    /// A Prefix match for an Ingress path (`/foo/` and `/foo` are the same prefix).
    pub fn prefix(path: &str) -> Self {
        PathMatch::Prefix(path.trim_end_matches('/').to_string())
    }

    /// A regex match for an Ingress path; `full` anchors it at the end too.
    pub fn regex(source: &str, full: bool, ignore_case: bool) -> Result<Self, regex::Error> {
        let end = if full { "$" } else { "" };
        let matcher = regex::RegexBuilder::new(&format!("^(?:{source}){end}"))
            .case_insensitive(ignore_case)
            .build()?;
        Ok(PathMatch::Regex {
            source: source.to_string(),
            matcher,
        })
    }

    /// True when `path` (no query) matches.
    pub fn matches(&self, path: &str, ignore_case: bool) -> bool {
        match self {
            PathMatch::Exact(p) | PathMatch::Internal(p) => eq(path, p, ignore_case),
            PathMatch::Regex { matcher, .. } => matcher.is_match(path),
            PathMatch::Prefix(p) => {
                if p.is_empty() {
                    return true;
                }
                path.len() >= p.len()
                    && path.is_char_boundary(p.len())
                    && eq(&path[..p.len()], p, ignore_case)
                    && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
            }
        }
    }

    /// `exact` or `prefix`.
    pub fn kind(&self) -> &'static str {
        match self {
            PathMatch::Exact(_) => "exact",
            PathMatch::Prefix(_) => "prefix",
            PathMatch::Regex { .. } => "regex",
            PathMatch::Internal(_) => "internal",
        }
    }

    /// The path as shown to users (`/` for the root prefix).
    pub fn display_path(&self) -> String {
        match self {
            PathMatch::Exact(p) | PathMatch::Internal(p) => p.clone(),
            PathMatch::Prefix(p) if p.is_empty() => "/".into(),
            PathMatch::Prefix(p) => p.clone(),
            PathMatch::Regex { source, .. } => source.clone(),
        }
    }

    /// Rank for Higress ordering: Exact, Prefix, regex, then internal routes.
    pub fn rank(&self) -> u8 {
        match self {
            PathMatch::Exact(_) => 0,
            PathMatch::Prefix(_) => 1,
            PathMatch::Regex { .. } => 2,
            PathMatch::Internal(_) => 3,
        }
    }

    /// Length used for "longer path first".
    pub fn path_len(&self) -> usize {
        match self {
            PathMatch::Exact(p) | PathMatch::Prefix(p) | PathMatch::Internal(p) => p.len(),
            PathMatch::Regex { source, .. } => source.len(),
        }
    }

    /// True for the root prefix `/`, which sorts second to last.
    pub fn is_catch_all(&self) -> bool {
        matches!(self, PathMatch::Prefix(p) if p.is_empty())
    }
}

fn eq(a: &str, b: &str, ignore_case: bool) -> bool {
    if ignore_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_element_wise() {
        let p = PathMatch::prefix("/foo/");
        assert!(p.matches("/foo", false));
        assert!(p.matches("/foo/", false));
        assert!(p.matches("/foo/bar", false));
        assert!(!p.matches("/foobar", false));
        assert!(!p.matches("/fo", false));
        assert!(!p.matches("/FOO/bar", false));
        assert!(p.matches("/FOO/bar", true));
        assert!(PathMatch::prefix("/").matches("/anything", false));
    }

    #[test]
    fn exact_is_whole_path() {
        let p = PathMatch::Exact("/foo".into());
        assert!(p.matches("/foo", false));
        assert!(!p.matches("/foo/", false));
        assert!(p.matches("/Foo", true));
    }

    #[test]
    fn regex_is_anchored_at_start() {
        let p = PathMatch::regex("/svc/(.*)", false, false).unwrap();
        assert!(p.matches("/svc/x", false));
        assert!(!p.matches("/a/svc/x", false));
        let f = PathMatch::regex("/v[0-9]+", true, false).unwrap();
        assert!(f.matches("/v12", false));
        assert!(!f.matches("/v12/x", false));
    }

    #[test]
    fn multibyte_paths_do_not_panic() {
        let p = PathMatch::prefix("/ab");
        assert!(!p.matches("/aé", false));
        assert!(!p.matches("/é", true));
    }
}
