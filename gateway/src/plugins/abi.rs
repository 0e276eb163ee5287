//! The proxy-wasm host functions (ABI 0.2.0/0.2.1, plus what Envoy gives 0.2.100 plugins),
//! registered on a wasmtime `Linker<HostState>` under `env`. Each returns a proxy-wasm
//! [`Status`]; data goes back through the guest's allocator (`abi/memory.rs`).
//!
//! Header maps: 0/1 request headers/trailers, 2/3 response headers/trailers, 6/7 an HTTP
//! call's response headers/trailers. Buffers: 0/1 request/response body, 4 an HTTP call's
//! response body, 6 VM configuration, 7 plugin configuration, 9 a Redis call's reply.

pub mod http_call;
pub mod memory;
pub mod redis_call;

use wasmtime::{Caller, Linker};

use super::host_state::{HostState, LocalResponse};
use super::properties;
use memory::{decode_pairs, encode_pairs, read, read_str, return_bytes, write, write_u32};

/// proxy-wasm `WasmResult` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Ok = 0,
    /// No such key, property or queue.
    NotFound = 1,
    /// An argument is invalid.
    BadArgument = 2,
    /// Data could not be parsed.
    ParseFailure = 4,
    /// A pointer is out of bounds.
    InvalidMemoryAccess = 6,
    /// Nothing to return.
    Empty = 7,
    /// Shared data version mismatch.
    CasMismatch = 8,
    /// The host failed.
    InternalFailure = 10,
    /// Not implemented by Gantry.
    Unimplemented = 12,
}

fn code(r: Result<(), Status>) -> i32 {
    match r {
        Ok(()) => Status::Ok as i32,
        Err(s) => s as i32,
    }
}

type C<'a> = Caller<'a, HostState>;

/// The most verbose proxy-wasm log level (0 trace … 4 error) that Gantry's log filter
/// lets through for plugins, so plugins skip formatting lines nobody would see.
fn log_level() -> u32 {
    use tracing::Level;
    if tracing::enabled!(Level::TRACE) {
        0
    } else if tracing::enabled!(Level::DEBUG) {
        1
    } else if tracing::enabled!(Level::INFO) {
        2
    } else if tracing::enabled!(Level::WARN) {
        3
    } else {
        4
    }
}

/// Registers every host function on `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    add_logging(linker)?;
    add_headers(linker)?;
    add_buffers(linker)?;
    add_stream(linker)?;
    http_call::add(linker)?;
    redis_call::add(linker)?;
    add_properties(linker)?;
    add_shared(linker)?;
    add_metrics(linker)?;
    Ok(())
}

fn add_logging(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_log",
        |c: C<'_>, level: i32, ptr: i32, len: i32| {
            code((|| {
                let msg = read(&c, ptr, len)?;
                let msg = String::from_utf8_lossy(&msg);
                let plugin = c.data().plugin.name.as_str();
                match level {
                    0 => tracing::trace!(plugin, "{msg}"),
                    1 => tracing::debug!(plugin, "{msg}"),
                    2 => tracing::info!(plugin, "{msg}"),
                    3 => tracing::warn!(plugin, "{msg}"),
                    _ => tracing::error!(plugin, "{msg}"),
                }
                Ok(())
            })())
        },
    )?;
    linker.func_wrap("env", "proxy_get_log_level", |mut c: C<'_>, ret: i32| {
        code(write_u32(&mut c, ret, log_level()))
    })?;
    linker.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: C<'_>, ret: i32| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            code(write(&mut c, ret, &now.to_le_bytes()))
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: C<'_>, ms: i32| {
            c.data_mut().tick_period_ms = ms.max(0) as u32;
            Status::Ok as i32
        },
    )?;
    Ok(())
}

