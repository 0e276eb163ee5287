//! Idle memory: start `gantry serve` on the quick-start config, wait for the
//! first 200, let it settle, and read `VmRSS` / `VmHWM` from
//! `/proc/<pid>/status`; then again after 1,000 requests.

use std::time::Duration;

use gantry_tests::{ConfigDir, EchoServer, Gantry};

use crate::args::Args;

/// Requests sent before the second reading.
const REQUESTS: usize = 1_000;

/// Runs the benchmark and returns its Markdown table.
pub async fn run(args: &Args) -> Result<String, String> {
    let settle = args.duration("settle", Duration::from_secs(2))?;
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::builder()
        .console(true)
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    gw.client()
        .eventually_backend("foo.bar.com", "/get", "httpbin")
        .await;
    tokio::time::sleep(settle).await;
    let idle = read_status(gw.pid())?;

    for _ in 0..REQUESTS {
        let reply = gw.client().get("foo.bar.com", "/get").await?;
        if reply.status.as_u16() != 200 {
            return Err(format!("request failed: {}", reply.summary()));
        }
    }
    tokio::time::sleep(settle).await;
    let loaded = read_status(gw.pid())?;

    let mut table = String::from("| when | VmRSS | VmHWM (peak) |\n|---|---:|---:|\n");
    table.push_str(&format!(
        "| idle, {settle:?} after first 200 | {} | {} |\n",
        mib(idle.0),
        mib(idle.1)
    ));
    table.push_str(&format!(
        "| after {REQUESTS} sequential requests + {settle:?} | {} | {} |\n",
        mib(loaded.0),
        mib(loaded.1)
    ));
    Ok(table)
}

/// `(VmRSS, VmHWM)` in KiB from `/proc/<pid>/status`.
pub(crate) fn read_status(pid: u32) -> Result<(u64, u64), String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
    let field = |name: &str| -> Result<u64, String> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("{path} has no {name}"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// KiB as MiB with one decimal.
pub(crate) fn mib(kib: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1} MiB")
}
