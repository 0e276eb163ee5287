//! The data plane: compiles config [`Snapshot`](config_store::Snapshot)s into immutable
//! [`RouteTable`]s and serves them with Pingora.
//!
//! Flow: `Gateway::apply(snapshot)` → [`compile`] (hosts, ordered routes, upstream groups) →
//! [`Discovery`] resolves new upstream targets → the table is swapped with `ArcSwap` → each
//! request in [`proxy`] loads one `Arc<RouteTable>` and keeps it for its whole life.

pub mod compile;
pub mod discovery;
pub mod filter;
pub mod gateway;
pub mod global_options;
pub mod observe;
pub mod plugins;
pub mod policy;
pub mod proxy;
pub mod route_table;
pub mod server;
pub mod tls;
pub mod upstream;

pub use compile::{compile, CompileOptions};
pub use discovery::Discovery;
pub use gateway::Gateway;
pub use proxy::GatewayProxy;
pub use route_table::RouteTable;
