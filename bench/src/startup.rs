//! Process start → first 200: spawn `gantry serve` on the quick-start config and
//! time until `GET /get` with `Host: foo.bar.com` is answered 200 by the backend.

use std::time::{Duration, Instant};

use gantry_tests::{free_port, Client, ConfigDir, EchoServer, Gantry};

use crate::args::Args;
use crate::stats::{Samples, HEADER};

/// How long one start may take before the run is abandoned.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Runs the benchmark and returns its Markdown table.
pub async fn run(args: &Args) -> Result<String, String> {
    let runs = args.usize("runs", 20)?;
    let httpbin = EchoServer::start("httpbin");
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
        let port = free_port();
        let client = Client::new(port);
        let start = Instant::now();
        let mut gw = Gantry::builder().console(true).spawn(config, port);
        loop {
            match client.get("foo.bar.com", "/get").await {
                Ok(reply)
                    if reply.status.as_u16() == 200 && reply.echo_name() == Some("httpbin") =>
                {
                    break
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
            if let Some(status) = gw.exit_status() {
                return Err(format!("gantry exited with {status}:\n{}", gw.log()));
            }
            if start.elapsed() > START_DEADLINE {
                return Err(format!("no 200 within {START_DEADLINE:?}:\n{}", gw.log()));
            }
        }
        let took = start.elapsed();
        gw.kill();
        eprintln!("start {}/{runs}: {took:?}", i + 1);
        samples.push(took);
    }
    let samples = Samples::new(samples);
    Ok(format!("{HEADER}{}", samples.row("spawn → first 200")))
}
