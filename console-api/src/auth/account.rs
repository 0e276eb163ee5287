//! The admin account, kept where Higress keeps it: Secret `higress-console`
//! (`adminUsername`, `adminDisplayName`), but with an argon2 hash (`adminPasswordHash`)
//! instead of Higress's plain `adminPassword`, and the session signing key (`sessionKey`).
//! A plain `adminPassword` written by Higress is accepted once and replaced by its hash.
//! Other keys of the Secret (Higress's `key`, `iv`, …) are kept.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use config_store::{Precondition, ResourceKind, Snapshot};
use serde_json::{json, Value};

use crate::app::App;
use crate::auth::password;
use crate::doc::{self, child, root};
use crate::error::{ApiError, ApiResult};

/// The Secret holding the admin account.
pub const SECRET_NAME: &str = "higress-console";
/// The console's settings ConfigMap (`system.initialized`, `login.prompt`, …).
pub const CONFIG_MAP_NAME: &str = "higress-console";
/// The Secret key of the user name.
pub const USERNAME_KEY: &str = "adminUsername";
/// The Secret key of the display name.
pub const DISPLAY_NAME_KEY: &str = "adminDisplayName";
/// Higress's plain-text password key, migrated away on first use.
pub const PLAIN_PASSWORD_KEY: &str = "adminPassword";
/// Gantry's argon2 password hash key.
pub const HASH_KEY: &str = "adminPasswordHash";
/// Gantry's session signing key.
pub const SESSION_KEY: &str = "sessionKey";
/// The label every console-written object carries.
pub const DEFINER_LABEL: &str = "higress.io/resource-definer";

/// How the password is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An argon2 PHC string.
    Hash(String),
    /// Higress's plain text, not migrated yet.
    Plain(Vec<u8>),
}

/// The admin account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// User name (`admin`).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// The password.
    pub credential: Credential,
    /// The session signing key, if one was made.
    pub session_key: Option<Vec<u8>>,
}

// === impl Account ===

impl Account {
    /// The account in `snapshot`; `None` until the console is initialised.
    pub fn from_snapshot(snapshot: &Snapshot) -> Option<Self> {
        let secret = snapshot.secret(SECRET_NAME)?;
        let text = |key: &str| {
            secret
                .value(key)
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string)
                .filter(|s| !s.is_empty())
        };
        let name = text(USERNAME_KEY)?;
        let credential = match text(HASH_KEY) {
            Some(h) => Credential::Hash(h),
            None => Credential::Plain(
                secret
                    .value(PLAIN_PASSWORD_KEY)
                    .filter(|p| !p.is_empty())?
                    .to_vec(),
            ),
        };
        Some(Self {
            display_name: text(DISPLAY_NAME_KEY).unwrap_or_else(|| name.clone()),
            name,
            credential,
            session_key: secret
                .value(SESSION_KEY)
                .filter(|k| k.len() >= 32)
                .map(<[u8]>::to_vec),
        })
    }

    /// Checks `password` (argon2: slow, call off the async threads).
    pub fn check_password(&self, password: &str) -> bool {
        match &self.credential {
            Credential::Hash(h) => password::verify(password, h),
            Credential::Plain(p) => password::equal_plain(p, password.as_bytes()),
        }
    }

    /// The hash sessions are bound to (empty until migrated).
    pub fn hash(&self) -> &str {
        match &self.credential {
            Credential::Hash(h) => h,
            Credential::Plain(_) => "",
        }
    }

    /// True when the stored form needs rewriting (plain password, no session key).
    pub fn needs_migration(&self) -> bool {
        matches!(self.credential, Credential::Plain(_)) || self.session_key.is_none()
    }
}

/// Hashes `password` off the async threads.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// Checks `password` against `account` off the async threads.
pub async fn check(account: Account, password: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || account.check_password(&password))
        .await
        .map_err(ApiError::internal)
}

// === impl App ===

impl App {
    /// The admin account now.
    pub fn account(&self) -> Option<Account> {
        Account::from_snapshot(&self.store.snapshot())
    }

