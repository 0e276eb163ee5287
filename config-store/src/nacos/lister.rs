//! [`Lister`]: lists every config of a group over Nacos's HTTP API, which the SDK cannot.
//!
//! `GET /nacos/v1/cs/configs?search=accurate&dataId=&group=<g>&tenant=<ns>&pageNo=N&pageSize=M`
//! answers every config of the group with its content, on Nacos 1.x/2.x/3.0–3.1 and rnacos
//! (the Nacos console lists that way). With auth on, an `accessToken` from
//! `POST /nacos/v1/auth/login` is added, and renewed on 403 or expiry. Nacos ≥ 3.2 dropped
//! this API (404/410): [`ListError::Gone`] tells the store to fall back to the names indexes.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::nacos::options::{Credentials, NacosOptions};

/// Configs asked for per page.
const PAGE_SIZE: u32 = 100;
/// A listing never reads more pages than this (100,000 configs).
const MAX_PAGES: u32 = 1_000;

/// Why a listing failed. Messages hold no credentials, tokens or content.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ListError {
    /// The server could not be reached or did not answer in time.
    #[error("{0}")]
    Unreachable(String),
    /// The server refused the login.
    #[error("Nacos refused the login (HTTP {0}): check --nacos-username and --nacos-password")]
    Login(u16),
    /// The server refused the listing.
    #[error("Nacos refused to list configs (HTTP {status}){hint}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What to do about it.
        hint: &'static str,
    },
    /// This server has no v1 config listing (Nacos ≥ 3.2).
    #[error("this Nacos has no v1 config listing (HTTP {0})")]
    Gone(u16),
    /// The answer was not a config page.
    #[error("unexpected answer to the config listing: {0}")]
    Format(String),
}

/// One listed config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Data id.
    pub data_id: String,
    /// Stored content.
    pub content: String,
}

/// Lists configs over HTTP.
pub struct Lister {
    http: reqwest::Client,
    base: String,
    namespace: String,
    credentials: Option<Credentials>,
    token: tokio::sync::Mutex<Option<Token>>,
}

struct Token {
    value: String,
    renew_at: Instant,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    #[serde(default)]
    pages_available: u32,
    #[serde(default)]
    page_items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    data_id: String,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    access_token: String,
    #[serde(default)]
    token_ttl: Option<u64>,
}

// === impl Lister ===

impl Lister {
    /// A lister for `options.server`.
    pub fn new(options: &NacosOptions) -> Result<Self, ListError> {
        let http = reqwest::Client::builder()
            .connect_timeout(options.request_timeout)
            .timeout(options.request_timeout * 2)
            .no_proxy()
            .build()
            .map_err(|e| ListError::Unreachable(e.without_url().to_string()))?;
        Ok(Self {
            http,
            base: format!("http://{}/nacos", options.server),
            namespace: options.namespace.clone(),
            credentials: options.credentials.clone(),
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// Every config of `group` with its content, in the server's order.
    pub async fn list(&self, group: &str) -> Result<Vec<Listed>, ListError> {
        let mut out = Vec::new();
        let mut page_no = 1;
        loop {
            let page = self.page(group, page_no).await?;
            let n = page.page_items.len();
            out.extend(
                page.page_items
                    .into_iter()
                    .filter(|i| i.group.as_deref().is_none_or(|g| g == group))
                    .map(|i| Listed {
                        data_id: i.data_id,
                        content: i.content.unwrap_or_default(),
                    }),
            );
            if n == 0 || page_no >= page.pages_available || page_no >= MAX_PAGES {
                return Ok(out);
            }
            page_no += 1;
        }
    }

    async fn page(&self, group: &str, page_no: u32) -> Result<Page, ListError> {
        let mut relogged = false;
        loop {
            let token = self.token(false).await?;
            let mut query = vec![
                ("search", "accurate".to_string()),
                ("dataId", String::new()),
                ("group", group.to_string()),
                ("tenant", self.namespace.clone()),
                ("pageNo", page_no.to_string()),
                ("pageSize", PAGE_SIZE.to_string()),
            ];
            if let Some(t) = token {
                query.push(("accessToken", t));
            }
            let resp = self
                .http
                .get(format!("{}/v1/cs/configs", self.base))
                .query(&query)
                .send()
                .await
                .map_err(unreachable)?;
            let status = resp.status().as_u16();
            match status {
                200 => {
                    let body = resp.bytes().await.map_err(unreachable)?;
                    return serde_json::from_slice(&body)
                        .map_err(|e| ListError::Format(e.to_string()));
                }
                401 | 403 if self.credentials.is_some() && !relogged => {
                    relogged = true;
                    self.token(true).await?;
                }
                401 | 403 if self.credentials.is_some() => {
                    return Err(ListError::Refused {
                        status,
                        hint: ": the user may lack read permission on the namespace",
                    })
                }
                401 | 403 => {
                    return Err(ListError::Refused {
                        status,
                        hint: ": Nacos has auth on; give --nacos-username and --nacos-password",
                    })
                }
                404 | 410 => return Err(ListError::Gone(status)),
                _ => return Err(ListError::Refused { status, hint: "" }),
            }
        }
    }

    /// The access token (logging in when there is none, it is due, or `renew`); `None`
    /// without credentials.
    async fn token(&self, renew: bool) -> Result<Option<String>, ListError> {
        let Some(c) = &self.credentials else {
            return Ok(None);
        };
        let mut token = self.token.lock().await;
        if let Some(t) = token
            .as_ref()
            .filter(|t| !renew && Instant::now() < t.renew_at)
        {
            return Ok(Some(t.value.clone()));
        }
        let resp = self
            .http
            .post(format!("{}/v1/auth/login", self.base))
            .form(&[("username", &c.username), ("password", &c.password)])
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(ListError::Login(status));
        }
        let body = resp.bytes().await.map_err(unreachable)?;
        let login: Login = serde_json::from_slice(&body)
            .map_err(|e| ListError::Format(format!("login answer: {e}")))?;
        // Renew at 80 % of the lifetime (Nacos: 18,000 s; rnacos: 3,600 s).
        let ttl = Duration::from_secs(login.token_ttl.unwrap_or(3_600));
        *token = Some(Token {
            value: login.access_token.clone(),
            renew_at: Instant::now() + ttl.mul_f64(0.8),
        });
        Ok(Some(login.access_token))
    }
}

/// A transport error, without the URL (it may carry the access token).
fn unreachable(e: reqwest::Error) -> ListError {
    let e = e.without_url();
    let why = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else {
        e.to_string()
    };
    ListError::Unreachable(why)
}
