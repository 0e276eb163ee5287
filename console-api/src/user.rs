//! `/user/info` and `/user/changePassword`, and the console's user shape
//! `{name, password: null, displayName, avatarUrl}`.

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::account::{self, Account, CONFIG_MAP_NAME};
use crate::auth::{clear_cookie, User};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::wrapper::{done, ok};

/// A console user as Higress returns it; the password is always `null`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    /// User name.
    pub name: String,
    /// Always `null`.
    pub password: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Avatar URL (`null`).
    pub avatar_url: Option<String>,
}

/// `POST /user/changePassword` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePassword {
    #[serde(default)]
    old_password: String,
    #[serde(default)]
    new_password: String,
}

// === impl UserDto ===

impl From<&Account> for UserDto {
    fn from(a: &Account) -> Self {
        Self {
            name: a.name.clone(),
            password: None,
            display_name: a.display_name.clone(),
            avatar_url: None,
        }
    }
}

/// `GET /user/info`.
pub async fn info(Extension(User(account)): Extension<User>) -> Response {
    ok(UserDto::from(&account))
}

/// `POST /user/changePassword`: checks the old password, stores the new one's hash, and
/// ends every session (the cookie is cleared; old cookies no longer verify).
pub async fn change_password(
    State(app): State<AppState>,
    Extension(User(account)): Extension<User>,
    JsonBody(body): JsonBody<ChangePassword>,
) -> ApiResult<Response> {
    if body.old_password.is_empty() {
        return Err(ApiError::field("oldPassword", "is required"));
    }
    if body.new_password.is_empty() {
        return Err(ApiError::field("newPassword", "is required"));
    }
    let disabled = app
        .store
        .snapshot()
        .config_map(CONFIG_MAP_NAME)
        .and_then(|cm| cm.data.get("admin.password-change.disabled").cloned())
        .is_some_and(|v| v == "true");
    if disabled {
        return Err(ApiError::conflict(
            "Changing the admin password is disabled (admin.password-change.disabled).",
        ));
    }
    if !account::check(account.clone(), body.old_password).await? {
        return Err(ApiError::bad_request("Incorrect old password."));
    }
    let hash = account::hash_password(body.new_password).await?;
    {
        let _guard = app.account_lock.lock().await;
        app.write_account(None, None, &hash).await?;
    }
    tracing::info!(user = %account.name, "console admin password changed");
    let mut resp = done();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(resp.into_response())
}
