//! Canary: an Ingress marked `canary` adds no routes of its own; its backend joins the base
//! route with the same host and path, chosen by header (`canary-by-header`, `-value`,
//! `-pattern`), then cookie (`canary-by-cookie`), then weight (`canary-weight` of
//! `canary-weight-total`, default 100).

use super::value::check_regex;
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// How a canary Ingress takes traffic from its base route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canary {
    /// Header `name` equals `always`, or matches `value_regex` (whole value) when set.
    Header {
        /// Header name.
        name: String,
        /// The regex Higress builds: `always|<canary-by-header-value>` (value not escaped)
        /// or `.*<canary-by-header-pattern>.*`.
        value_regex: Option<String>,
    },
    /// Cookie `name` equals `always`.
    Cookie {
        /// Cookie name.
        name: String,
    },
    /// `weight` of `total` requests.
    Weight {
        /// Canary share.
        weight: u32,
        /// Denominator (default 100).
        total: u32,
    },
}

impl AnnotationGroup for Canary {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        if !reader.bool("canary")?.unwrap_or(false) {
            return Ok(None);
        }
        if let Some(h) = reader.get("canary-by-header") {
            let value_regex = match (
                reader.get("canary-by-header-value"),
                reader.get("canary-by-header-pattern"),
            ) {
                (Some(v), _) => {
                    check_regex(&v, &v.value)?;
                    // Higress matches `always|<value>` (the value is not escaped).
                    Some(format!("always|{}", v.value))
                }
                (None, Some(p)) => {
                    check_regex(&p, &p.value)?;
                    Some(format!(".*{}.*", p.value))
                }
                (None, None) => None,
            };
            return Ok(Some(Canary::Header {
                name: h.value.to_ascii_lowercase(),
                value_regex,
            }));
        }
        if let Some(c) = reader.get("canary-by-cookie") {
            return Ok(Some(Canary::Cookie { name: c.value }));
        }
        let total = match reader.get("canary-weight-total") {
            Some(t) => match t.parse_u32()? {
                0 => return Err(t.error("must be greater than 0")),
                n => n,
            },
            None => 100,
        };
        match reader.get("canary-weight") {
            Some(w) => {
                let weight = w.parse_u32()?;
                if weight > total {
                    return Err(
                        w.error(format!("{weight} is more than canary-weight-total {total}"))
                    );
                }
                Ok(Some(Canary::Weight { weight, total }))
            }
            None => Err(reader
                .get("canary")
                .map(|c| {
                    c.error("a canary needs canary-by-header, canary-by-cookie or canary-weight")
                })
                .unwrap_or_else(|| AnnotationError {
                    key: "canary".into(),
                    message: "incomplete".into(),
                })),
        }
    }
}
