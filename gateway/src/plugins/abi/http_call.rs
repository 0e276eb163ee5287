//! `proxy_http_call`: a plugin asks the host for an HTTP request to a cluster. The call is
//! recorded with a fresh token and run by the host when the current callback returns
//! ([`crate::plugins::http_call`]); its answer arrives in `proxy_on_http_call_response`
//! (map types 6/7, buffer type 4). As Envoy: the request needs `:method`, `:path` and
//! `:authority`, and an unknown cluster is `BadArgument` at once.

use wasmtime::{Caller, Linker};

use super::memory::{decode_pairs, read, read_str, write_u32};
use super::{code, Status};
use crate::plugins::host_state::{HostState, HttpCall};

/// The longest timeout a plugin may ask for.
const MAX_TIMEOUT_MS: u32 = 60_000;

/// Registers `proxy_http_call`.
pub fn add(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Caller<'_, HostState>,
         up: i32,
         ul: i32,
         hp: i32,
         hl: i32,
         bp: i32,
         bl: i32,
         tp: i32,
         tl: i32,
         timeout: i32,
         token_ptr: i32| {
            code((|| {
                let cluster = read_str(&c, up, ul)?;
                let headers: Vec<(String, Vec<u8>)> = decode_pairs(&read(&c, hp, hl)?)
                    .ok_or(Status::ParseFailure)?
                    .into_iter()
                    .map(|(k, v)| (String::from_utf8_lossy(&k).to_ascii_lowercase(), v))
                    .collect();
                let _trailers = decode_pairs(&read(&c, tp, tl)?).ok_or(Status::ParseFailure)?;
                let body = read(&c, bp, bl)?;
                let has = |name: &str| headers.iter().any(|(k, v)| k == name && !v.is_empty());
                if !has(":method") || !has(":path") || !has(":authority") {
                    return Err(Status::BadArgument);
                }
                let known = match &c.data().stream.facts.clusters {
                    Some(clusters) => clusters.contains(&cluster),
                    None => return Err(Status::Unimplemented),
                };
                if !known {
                    tracing::debug!(%cluster, "proxy_http_call to an unknown cluster");
                    return Err(Status::BadArgument);
                }
                let s = c.data_mut();
                s.last_token = s.last_token.wrapping_add(1).max(1);
                let token = s.last_token;
                s.calls.push(HttpCall {
                    token,
                    cluster,
                    headers,
                    body,
                    timeout_ms: (timeout as u32).clamp(1, MAX_TIMEOUT_MS),
                });
                write_u32(&mut c, token_ptr, token)
            })())
        },
    )?;
    Ok(())
}
