//! [`JsonBody`]: a JSON request body whose errors are the API's 400 naming the field
//! (`services[0].port: invalid type …`). Unknown fields are ignored, as Higress's Jackson
//! setup ignores them; the `Content-Type` is not required.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A deserialized JSON body.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("request body: {}", e.body_text())))?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses `bytes` as `T`, naming the field of the first error.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "request body: a JSON object is required",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::bad_request(format!("request body: {inner}"))
        } else {
            ApiError::field(&path, inner)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Thing {
        #[allow(dead_code)]
        port: u16,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse::<Thing>(br#"{"port":"x","extra":1}"#).unwrap_err();
        assert!(e.message.starts_with("port: invalid type"), "{e:?}");
        assert!(parse::<Thing>(br#"{"port":1,"unknown":true}"#).is_ok());
        assert!(parse::<Thing>(b"")
            .unwrap_err()
            .message
            .contains("required"));
    }
}
