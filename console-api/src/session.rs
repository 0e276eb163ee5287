//! `/session/login` and `/session/logout`.

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{clear_cookie, client_ip, session_cookie, token, REMEMBER_TTL, SESSION_TTL};
use crate::body;
use crate::error::{ApiError, ApiResult};
use crate::user::UserDto;
use crate::wrapper::{created, done};

/// `POST /session/login` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    auto_login: Option<bool>,
}

/// `POST /session/login`: 201 with the user and the `_hi_sess` cookie; 401 when wrong; 429
/// after too many attempts from one client.
pub async fn login(State(app): State<AppState>, req: Request) -> ApiResult<Response> {
    let ip = client_ip(&req);
    let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    let login: Login = body::parse(&bytes)?;
    if login.username.is_empty() {
        return Err(ApiError::field("username", "is required"));
    }
    if login.password.is_empty() {
        return Err(ApiError::field("password", "is required"));
    }
    let account = app
        .account()
        .ok_or_else(|| ApiError::conflict("The console is not initialized yet."))?;
    app.check_login(&account, &login.username, &login.password, ip)
        .await?;
    let account = if account.needs_migration() {
        app.migrate(&account, &login.password).await?;
        app.account()
            .ok_or_else(|| ApiError::internal("admin account vanished after migration"))?
    } else {
        account
    };
    let Some(key) = &account.session_key else {
        return Err(ApiError::internal("no session key after migration"));
    };
    let remember = login.auto_login == Some(true);
    let ttl = if remember { REMEMBER_TTL } else { SESSION_TTL };
    let t = token::issue(key, account.hash(), &account.name, ttl);
    let mut resp = created(UserDto::from(&account));
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&t, remember.then_some(REMEMBER_TTL)),
    );
    tracing::info!(user = %account.name, client = ?ip, "console login");
    Ok(resp)
}

/// `GET /session/logout`: clears the cookie.
pub async fn logout() -> Response {
    let mut resp = done();
    resp.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    resp
}
