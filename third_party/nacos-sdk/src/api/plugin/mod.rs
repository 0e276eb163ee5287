#[cfg(feature = "config")]
mod config_filter;
#[cfg(feature = "config")]
pub use config_filter::*;

#[cfg(feature = "config")]
mod encryption;
#[cfg(feature = "config")]
pub use encryption::*;

/// Auth login plugin.
mod auth;
pub use auth::*;
