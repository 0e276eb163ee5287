//! Scale: the "10,000 routes over 1,000 hosts" config ([`ManyRoutes`]). Measures
//! `DirStore::load` and `gateway::compile` of that directory in this process (a fresh
//! `Discovery` per run, as at start-up), then `gantry serve` on it: spawn → first 200 on
//! the last host, and `VmRSS` / `VmHWM` after start and after requests spread over every
//! host.

use std::time::{Duration, Instant};

use config_store::DirStore;
use gantry_bench::many_routes::ManyRoutes;
use gantry_tests::{free_port, Client, EchoServer, Gantry};
use gateway::{compile, CompileOptions, Discovery};

use crate::args::Args;
use crate::rss::{mib, read_status};
use crate::stats::{ms, Samples, HEADER};

/// How long the gateway may take to serve the last host.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// Runs the benchmark and returns its Markdown tables.
pub async fn run(args: &Args) -> Result<String, String> {
    let shape = ManyRoutes {
        hosts: args.usize("hosts", ManyRoutes::ISSUE.hosts)?,
        paths_per_host: args.usize("paths", ManyRoutes::ISSUE.paths_per_host)?,
    };
    if shape.hosts == 0 || shape.paths_per_host < 2 {
        return Err("want --hosts ≥ 1 and --paths ≥ 2 (one Prefix path at least)".into());
    }
    let runs = args.usize("runs", 10)?;
    let requests = args.usize("requests", 1_000)?;
    let settle = args.duration("settle", Duration::from_secs(2))?;

    let backend = EchoServer::start("backend");
    let config = shape.write(backend.addr());
    eprintln!(
        "wrote {} routes over {} hosts to {}",
        shape.routes(),
        shape.hosts,
        config.path().display()
    );

    let (load, compiled) = compile_times(&shape, config.path(), runs)?;
    let total: Vec<Duration> = load.iter().zip(&compiled).map(|(l, c)| *l + *c).collect();
    let mut out = String::from(HEADER);
    out.push_str(&Samples::new(load).row("`DirStore::load` (read + parse + validate)"));
    out.push_str(&Samples::new(compiled).row("`gateway::compile` (fresh `Discovery`)"));
    out.push_str(&Samples::new(total).row("load + compile"));

    // The gateway on the same directory.
    let port = free_port();
    let client = Client::new(port);
    let (host, path) = shape.last_hit();
    let start = Instant::now();
    let mut gw = Gantry::builder().console(true).spawn(config, port);
    loop {
        match client.get(&host, &path).await {
            Ok(reply) if reply.status.as_u16() == 200 && reply.echo_name() == Some("backend") => {
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
    let first_200 = start.elapsed();

    tokio::time::sleep(settle).await;
    let idle = read_status(gw.pid())?;
    for k in 0..requests {
        // Walk the hosts with a stride so consecutive requests hit different hosts and routes.
        let i = (k * 7919) % shape.hosts;
        let (host, path) = shape.request(i, k % shape.paths_per_host);
        let reply = client.get(&host, &path).await?;
        if reply.status.as_u16() != 200 {
            return Err(format!("{host}{path}: {}", reply.summary()));
        }
    }
    tokio::time::sleep(settle).await;
    let loaded = read_status(gw.pid())?;
    gw.kill();

    out.push_str("\n| `gantry serve` on this config | value |\n|---|---:|\n");
    out.push_str(&format!(
        "| spawn → first 200 from the last host | {} |\n",
        ms(first_200)
    ));
    out.push_str(&format!(
        "| VmRSS / VmHWM (peak), {settle:?} after first 200 | {} / {} |\n",
        mib(idle.0),
        mib(idle.1)
    ));
    out.push_str(&format!(
        "| VmRSS / VmHWM (peak), after {requests} sequential requests over all hosts + {settle:?} | {} / {} |\n",
        mib(loaded.0),
        mib(loaded.1)
    ));
    Ok(out)
}

/// `runs` timings of `DirStore::load` and of `gateway::compile` on `dir`.
fn compile_times(
    shape: &ManyRoutes,
    dir: &std::path::Path,
    runs: usize,
) -> Result<(Vec<Duration>, Vec<Duration>), String> {
    let mut load = Vec::with_capacity(runs);
    let mut compiled = Vec::with_capacity(runs);
    for run in 0..runs {
        let start = Instant::now();
        let snapshot = DirStore::load(dir).map_err(|e| format!("load {}: {e}", dir.display()))?;
        let loaded = start.elapsed();
        let discovery = Discovery::new(Duration::from_secs(60));
        let start = Instant::now();
        let result = compile(&snapshot, &discovery, &CompileOptions::default());
        let took = start.elapsed();
        if let Some(e) = snapshot
            .diagnostics()
            .iter()
            .chain(&result.diagnostics)
            .find(|d| d.is_error())
        {
            return Err(format!("the generated config has an error: {e}"));
        }
        if result.table.len() != shape.routes() {
            return Err(format!(
                "compiled {} routes, expected {}",
                result.table.len(),
                shape.routes()
            ));
        }
        eprintln!(
            "compile {}/{runs}: load {loaded:?}, compile {took:?}",
            run + 1
        );
        load.push(loaded);
        compiled.push(took);
        drop(result);
    }
    Ok((load, compiled))
}
