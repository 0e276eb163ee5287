//! Header control (`higress.io/` only): `request-header-control-add|update|remove` and
//! `response-header-control-add|update|remove`. Add/update values are lines of
//! `<name> <value>` (quotes around either are dropped); remove is a comma-separated list.

use super::reader::Value;
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Edits for one direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderOps {
    /// Appended (`add`).
    pub add: Vec<(String, String)>,
    /// Overwritten (`update`).
    pub set: Vec<(String, String)>,
    /// Removed.
    pub remove: Vec<String>,
}

/// Request and response header edits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderControl {
    /// Edits to the request sent upstream.
    pub request: HeaderOps,
    /// Edits to the response sent downstream.
    pub response: HeaderOps,
}

impl AnnotationGroup for HeaderControl {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let request = ops(reader, "request")?;
        let response = ops(reader, "response")?;
        if request == HeaderOps::default() && response == HeaderOps::default() {
            return Ok(None);
        }
        Ok(Some(HeaderControl { request, response }))
    }
}

fn ops(reader: &AnnotationReader<'_>, dir: &str) -> Result<HeaderOps, AnnotationError> {
    let pairs = |key: &str| -> Result<Vec<(String, String)>, AnnotationError> {
        reader
            .get_higress(&format!("{dir}-header-control-{key}"))
            .map(|v| v.value.lines().map(|line| pair(&v, line)).collect())
            .transpose()
            .map(Option::unwrap_or_default)
    };
    let remove = reader
        .get_higress(&format!("{dir}-header-control-remove"))
        .map(|v| {
            v.list()
                .into_iter()
                .map(|n| check_name(&v, &n).map(|_| n.to_ascii_lowercase()))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(HeaderOps {
        add: pairs("add")?,
        set: pairs("update")?,
        remove,
    })
}

fn pair(v: &Value<'_>, line: &str) -> Result<(String, String), AnnotationError> {
    let (name, value) = line
        .split_once(char::is_whitespace)
        .ok_or_else(|| v.error(format!("line {line:?} is not \"<name> <value>\"")))?;
    let name = unquote(name.trim());
    let value = unquote(value.trim());
    check_name(v, name)?;
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(v.error(format!("header value for {name:?} has control characters")));
    }
    Ok((name.to_ascii_lowercase(), value.to_string()))
}

fn check_name(v: &Value<'_>, name: &str) -> Result<(), AnnotationError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(v.error(format!("{name:?} is not a header name")))
    }
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn parses_lines_and_quotes() {
        let map = BTreeMap::from([
            (
                "higress.io/request-header-control-add".to_string(),
                "x-test \"higress; test=true\"\nx-b 2".to_string(),
            ),
            (
                "higress.io/response-header-control-remove".to_string(),
                "server, X-Powered-By".to_string(),
            ),
        ]);
        let hc = HeaderControl::parse(&AnnotationReader::new(&map))
            .unwrap()
            .unwrap();
        assert_eq!(
            hc.request.add,
            [
                ("x-test".into(), "higress; test=true".into()),
                ("x-b".into(), "2".into())
            ]
        );
        assert_eq!(hc.response.remove, ["server", "x-powered-by"]);
        let bad = BTreeMap::from([(
            "higress.io/request-header-control-update".to_string(),
            "novalue".to_string(),
        )]);
        assert!(HeaderControl::parse(&AnnotationReader::new(&bad)).is_err());
    }
}
