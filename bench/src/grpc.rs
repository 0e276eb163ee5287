//! The gRPC pieces of `bench/compare.sh`'s "gRPC unary (h2c)" runs, from the shell:
//!
//! - `grpc-echo`: the `gantry-tests` gRPC echo backend ([`GrpcServer`], h2c, method
//!   [`UNARY`]) on a free loopback port. It prints `listening 127.0.0.1:PORT` as its
//!   first stdout line and serves until SIGTERM or SIGINT. The server runs on one thread
//!   with a current-thread runtime (the driver's main thread only waits), so pinned with
//!   `taskset -c 0` it is a one-worker backend like the others in the comparison.
//! - `grpc-body`: writes one framed request (the 5-byte gRPC prefix and the protobuf of an
//!   `EchoMessage`) to a file, for `h2load -d FILE`.
//! - `grpc-call`: one unary call over h2c, to check a path end to end before measuring:
//!   fails unless the reply is HTTP 200 with `grpc-status: 0` and echoes the text.

use std::io::Write as _;

use gantry_tests::grpc::{encode, EchoMessage, GrpcClient, GrpcServer, UNARY};
use tokio::signal::unix::{signal, SignalKind};

use crate::args::Args;

/// The text of the request message unless `--text` says otherwise.
const DEFAULT_TEXT: &str = "hello";

/// `grpc-echo [--name grpc]`: serves until SIGTERM or SIGINT.
pub async fn echo(args: &Args) -> Result<String, String> {
    let name = args.string("name", "grpc");
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;
    let server = GrpcServer::start(&name);
    {
        // The script reads the port from this line, so it must not wait in a buffer.
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening {}", server.addr()).map_err(|e| format!("stdout: {e}"))?;
        out.flush().map_err(|e| format!("stdout: {e}"))?;
    }
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    drop(server);
    Ok(String::new())
}

/// `grpc-body --out FILE [--text hello]`: writes the framed request message to `FILE`.
pub fn body(args: &Args) -> Result<String, String> {
    let out = args.string("out", "");
    if out.is_empty() {
        return Err("grpc-body needs --out FILE".into());
    }
    let text = args.string("text", DEFAULT_TEXT);
    let framed = encode(&EchoMessage::new(&text));
    std::fs::write(&out, &framed).map_err(|e| format!("write {out}: {e}"))?;
    Ok(String::new())
}

/// `grpc-call --port PORT [--authority bench.local] [--text hello]`: one unary call to
/// `127.0.0.1:PORT` over h2c; prints `grpc-status 0, served_by NAME` on success.
pub async fn call(args: &Args) -> Result<String, String> {
    let port = args.usize("port", 0)?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("grpc-call needs --port 1..65535, got {port}"))?;
    let authority = args.string("authority", "bench.local");
    let text = args.string("text", DEFAULT_TEXT);
    let mut client = GrpcClient::h2c(port, &authority).await?;
    let reply = client.unary(UNARY, &EchoMessage::new(&text)).await?;
    let status = reply.grpc_status();
    let echoed = reply.messages.first().map(|m| m.text.as_str());
    if reply.http_status.as_u16() != 200
        || status.as_deref() != Some("0")
        || echoed != Some(text.as_str())
    {
        return Err(format!(
            "127.0.0.1:{port} {UNARY}: unexpected reply {reply:?}"
        ));
    }
    let served_by = reply.messages.first().map_or("", |m| m.served_by.as_str());
    Ok(format!("grpc-status 0, served_by {served_by}\n"))
}
