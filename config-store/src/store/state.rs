//! [`StoreState`]: whether a store can read its backend right now, for status and readiness.

use serde::Serialize;

/// Whether the store's last read of its backend worked. Either way the last good
/// configuration stays in force; this only says whether it is current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum StoreState {
    /// The last read worked.
    #[default]
    Ok,
    /// The last read failed; what is served may be out of date.
    Unreachable {
        /// Why (no Secret values, paths relative to the store root).
        message: String,
    },
}

// === impl StoreState ===

impl StoreState {
    /// True when the last read worked.
    pub fn is_ok(&self) -> bool {
        matches!(self, StoreState::Ok)
    }
}
