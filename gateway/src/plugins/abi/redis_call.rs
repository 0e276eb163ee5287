//! Higress's Redis host calls (not in the proxy-wasm spec; Higress's Envoy and its Go SDK
//! define them): `proxy_redis_init(cluster, username, password, timeout_ms)` records how to
//! reach a cluster (`?db=N` on its name selects the database), `proxy_redis_call(cluster,
//! query, token*)` records a RESP command run when the callback returns
//! ([`crate::plugins::redis_call`]); the reply arrives in `proxy_on_redis_call_response`
//! (buffer type 9). A call to an unknown cluster, or one never initialised, is
//! `BadArgument` at once.

use std::time::Duration;

use wasmtime::{Caller, Linker};

use super::memory::{read, read_str, write_u32};
use super::{code, Status};
use crate::plugins::host_state::{HostState, RedisCall};
use crate::plugins::redis_call::RedisSettings;

/// The timeout used when the plugin passes 0, and the longest it may ask for.
const DEFAULT_TIMEOUT_MS: u32 = 1_000;
const MAX_TIMEOUT_MS: u32 = 60_000;

/// Registers `proxy_redis_init` and `proxy_redis_call`.
pub fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_redis_init",
        |mut c: Caller<'_, HostState>,
         cp: i32,
         cl: i32,
         up: i32,
         ul: i32,
         pp: i32,
         pl: i32,
         timeout: i32| {
            code((|| {
                let name = read_str(&c, cp, cl)?;
                let (cluster, db) = RedisSettings::split_cluster(&name);
                let timeout_ms = match timeout as u32 {
                    0 => DEFAULT_TIMEOUT_MS,
                    t => t.min(MAX_TIMEOUT_MS),
                };
                let settings = RedisSettings {
                    username: read_str(&c, up, ul)?,
                    password: read_str(&c, pp, pl)?,
                    db,
                    timeout: Duration::from_millis(u64::from(timeout_ms)),
                };
                c.data_mut().redis.insert(cluster.to_owned(), settings);
                Ok(())
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_redis_call",
        |mut c: Caller<'_, HostState>, cp: i32, cl: i32, qp: i32, ql: i32, token_ptr: i32| {
            code((|| {
                let cluster = read_str(&c, cp, cl)?;
                let query = read(&c, qp, ql)?;
                let known = match &c.data().stream.facts.clusters {
                    Some(clusters) => clusters.contains(&cluster),
                    None => return Err(Status::Unimplemented),
                };
                let Some(settings) = c.data().redis.get(&cluster).cloned() else {
                    tracing::debug!(%cluster, "proxy_redis_call before proxy_redis_init");
                    return Err(Status::BadArgument);
                };
                if !known || query.is_empty() {
                    tracing::debug!(%cluster, "proxy_redis_call to an unknown cluster");
                    return Err(Status::BadArgument);
                }
                let s = c.data_mut();
                s.last_token = s.last_token.wrapping_add(1).max(1);
                let token = s.last_token;
                s.redis_calls.push(RedisCall {
                    token,
                    cluster,
                    query,
                    settings,
                });
                write_u32(&mut c, token_ptr, token)
            })())
        },
    )?;
    Ok(())
}
