//! `gantry-bench`: drives a release `gantry` binary and prints one Markdown table
//! per figure. `bench/run.sh` builds everything and collects the tables into
//! `docs/PERFORMANCE.md`.
//!
//! ```text
//! gantry-bench edit-latency --watch events|poll [--poll-interval 500ms] [--edits 100]
//! gantry-bench startup [--runs 20]
//! gantry-bench console [--edits 100] [--routes 1000] [--lists 20]
//! gantry-bench rss [--settle 2s]
//! gantry-bench scale [--hosts 1000] [--paths 10] [--runs 10] [--requests 1000] [--settle 2s]
//! gantry-bench generate --out DIR [--hosts 1000] [--paths 10] [--backend 127.0.0.1:8080]
//! gantry-bench nacos [--changes 100] [--resources 1000] [--runs 10] [--settle 2s]
//! gantry-bench nacos-instances [--changes 100]
//! gantry-bench grpc-echo [--name grpc]
//! gantry-bench grpc-body --out FILE [--text hello]
//! gantry-bench grpc-call --port PORT [--authority bench.local] [--text hello]
//! ```
//!
//! The gateway binary is `$GANTRY_BIN`, else `gantry` next to this executable. It runs
//! with its admin API on, as `gantry serve` does by default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod args;
mod console;
mod edit_latency;
mod generate;
mod grpc;
mod nacos;
mod nacos_instances;
mod rss;
mod scale;
mod startup;
mod stats;

use std::process::ExitCode;

use args::Args;

const USAGE: &str = "usage:
  gantry-bench edit-latency --watch events|poll [--poll-interval 500ms] [--edits 100]
  gantry-bench startup [--runs 20]
  gantry-bench console [--edits 100] [--routes 1000] [--lists 20]
  gantry-bench rss [--settle 2s]
  gantry-bench scale [--hosts 1000] [--paths 10] [--runs 10] [--requests 1000] [--settle 2s]
  gantry-bench generate --out DIR [--hosts 1000] [--paths 10] [--backend 127.0.0.1:8080]
  gantry-bench nacos [--changes 100] [--resources 1000] [--runs 10] [--settle 2s]
  gantry-bench nacos-instances [--changes 100]
  gantry-bench grpc-echo [--name grpc]
  gantry-bench grpc-body --out FILE [--text hello]
  gantry-bench grpc-call --port PORT [--authority bench.local] [--text hello]";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let Some(command) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let args = match Args::parse(argv) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "edit-latency" => edit_latency::run(&args).await,
        "startup" => startup::run(&args).await,
        "console" => console::run(&args).await,
        "rss" => rss::run(&args).await,
        "scale" => scale::run(&args).await,
        "generate" => generate::run(&args),
        "nacos" => nacos::run(&args).await,
        "nacos-instances" => nacos_instances::run(&args).await,
        "grpc-echo" => grpc::echo(&args).await,
        "grpc-body" => grpc::body(&args),
        "grpc-call" => grpc::call(&args).await,
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command {other:?}")),
    };
    match result {
        Ok(table) => {
            print!("{table}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
