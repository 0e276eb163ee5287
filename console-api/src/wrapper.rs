//! The console's response shapes: the `{success,message,data}` [`Envelope`] on GET (with
//! `total`, `pageNum`, `pageSize` on lists), raw objects on POST (201) and PUT (200), and no
//! body on DELETE (204); plus the paging parameters ([`Page`]).
//!
//! Paging as Higress: `pageNum` is 1-based; with neither parameter every item is returned
//! and the paging fields are `null`; with one, the other defaults to page 1 or size 10.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::error::ApiError;

/// `{"success":…,"message":…,"data":…}`, with the paging fields on lists.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T: Serialize> {
    /// True unless the call failed.
    pub success: bool,
    /// The error message, `null` on success.
    pub message: Option<String>,
    /// The payload, `null` on failure.
    pub data: Option<T>,
    /// Lists: the size of the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// Lists: the page returned (1-based), `null` when every item is returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_num: Option<Option<usize>>,
    /// Lists: the page size, `null` when every item is returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<Option<usize>>,
}

/// Query parameters of a request, unknown ones (such as the UI's `ts`) included.
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, String>);

/// The requested page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    /// 1-based page number and page size; `None` returns every item.
    pub window: Option<(usize, usize)>,
}

// === impl Envelope ===

impl<T: Serialize> Envelope<T> {
    /// A failure with `message`.
    pub fn failure(message: String) -> Self {
        Self {
            success: false,
            message: Some(message),
            data: None,
            total: None,
            page_num: None,
            page_size: None,
        }
    }

    /// A success carrying `data`.
    pub fn success(data: Option<T>) -> Self {
        Self {
            success: true,
            message: None,
            data,
            total: None,
            page_num: None,
            page_size: None,
        }
    }
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(self).into_response()
    }
}

/// 200 with the wrapper around `data`.
pub fn ok<T: Serialize>(data: T) -> Response {
    Envelope::success(Some(data)).into_response()
}

/// 200 `{"success":true,"message":null,"data":null}`.
pub fn done() -> Response {
    Envelope::<()>::success(None).into_response()
}

/// 200 with a page of `items` in the wrapper, and the paging fields.
pub fn list<T: Serialize>(items: Vec<T>, page: Page) -> Response {
    let total = items.len();
    let (data, num, size): (Vec<T>, _, _) = match page.window {
        None => (items, None, None),
        Some((num, size)) => {
            let skip = (num - 1).saturating_mul(size);
            (
                items.into_iter().skip(skip).take(size).collect(),
                Some(num),
                Some(size),
            )
        }
    };
    Envelope {
        success: true,
        message: None,
        data: Some(data),
        total: Some(total),
        page_num: Some(num),
        page_size: Some(size),
    }
    .into_response()
}

/// 201 with the raw object.
pub fn created<T: Serialize>(raw: T) -> Response {
    (StatusCode::CREATED, Json(raw)).into_response()
}

/// 200 with the raw object.
pub fn raw<T: Serialize>(raw: T) -> Response {
    Json(raw).into_response()
}

/// 204, no body.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

// === impl Params ===

impl Params {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The paging parameters.
    pub fn page(&self) -> Result<Page, ApiError> {
        let number = |name: &str| -> Result<Option<usize>, ApiError> {
            match self.get(name).map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n >= 1 => Ok(Some(n)),
                    _ => Err(ApiError::field(
                        name,
                        format!("{v:?} is not a whole number of at least 1"),
                    )),
                },
            }
        };
        let (num, size) = (number("pageNum")?, number("pageSize")?);
        Ok(Page {
            window: match (num, size) {
                (None, None) => None,
                (n, s) => Some((n.unwrap_or(1), s.unwrap_or(10))),
            },
        })
    }

    /// A boolean parameter (`true`/`false`); absent is `false`.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name) {
            None | Some("") | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(ApiError::field(name, format!("{v:?} is not true or false"))),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<HashMap<String, String>>::from_request_parts(parts, state).await {
            Ok(Query(map)) => Ok(Self(map)),
            Err(e) => Err(ApiError::bad_request(format!(
                "query string: {}",
                e.body_text()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn paging_defaults_as_higress() {
        assert_eq!(params(&[("ts", "1")]).page().unwrap().window, None);
        assert_eq!(
            params(&[("pageNum", "2")]).page().unwrap().window,
            Some((2, 10))
        );
        assert_eq!(
            params(&[("pageSize", "3")]).page().unwrap().window,
            Some((1, 3))
        );
        let err = params(&[("pageNum", "0")]).page().unwrap_err();
        assert!(err.message.starts_with("pageNum:"), "{err:?}");
        assert!(params(&[("pageSize", "x")]).page().is_err());
    }
}
