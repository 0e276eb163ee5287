//! A WASI preview 1 shim with what proxy-wasm plugins use (Go `wasip1` and Rust
//! `wasm32-wasi` runtimes): no arguments or environment, real clocks and randomness,
//! stdout/stderr into the log, no files. `proc_exit` traps, so the VM is recycled.
//! Every other preview 1 call answers `ENOSYS` (vm.rs fills those in per module).

use wasmtime::{Caller, Linker};

use super::abi::memory::{read, write, write_u32};
use super::host_state::HostState;

/// The preview 1 module name.
pub const MODULE: &str = "wasi_snapshot_preview1";

const ESUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOENT: i32 = 44;
/// Not supported by the shim.
pub const ENOSYS: i32 = 52;

type C<'a> = Caller<'a, HostState>;

fn errno(r: Result<(), i32>) -> i32 {
    r.err().unwrap_or(ESUCCESS)
}

/// Registers the shim on `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for (count, size) in [
        ("args_sizes_get", "args_get"),
        ("environ_sizes_get", "environ_get"),
    ] {
        linker.func_wrap(MODULE, count, |mut c: C<'_>, n: i32, bytes: i32| {
            errno((|| {
                write_u32(&mut c, n, 0).map_err(|_| EFAULT)?;
                write_u32(&mut c, bytes, 0).map_err(|_| EFAULT)
            })())
        })?;
        linker.func_wrap(MODULE, size, |_c: C<'_>, _a: i32, _b: i32| ESUCCESS)?;
    }
    linker.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: C<'_>, id: i32, _precision: i64, ret: i32| {
            let nanos = match id {
                // realtime
                0 => std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
                // monotonic, process and thread CPU time: a monotonic clock
                _ => monotonic_nanos(),
            };
            errno(write(&mut c, ret, &nanos.to_le_bytes()).map_err(|_| EFAULT))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: C<'_>, _id: i32, ret: i32| {
            errno(write(&mut c, ret, &1u64.to_le_bytes()).map_err(|_| EFAULT))
        },
    )?;
    linker.func_wrap(MODULE, "random_get", |mut c: C<'_>, ptr: i32, len: i32| {
        errno((|| {
            let len = usize::try_from(len).map_err(|_| EINVAL)?;
            let mut buf = vec![0u8; len];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut buf)
                .map_err(|_| EINVAL)?;
            write(&mut c, ptr, &buf).map_err(|_| EFAULT)
        })())
    })?;
    linker.func_wrap(
        MODULE,
        "fd_write",
        |mut c: C<'_>, fd: i32, iovs: i32, n: i32, ret: i32| {
            errno((|| {
                if fd != 1 && fd != 2 {
                    return Err(EBADF);
                }
                let mut total = 0u32;
                let mut text = Vec::new();
                for i in 0..n {
                    let iov = read(&c, iovs + i * 8, 8).map_err(|_| EFAULT)?;
                    let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
                    let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                    text.extend(read(&c, ptr, len).map_err(|_| EFAULT)?);
                    total += len as u32;
                }
                let plugin = c.data().plugin.name.as_str();
                let text = String::from_utf8_lossy(&text);
                let text = text.trim_end();
                if !text.is_empty() {
                    tracing::info!(plugin, fd, "{text}");
                }
                write_u32(&mut c, ret, total).map_err(|_| EFAULT)
            })())
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_read",
        |mut c: C<'_>, fd: i32, _iovs: i32, _n: i32, ret: i32| {
            if fd != 0 {
                return EBADF;
            }
            errno(write_u32(&mut c, ret, 0).map_err(|_| EFAULT))
        },
    )?;
    linker.func_wrap(MODULE, "fd_close", |_c: C<'_>, _fd: i32| EBADF)?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: C<'_>, fd: i32, ret: i32| {
            if !(0..=2).contains(&fd) {
                return EBADF;
            }
            // filetype character device, no flags, all rights.
            let mut stat = [0u8; 24];
            stat[0] = 2;
            stat[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
            errno(write(&mut c, ret, &stat).map_err(|_| EFAULT))
        },
    )?;
    linker.func_wrap(
        MODULE,
        "fd_fdstat_set_flags",
        |_c: C<'_>, fd: i32, _flags: i32| {
            if (0..=2).contains(&fd) {
                ESUCCESS
            } else {
                EBADF
            }
        },
    )?;
    linker.func_wrap(MODULE, "fd_prestat_get", |_c: C<'_>, _fd: i32, _r: i32| {
        EBADF
    })?;
    linker.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |_c: C<'_>, _fd: i32, _p: i32, _l: i32| EBADF,
    )?;
    linker.func_wrap(
        MODULE,
        "path_open",
        |_c: C<'_>,
         _fd: i32,
         _df: i32,
         _p: i32,
         _l: i32,
         _of: i32,
         _rb: i64,
         _ri: i64,
         _ff: i32,
         _r: i32| ENOENT,
    )?;
    linker.func_wrap(
        MODULE,
        "path_filestat_get",
        |_c: C<'_>, _fd: i32, _f: i32, _p: i32, _l: i32, _r: i32| ENOENT,
    )?;
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        |mut c: C<'_>, _in: i32, _out: i32, _n: i32, ret: i32| {
            // Plugins must not sleep on the request path: no events, at once.
            let _ = write_u32(&mut c, ret, 0);
            ENOSYS
        },
    )?;
    linker.func_wrap(MODULE, "sched_yield", |_c: C<'_>| ESUCCESS)?;
    linker.func_wrap(
        MODULE,
        "proc_exit",
        |_c: C<'_>, code: i32| -> wasmtime::Result<()> {
            Err(wasmtime::Error::msg(format!(
                "plugin called proc_exit({code})"
            )))
        },
    )?;
    Ok(())
}

fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}
