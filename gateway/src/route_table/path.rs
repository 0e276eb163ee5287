//! Path matching as Higress generates it: Exact is the whole path; Prefix is element-wise
//! (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`). The query is never part of it.

/// How a route matches the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatch {
    /// The whole path equals this.
    Exact(String),
    /// Element-wise prefix, stored without a trailing `/` (`""` is the root and matches all).
    Prefix(String),
}

// === impl PathMatch ===

impl PathMatch {
    /// A Prefix match for an Ingress path (`/foo/` and `/foo` are the same prefix).
    pub fn prefix(path: &str) -> Self {
        PathMatch::Prefix(path.trim_end_matches('/').to_string())
    }

    /// True when `path` (no query) matches.
    pub fn matches(&self, path: &str, ignore_case: bool) -> bool {
        match self {
            PathMatch::Exact(p) => eq(path, p, ignore_case),
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
        }
    }

    /// The path as shown to users (`/` for the root prefix).
    pub fn display_path(&self) -> String {
        match self {
            PathMatch::Exact(p) => p.clone(),
            PathMatch::Prefix(p) if p.is_empty() => "/".into(),
            PathMatch::Prefix(p) => p.clone(),
        }
    }

    /// Rank for Higress ordering: Exact before Prefix.
    pub fn rank(&self) -> u8 {
        match self {
            PathMatch::Exact(_) => 0,
            PathMatch::Prefix(_) => 1,
        }
    }

    /// Length used for "longer path first".
    pub fn path_len(&self) -> usize {
        match self {
            PathMatch::Exact(p) | PathMatch::Prefix(p) => p.len(),
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
    fn multibyte_paths_do_not_panic() {
        let p = PathMatch::prefix("/ab");
        assert!(!p.matches("/aé", false));
        assert!(!p.matches("/é", true));
    }
}
