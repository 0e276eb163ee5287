//! [`App`]: what every handler shares — the store, the gateway's status, the options, and
//! the login state (attempt limiter, Basic-auth cache).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use config_store::ConfigStore;

use crate::auth::limit::AttemptLimiter;
use crate::{ConsoleOptions, ConsoleState, StatusSource};

/// Login attempts allowed per client IP per [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS: u32 = 10;
/// The login rate-limit window.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// Shared handler state.
pub struct App {
    /// Where configuration is read and written.
    pub store: Arc<dyn ConfigStore>,
    /// The gateway's status.
    pub status: Arc<dyn StatusSource>,
    /// Flags.
    pub options: ConsoleOptions,
    /// Login attempts per client.
    pub limiter: AttemptLimiter,
    /// The last Basic credentials verified: (SHA-256 of `user:password`, the hash they
    /// matched), so scripts do not pay for argon2 on every call.
    pub basic_cache: Mutex<Option<(Vec<u8>, String)>>,
    /// Serialises changes to the admin account.
    pub account_lock: tokio::sync::Mutex<()>,
}

/// The handlers' state type.
pub type AppState = Arc<App>;

// === impl App ===

impl App {
    /// The shared state for `state`.
    pub fn new(state: ConsoleState) -> AppState {
        Arc::new(Self {
            store: state.store,
            status: state.status,
            options: state.options,
            limiter: AttemptLimiter::new(LOGIN_ATTEMPTS, LOGIN_WINDOW),
            basic_cache: Mutex::new(None),
            account_lock: tokio::sync::Mutex::new(()),
        })
    }
}
