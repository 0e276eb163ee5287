//! Who may call the admin API: a signed `_hi_sess` session cookie, or `Authorization: Basic`
//! for scripts. [`guard`] rejects every other request with 401; login attempts (and Basic
//! credentials not seen before) are rate limited per client IP.

pub mod account;
pub mod limit;
pub mod password;
pub mod token;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::app::{App, AppState};
use crate::error::{ApiError, ApiResult};
use account::Account;

/// The session cookie's name, as Higress names it.
pub const COOKIE_NAME: &str = "_hi_sess";
/// How long a session lasts without "remember me" (the cookie itself ends with the browser).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// How long a "remember me" (`autoLogin`) session and its cookie last: 30 days, as Higress.
pub const REMEMBER_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The signed-in user, put in the request's extensions by [`guard`].
#[derive(Debug, Clone)]
pub struct User(pub Account);

/// Lets the request through only with a valid session or Basic credentials.
pub async fn guard(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req);
    match app.authenticate(req.headers(), ip).await {
        Ok(account) => {
            req.extensions_mut().insert(User(account));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// The TCP peer's address, when the server recorded it.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// `Set-Cookie` for a new session; a browser-session cookie unless `max_age` is given.
pub fn session_cookie(token: &str, max_age: Option<Duration>) -> HeaderValue {
    let mut c = format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| clear_cookie())
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("_hi_sess=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn basic_fingerprint(user: &str, password: &str) -> Vec<u8> {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(user.as_bytes());
    ctx.update(b":");
    ctx.update(password.as_bytes());
    ctx.finish().as_ref().to_vec()
}

fn login_required() -> ApiError {
    ApiError::unauthorized("Login required.")
}

// === impl App ===

impl App {
    /// The account a request's cookie or Basic credentials prove.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
        ip: Option<IpAddr>,
    ) -> ApiResult<Account> {
        let account = self.account().ok_or_else(login_required)?;
        if let (Some(t), Some(key)) = (cookie(headers, COOKIE_NAME), &account.session_key) {
            if token::verify(key, account.hash(), t).as_deref() == Some(account.name.as_str()) {
                return Ok(account);
            }
        }
        let Some((user, password)) = basic(headers) else {
            return Err(login_required());
        };
        let fingerprint = basic_fingerprint(&user, &password);
        let cached = self
            .basic_cache_lock()
            .as_ref()
            .is_some_and(|(f, h)| *f == fingerprint && h == account.hash() && !h.is_empty());
        if cached && user == account.name {
            return Ok(account);
        }
        self.check_login(&account, &user, &password, ip).await?;
        *self.basic_cache_lock() = Some((fingerprint, account.hash().to_string()));
        Ok(account)
    }

    /// Counts a login attempt from `ip` and checks `user`/`password`: 429 over the limit,
    /// 401 when wrong.
    pub async fn check_login(
        &self,
        account: &Account,
        user: &str,
        password: &str,
        ip: Option<IpAddr>,
    ) -> ApiResult<()> {
        if let Err(wait) = self.limiter.attempt(ip) {
            tracing::warn!(client = ?ip, "console login rate limit reached");
            return Err(ApiError::too_many(format!(
                "Too many login attempts; retry in {} s.",
                wait.as_secs().max(1)
            )));
        }
        let ok = account::check(account.clone(), password.to_string()).await?;
        if !ok || user != account.name {
            tracing::warn!(client = ?ip, "console login failed");
            return Err(ApiError::unauthorized("Incorrect username or password"));
        }
        Ok(())
    }
}