fn add_headers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: C<'_>, t: i32, kp: i32, kl: i32, rp: i32, rl: i32| {
            code((|| {
                let key = read_str(&c, kp, kl)?.to_ascii_lowercase();
                let map = c.data().map(t).ok_or(Status::BadArgument)?;
                let value = map
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
                    .ok_or(Status::NotFound)?;
                return_bytes(&mut c, &value, rp, rl)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: C<'_>, t: i32, rp: i32, rl: i32| {
            code((|| {
                let map = c.data().map(t).ok_or(Status::BadArgument)?;
                let bytes = encode_pairs(map.iter().map(|(k, v)| (k.as_bytes(), v.as_slice())));
                return_bytes(&mut c, &bytes, rp, rl)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_header_map_size",
        |mut c: C<'_>, t: i32, rp: i32| {
            code((|| {
                let map = c.data().map(t).ok_or(Status::BadArgument)?;
                let size: usize = map.iter().map(|(k, v)| k.len() + v.len()).sum();
                write_u32(&mut c, rp, size as u32)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: C<'_>, t: i32, p: i32, l: i32| {
            code((|| {
                let data = read(&c, p, l)?;
                let pairs = decode_pairs(&data).ok_or(Status::ParseFailure)?;
                let map = c.data_mut().map_mut(t).ok_or(Status::BadArgument)?;
                *map = pairs
                    .into_iter()
                    .map(|(k, v)| (String::from_utf8_lossy(&k).to_ascii_lowercase(), v))
                    .collect();
                Ok(())
            })())
        },
    )?;
    for (name, replace) in [
        ("proxy_add_header_map_value", false),
        ("proxy_replace_header_map_value", true),
    ] {
        linker.func_wrap(
            "env",
            name,
            move |mut c: C<'_>, t: i32, kp: i32, kl: i32, vp: i32, vl: i32| {
                code((|| {
                    let key = read_str(&c, kp, kl)?.to_ascii_lowercase();
                    let value = read(&c, vp, vl)?;
                    let map = c.data_mut().map_mut(t).ok_or(Status::BadArgument)?;
                    if replace {
                        if let Some(pos) = map.iter().position(|(k, _)| *k == key) {
                            map[pos].1 = value;
                            let mut seen = false;
                            map.retain(|(k, _)| {
                                if *k != key {
                                    return true;
                                }
                                let keep = !seen;
                                seen = true;
                                keep
                            });
                            return Ok(());
                        }
                    }
                    map.push((key, value));
                    Ok(())
                })())
            },
        )?;
    }
    linker.func_wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: C<'_>, t: i32, kp: i32, kl: i32| {
            code((|| {
                let key = read_str(&c, kp, kl)?.to_ascii_lowercase();
                let map = c.data_mut().map_mut(t).ok_or(Status::BadArgument)?;
                map.retain(|(k, _)| *k != key);
                Ok(())
            })())
        },
    )?;
    Ok(())
}

fn add_buffers(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: C<'_>, t: i32, start: i32, max: i32, rp: i32, rl: i32| {
            code((|| {
                let s = c.data();
                let buf: &[u8] = match t {
                    0 => &s.stream.request_body,
                    1 => &s.stream.response_body,
                    4 => s.stream.call_response.as_ref().map_or(&[][..], |r| &r.body),
                    9 => s
                        .stream
                        .redis_response
                        .as_ref()
                        .map_or(&[][..], |r| &r.reply),
                    6 => &s.plugin.vm_configuration,
                    7 => &s.plugin.configuration,
                    _ => return Err(Status::NotFound),
                };
                // Sizes are u32 on the wire; SDKs pass u32::MAX for "all".
                let start = start as u32 as usize;
                let max = max as u32 as usize;
                if start > buf.len() {
                    return Err(Status::BadArgument);
                }
                let end = start.saturating_add(max).min(buf.len());
                if start == end {
                    return Err(Status::NotFound);
                }
                let bytes = buf[start..end].to_vec();
                return_bytes(&mut c, &bytes, rp, rl)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: C<'_>, t: i32, lp: i32, fp: i32| {
            code((|| {
                let s = c.data();
                let len = match t {
                    0 => s.stream.request_body.len(),
                    1 => s.stream.response_body.len(),
                    4 => s.stream.call_response.as_ref().map_or(0, |r| r.body.len()),
                    9 => s
                        .stream
                        .redis_response
                        .as_ref()
                        .map_or(0, |r| r.reply.len()),
                    6 => s.plugin.vm_configuration.len(),
                    7 => s.plugin.configuration.len(),
                    _ => return Err(Status::NotFound),
                };
                write_u32(&mut c, lp, len as u32)?;
                write_u32(&mut c, fp, 0)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_buffer_bytes",
        |mut c: C<'_>, t: i32, start: i32, size: i32, dp: i32, dl: i32| {
            code((|| {
                let data = read(&c, dp, dl)?;
                let s = c.data_mut();
                let buf = match t {
                    0 => &mut s.stream.request_body,
                    1 => &mut s.stream.response_body,
                    _ => return Err(Status::BadArgument),
                };
                let start = (start as u32 as usize).min(buf.len());
                let size = size as u32 as usize;
                let end = start.saturating_add(size).min(buf.len());
                buf.splice(start..end, data);
                s.stream.body_dirty = true;
                Ok(())
            })())
        },
    )?;
    Ok(())
}

fn add_stream(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: C<'_>,
         status: i32,
         _dp: i32,
         _dl: i32,
         bp: i32,
         bl: i32,
         hp: i32,
         hl: i32,
         _grpc: i32| {
            code((|| {
                let body = read(&c, bp, bl)?;
                let headers = decode_pairs(&read(&c, hp, hl)?).ok_or(Status::ParseFailure)?;
                let status = u16::try_from(status)
                    .ok()
                    .filter(|s| (200..600).contains(s))
                    .ok_or(Status::BadArgument)?;
                c.data_mut().local_response = Some(LocalResponse {
                    status,
                    headers: headers
                        .into_iter()
                        .map(|(k, v)| (String::from_utf8_lossy(&k).to_ascii_lowercase(), v))
                        .collect(),
                    body,
                });
                Ok(())
            })())
        },
    )?;
    linker.func_wrap("env", "proxy_continue_stream", |mut c: C<'_>, _t: i32| {
        c.data_mut().resumed = true;
        Status::Ok as i32
    })?;
    for name in ["proxy_continue_request", "proxy_continue_response"] {
        linker.func_wrap("env", name, |mut c: C<'_>| {
            c.data_mut().resumed = true;
            Status::Ok as i32
        })?;
    }
    linker.func_wrap("env", "proxy_close_stream", |_c: C<'_>, _t: i32| {
        Status::Ok as i32
    })?;
    linker.func_wrap(
        "env",
        "proxy_set_effective_context",
        |mut c: C<'_>, id: i32| {
            c.data_mut().effective_context = id;
            Status::Ok as i32
        },
    )?;
    linker.func_wrap("env", "proxy_done", |mut c: C<'_>| {
        c.data_mut().done = true;
        Status::Ok as i32
    })?;
    linker.func_wrap(
        "env",
        "proxy_call_foreign_function",
        |mut c: C<'_>, np: i32, nl: i32, _ap: i32, _al: i32, rp: i32, rl: i32| {
            code((|| match read(&c, np, nl)?.as_slice() {
                // Higress's Envoy answers the plugin's log level (a little-endian u32); its
                // Go SDK asks before formatting every log line and formats them all when
                // there is no answer.
                b"get_log_level" => return_bytes(&mut c, &log_level().to_le_bytes(), rp, rl),
                _ => Err(Status::NotFound),
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_status",
        |_c: C<'_>, _cp: i32, _mp: i32, _ml: i32| Status::NotFound as i32,
    )?;
    Ok(())
}

fn add_properties(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: C<'_>, pp: i32, pl: i32, rp: i32, rl: i32| {
            code((|| {
                let path = read(&c, pp, pl)?;
                let value = properties::get(c.data(), &path).ok_or(Status::NotFound)?;
                return_bytes(&mut c, &value, rp, rl)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_property",
        |mut c: C<'_>, pp: i32, pl: i32, vp: i32, vl: i32| {
            code((|| {
                let path = read(&c, pp, pl)?;
                let value = read(&c, vp, vl)?;
                c.data_mut().stream.properties.insert(path, value);
                Ok(())
            })())
        },
    )?;
    Ok(())
}

fn add_shared(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: C<'_>, kp: i32, kl: i32, rp: i32, rl: i32, cas_ptr: i32| {
            code((|| {
                let key = read_str(&c, kp, kl)?;
                let (value, cas) = c.data().shared.get(&key).ok_or(Status::NotFound)?;
                return_bytes(&mut c, &value, rp, rl)?;
                write_u32(&mut c, cas_ptr, cas)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_set_shared_data",
        |c: C<'_>, kp: i32, kl: i32, vp: i32, vl: i32, cas: i32| {
            code((|| {
                let key = read_str(&c, kp, kl)?;
                let value = read(&c, vp, vl)?;
                c.data()
                    .shared
                    .set(&key, value, cas as u32)
                    .map_err(|_| Status::CasMismatch)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: C<'_>, np: i32, nl: i32, rp: i32| {
            code((|| {
                let name = read_str(&c, np, nl)?;
                let id = c.data().shared.register_queue(&name);
                write_u32(&mut c, rp, id)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: C<'_>, _vp: i32, _vl: i32, np: i32, nl: i32, rp: i32| {
            code((|| {
                let name = read_str(&c, np, nl)?;
                let id = c
                    .data()
                    .shared
                    .resolve_queue(&name)
                    .ok_or(Status::NotFound)?;
                write_u32(&mut c, rp, id)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |c: C<'_>, id: i32, vp: i32, vl: i32| {
            code((|| {
                let value = read(&c, vp, vl)?;
                if c.data().shared.enqueue(id as u32, value) {
                    Ok(())
                } else {
                    Err(Status::NotFound)
                }
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: C<'_>, id: i32, rp: i32, rl: i32| {
            let result = match c.data().shared.dequeue(id as u32) {
                Err(_) => Err(Status::NotFound),
                Ok(None) => Err(Status::Empty),
                Ok(Some(v)) => return_bytes(&mut c, &v, rp, rl),
            };
            code(result)
        },
    )?;
    Ok(())
}

fn add_metrics(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use std::sync::atomic::Ordering;
    linker.func_wrap(
        "env",
        "proxy_define_metric",
        |mut c: C<'_>, kind: i32, np: i32, nl: i32, rp: i32| {
            code((|| {
                let name = read_str(&c, np, nl)?;
                let id = c.data().shared.define_metric(kind, &name);
                write_u32(&mut c, rp, id)
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_increment_metric",
        |c: C<'_>, id: i32, by: i64| {
            code((|| {
                let m = c.data().shared.metric(id as u32).ok_or(Status::NotFound)?;
                m.increment(by);
                Ok(())
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_record_metric",
        |c: C<'_>, id: i32, value: i64| {
            code((|| {
                let m = c.data().shared.metric(id as u32).ok_or(Status::NotFound)?;
                m.record(value);
                Ok(())
            })())
        },
    )?;
    linker.func_wrap(
        "env",
        "proxy_get_metric",
        |mut c: C<'_>, id: i32, rp: i32| {
            code((|| {
                let m = c.data().shared.metric(id as u32).ok_or(Status::NotFound)?;
                let v = m.value.load(Ordering::Relaxed);
                write(&mut c, rp, &v.to_le_bytes())
            })())
        },
    )?;
    Ok(())
}
