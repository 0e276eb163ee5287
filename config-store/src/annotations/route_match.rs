//! Extra route conditions (`higress.io/` only): `match-method` (space-separated methods) and
//! `{exact,prefix,regex}-match-{header,query,pseudo-header}-<name>`. All are ANDed.

use super::reader::HIGRESS_PREFIX;
use super::value::{check_regex, StringMatch};
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Conditions a request must meet besides host and path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteMatch {
    /// Allowed methods (upper case); empty = any.
    pub methods: Vec<String>,
    /// Header conditions; names lower case; pseudo-headers start with `:`.
    pub headers: Vec<(String, StringMatch)>,
    /// Query parameter conditions.
    pub queries: Vec<(String, StringMatch)>,
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

impl AnnotationGroup for RouteMatch {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let mut m = RouteMatch::default();
        if let Some(v) = reader.get_higress("match-method") {
            for method in v.value.split_whitespace().map(str::to_ascii_uppercase) {
                if !METHODS.contains(&method.as_str()) {
                    return Err(v.error(format!("unknown method {method:?}")));
                }
                if !m.methods.contains(&method) {
                    m.methods.push(method);
                }
            }
        }
        for (key, v) in reader.under(HIGRESS_PREFIX) {
            let Some((kind, rest)) = key.split_once("-match-") else {
                continue;
            };
            let (target, name) = if let Some(n) = rest.strip_prefix("pseudo-header-") {
                ("header", format!(":{}", n.to_ascii_lowercase()))
            } else if let Some(n) = rest.strip_prefix("header-") {
                ("header", n.to_ascii_lowercase())
            } else if let Some(n) = rest.strip_prefix("query-") {
                ("query", n.to_string())
            } else {
                continue;
            };
            let value = v.value.clone();
            let matcher = match kind {
                "exact" => StringMatch::Exact(value),
                "prefix" => StringMatch::Prefix(value),
                "regex" => {
                    check_regex(&v, &value)?;
                    StringMatch::Regex(value)
                }
                _ => continue,
            };
            if name.is_empty() || name == ":" {
                return Err(v.error("the key names no header or query parameter"));
            }
            if target == "header" {
                &mut m.headers
            } else {
                &mut m.queries
            }
            .push((name, matcher));
        }
        Ok((m != RouteMatch::default()).then_some(m))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn parses_all_forms() {
        let map: BTreeMap<String, String> = [
            ("higress.io/match-method", "post put post"),
            ("higress.io/exact-match-header-X-Env", "dev"),
            ("higress.io/regex-match-query-id", "[0-9]+"),
            ("higress.io/prefix-match-pseudo-header-authority", "api."),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let m = RouteMatch::parse(&AnnotationReader::new(&map))
            .unwrap()
            .unwrap();
        assert_eq!(m.methods, ["POST", "PUT"]);
        assert_eq!(
            m.headers,
            [
                ("x-env".into(), StringMatch::Exact("dev".into())),
                (":authority".into(), StringMatch::Prefix("api.".into()))
            ]
        );
        assert_eq!(
            m.queries,
            [("id".into(), StringMatch::Regex("[0-9]+".into()))]
        );
        let bad = BTreeMap::from([(
            "higress.io/regex-match-header-a".to_string(),
            "(".to_string(),
        )]);
        assert!(RouteMatch::parse(&AnnotationReader::new(&bad)).is_err());
    }
}
