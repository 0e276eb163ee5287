//! [`ApiError`]: the admin API's one error type, and its one mapping to a status and the
//! console's `{"success":false,"message":…,"data":null}` body.
//!
//! Validation → 400, authentication → 401, missing → 404, version or existence conflicts →
//! 409 (also a request the current state refuses, where Higress answers 500: a second
//! init, deleting a domain that has routes), not served by Gantry → 501, anything else → 500 (details logged, never returned).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use config_store::StoreError;

use crate::wrapper::Envelope;

/// A failed admin API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, safe to show (never a Secret value or an internal detail).
    pub message: String,
}

/// The result of an admin API handler.
pub type ApiResult<T> = Result<T, ApiError>;

// === impl ApiError ===

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request is invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 naming the field at fault.
    pub fn field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("{field}: {message}"))
    }

    /// 401: no valid session or credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404: no such resource.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the resource exists, or changed since it was read.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 429: too many attempts.
    pub fn too_many(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, message)
    }

    /// 501: the console feature is not served by Gantry yet.
    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{what} is not supported by Gantry yet"),
        )
    }

    /// 500: something failed inside; `detail` is logged, not returned.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("admin API internal error: {detail}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the gateway log has the details",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { diagnostics, .. } => {
                let lines: Vec<String> = diagnostics.iter().map(describe).collect();
                Self::bad_request(lines.join("; "))
            }
            StoreError::InvalidName(_) => Self::bad_request(e.to_string()),
            StoreError::NotFound { .. } => Self::not_found(e.to_string()),
            StoreError::Conflict { .. } | StoreError::Busy { .. } => Self::conflict(e.to_string()),
            StoreError::Unwritable { .. } => Self::conflict(e.to_string()),
            StoreError::Io { .. } | StoreError::Backend { .. } | StoreError::Watch { .. } => {
                Self::internal(e)
            }
        }
    }
}

/// A diagnostic as one line without its severity prefix: `<source>: <kind> <name>: <field>:
/// <message>`.
pub fn describe(d: &config_store::Diagnostic) -> String {
    let line = d.to_string();
    line.split_once(": ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(line)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, "admin API: {}", self.message);
        }
        (self.status, Envelope::<()>::failure(self.message)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use config_store::ResourceKind;

    #[test]
    fn store_errors_map_to_statuses() {
        let k = ResourceKind::Ingress;
        let name = || "r".to_string();
        let cases = [
            (
                StoreError::NotFound {
                    kind: k,
                    name: name(),
                },
                StatusCode::NOT_FOUND,
            ),
            (
                StoreError::Conflict {
                    kind: k,
                    name: name(),
                    current: Some("v".into()),
                },
                StatusCode::CONFLICT,
            ),
            (StoreError::InvalidName("A".into()), StatusCode::BAD_REQUEST),
            (
                StoreError::Io {
                    path: "x".into(),
                    source: std::io::Error::other("disk on fire"),
                },
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (e, status) in cases {
            let api = ApiError::from(e);
            assert_eq!(api.status, status);
            assert!(!api.message.contains("disk on fire"), "{api:?}");
        }
    }
}