    /// Writes the account: `name`/`display_name` when given, the password hash, and a
    /// session key (kept if there is one). Removes a plain `adminPassword`. Other keys stay.
    pub async fn write_account(
        &self,
        name: Option<&str>,
        display_name: Option<&str>,
        hash: &str,
    ) -> ApiResult<()> {
        let existing = doc::get(self.store.as_ref(), ResourceKind::Secret, SECRET_NAME).await?;
        let (mut value, precondition, previous) = match &existing {
            Some(d) => (
                d.value.clone(),
                Precondition::Version(d.version.clone()),
                Some(d.yaml.as_str()),
            ),
            None => (
                doc::skeleton(ResourceKind::Secret, SECRET_NAME),
                Precondition::Absent,
                None,
            ),
        };
        let top = root(&mut value);
        top.insert("type".into(), json!("Opaque"));
        child(child(top, "metadata"), "labels").insert(DEFINER_LABEL.into(), json!("higress"));
        if let Some(Value::Object(string_data)) = top.get_mut("stringData") {
            string_data.remove(PLAIN_PASSWORD_KEY);
            string_data.remove(HASH_KEY);
        }
        let data = child(top, "data");
        data.remove(PLAIN_PASSWORD_KEY);
        let mut set = |key: &str, v: &[u8]| {
            data.insert(key.to_string(), json!(STANDARD.encode(v)));
        };
        if let Some(n) = name {
            set(USERNAME_KEY, n.as_bytes());
        }
        if let Some(d) = display_name {
            set(DISPLAY_NAME_KEY, d.as_bytes());
        }
        set(HASH_KEY, hash.as_bytes());
        let has_key = data
            .get(SESSION_KEY)
            .and_then(Value::as_str)
            .and_then(|k| STANDARD.decode(k).ok())
            .is_some_and(|k| k.len() >= 32);
        if !has_key {
            let key = password::random_bytes(32).map_err(ApiError::internal)?;
            data.insert(SESSION_KEY.into(), json!(STANDARD.encode(key)));
        }
        let yaml = doc::to_yaml(&value)?;
        self.put(
            ResourceKind::Secret,
            SECRET_NAME,
            &yaml,
            precondition,
            previous,
        )
        .await?;
        *self.basic_cache_lock() = None;
        Ok(())
    }

    /// Sets `entries` (string values) in the console ConfigMap.
    pub async fn write_console_config(&self, entries: &[(String, String)]) -> ApiResult<()> {
        let existing = doc::get(
            self.store.as_ref(),
            ResourceKind::ConfigMap,
            CONFIG_MAP_NAME,
        )
        .await?;
        let (mut value, precondition, previous) = match &existing {
            Some(d) => (
                d.value.clone(),
                Precondition::Version(d.version.clone()),
                Some(d.yaml.as_str()),
            ),
            None => (
                doc::skeleton(ResourceKind::ConfigMap, CONFIG_MAP_NAME),
                Precondition::Absent,
                None,
            ),
        };
        let top = root(&mut value);
        child(child(top, "metadata"), "labels").insert(DEFINER_LABEL.into(), json!("higress"));
        let data = child(top, "data");
        for (k, v) in entries {
            data.insert(k.clone(), json!(v));
        }
        let yaml = doc::to_yaml(&value)?;
        self.put(
            ResourceKind::ConfigMap,
            CONFIG_MAP_NAME,
            &yaml,
            precondition,
            previous,
        )
        .await?;
        Ok(())
    }

    /// Creates the admin account unless one exists; `Ok(false)` when one does.
    pub async fn initialize(
        &self,
        name: &str,
        display_name: &str,
        password: &str,
        configs: &[(String, String)],
    ) -> ApiResult<bool> {
        let _guard = self.account_lock.lock().await;
        if self.account().is_some() {
            return Ok(false);
        }
        let hash = hash_password(password.to_string()).await?;
        self.write_account(Some(name), Some(display_name), &hash)
            .await?;
        let mut entries = configs.to_vec();
        entries.push(("system.initialized".into(), "true".into()));
        self.write_console_config(&entries).await?;
        tracing::info!(user = name, "console admin initialized");
        Ok(true)
    }

    /// Rewrites a plain-text or key-less account after `password` was checked.
    pub async fn migrate(&self, account: &Account, password: &str) -> ApiResult<()> {
        let _guard = self.account_lock.lock().await;
        if self.account().as_ref() != Some(account) || !account.needs_migration() {
            return Ok(());
        }
        let hash = match &account.credential {
            Credential::Hash(h) => h.clone(),
            Credential::Plain(_) => hash_password(password.to_string()).await?,
        };
        self.write_account(None, None, &hash).await?;
        tracing::info!("console admin password stored as an argon2 hash (was plain text)");
        Ok(())
    }

    /// Sets up the account at start: `--console-password` initialises it; a plain-text
    /// password left by Higress is hashed.
    pub async fn bootstrap(&self) {
        let result = match (self.account(), self.options.admin_password.clone()) {
            (None, Some(pw)) if !pw.is_empty() => self
                .initialize("admin", "admin", &pw, &[])
                .await
                .map(|_| ()),
            (Some(account), Some(pw)) => {
                tracing::info!("console admin exists; --console-password is not applied (change it in the console)");
                if account.needs_migration() && check(account.clone(), pw.clone()).await == Ok(true)
                {
                    self.migrate(&account, &pw).await
                } else {
                    Ok(())
                }
            }
            (Some(account), None) => match &account.credential {
                Credential::Plain(p) => match std::str::from_utf8(p) {
                    Ok(pw) => {
                        let pw = pw.to_string();
                        self.migrate(&account, &pw).await
                    }
                    Err(_) => Ok(()),
                },
                Credential::Hash(_) => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::error!("console admin setup failed: {}", e.message);
        }
    }

    /// The Basic-auth cache, even if a holder panicked.
    pub fn basic_cache_lock(&self) -> std::sync::MutexGuard<'_, Option<(Vec<u8>, String)>> {
        match self.basic_cache.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}
