//! Rewrite: `rewrite-target` (nginx, with `$1` captures), `higress.io/rewrite-path` (prefix
//! replacement), `upstream-vhost`, and the path-type switches `use-regex` and
//! `higress.io/full-path-regex`.

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Path and host rewriting for an Ingress's routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// `rewrite-target`, with nginx `$N` turned into regex captures `${N}`.
    pub target: Option<String>,
    /// `higress.io/rewrite-path`: replaces the matched prefix (or exact path).
    pub path: Option<String>,
    /// `upstream-vhost`: Host sent upstream.
    pub upstream_vhost: Option<String>,
    /// `use-regex`: paths are regular expressions.
    pub use_regex: bool,
    /// `higress.io/full-path-regex`: regex paths must match the whole path.
    pub full_path_regex: bool,
}

impl AnnotationGroup for Rewrite {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let target = reader.get("rewrite-target");
        let path = reader.get_higress("rewrite-path");
        let vhost = reader.get("upstream-vhost");
        let use_regex = reader.bool("use-regex")?.unwrap_or(false);
        let full = reader.bool_higress("full-path-regex")?.unwrap_or(false);
        if target.is_none() && path.is_none() && vhost.is_none() && !use_regex && !full {
            return Ok(None);
        }
        let target = target
            .map(|t| {
                if !t.value.starts_with('/') && !t.value.starts_with('$') {
                    return Err(t.error(format!("{:?} must start with \"/\"", t.value)));
                }
                Ok(nginx_captures_to_rust(&t.value))
            })
            .transpose()?;
        if let Some(p) = &path {
            if !p.value.starts_with('/') {
                return Err(p.error(format!("{:?} must start with \"/\"", p.value)));
            }
        }
        Ok(Some(Rewrite {
            target,
            path: path.map(|p| p.value),
            upstream_vhost: vhost.map(|v| v.value),
            use_regex,
            full_path_regex: full,
        }))
    }
}

// === impl Rewrite ===

impl Rewrite {
    /// Higress's `NeedRegexMatch`: paths become regexes with `use-regex`, `full-path-regex`,
    /// a `rewrite-target` holding `$` or `\`, or a `rewrite-target` with a path that has
    /// regex characters.
    pub fn needs_regex(&self, path: &str) -> bool {
        const REGEX_CHARS: &[char] = &[
            '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
        ];
        self.use_regex
            || self.full_path_regex
            || self
                .target
                .as_deref()
                .is_some_and(|t| t.contains("${") || t.contains('\\') || path.contains(REGEX_CHARS))
    }
}

/// `$1` → `${1}` (the regex crate's syntax; `$1x` would otherwise name group `1x`).
fn nginx_captures_to_rust(target: &str) -> String {
    let mut out = String::with_capacity(target.len() + 4);
    let mut chars = target.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str("${");
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                out.push(*d);
                chars.next();
            }
            out.push('}');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures() {
        assert_eq!(nginx_captures_to_rust("/$1/x$2y"), "/${1}/x${2}y");
        assert_eq!(nginx_captures_to_rust("/plain"), "/plain");
    }
}
