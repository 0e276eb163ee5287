//! The Nacos store (`--config nacos://…`) against rnacos on loopback: publish → served
//! latency of a change made in Nacos, load time of 1,000 resources, and the gateway's
//! memory with the Nacos client connected.
//!
//! Changes are published over rnacos's HTTP open API (as the Nacos console does); the
//! gateway gets them by push (SDK listener). Before each change the driver waits a
//! pseudo-random pause of 0–100 ms.

use std::time::{Duration, Instant};

use config_store::{NacosOptions, NacosStore};
use gantry_tests::config::mcpbridge;
use gantry_tests::rnacos::NS;
use gantry_tests::{free_port, Client, ConfigDir, Gantry, Ingress, Registry, Rnacos};

use crate::args::Args;
use crate::rss::{mib, read_status};
use crate::stats::{Samples, HEADER};

/// How long one change may take before the run is abandoned.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);

/// Runs the benchmark and returns its Markdown tables.
pub async fn run(args: &Args) -> Result<String, String> {
    let changes = args.usize("changes", 100)?;
    let resources = args.usize("resources", 1_000)?;
    let runs = args.usize("runs", 10)?;
    let settle = args.duration("settle", Duration::from_secs(2))?;
    let nacos = Rnacos::start().await;
    let (one, _two) = nacos.put_two_backends().await;
    let route = |to: &str| Ingress::host_route("route-a", "a.com", to).yaml();
    nacos
        .put_resource("ingresses", "route-a", &route("one.static"))
        .await;

    // Publish → served.
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data_home = data.path().display().to_string();
    let gw = Gantry::builder()
        .config_arg(&nacos.config_url())
        .console(true)
        .env("GANTRY_DATA_DIR", &data_home)
        .start(ConfigDir::new())
        .await;
    wait_for(gw.client(), "a.com", "one").await?;
    tokio::time::sleep(settle).await;
    let (rss_small, hwm_small) = read_status(gw.pid())?;
    let mut rng = seed();
    let mut samples = Vec::with_capacity(changes);
    for i in 0..changes {
        let to = if i % 2 == 0 { "two" } else { "one" };
        tokio::time::sleep(pause(&mut rng, Duration::from_millis(100))).await;
        let start = Instant::now();
        nacos
            .publish(NS, NS, "ingresses.route-a", &route(&format!("{to}.static")))
            .await;
        wait_for(gw.client(), "a.com", to).await?;
        samples.push(start.elapsed());
        eprintln!("change {}/{changes}: {:?}", i + 1, start.elapsed());
    }
    drop(gw);
    let mut out = String::from(HEADER);
    out.push_str(&Samples::new(samples).row("Nacos publish (HTTP API) → served (push)"));

    // 1,000 resources.
    let backend = Registry::fixed("backend", one.addr());
    nacos
        .put_resource("mcpbridges", "default", &mcpbridge(&[backend]))
        .await;
    nacos.remove(NS, NS, "ingresses.route-a").await;
    let mut index = String::new();
    for i in 0..resources.saturating_sub(1) {
        let name = format!("route-h{i:04}");
        let yaml =
            Ingress::host_route(&name, &format!("h{i:04}.example.com"), "backend.static").yaml();
        nacos
            .publish(NS, NS, &format!("ingresses.{name}"), &yaml)
            .await;
        index.push_str(&format!("{NS}/ingresses.{name}\n"));
    }
    nacos
        .publish(NS, "DEFAULT_GROUP", "ingresses.__names__", &index)
        .await;
    eprintln!("published {resources} resources");
    let options = NacosOptions::new(nacos.addr());
    let mut loads = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let snapshot = NacosStore::load(&options)
            .await
            .map_err(|e| e.to_string())?;
        loads.push(start.elapsed());
        if snapshot.objects().count() != resources {
            return Err(format!(
                "loaded {} resources, want {resources}",
                snapshot.objects().count()
            ));
        }
    }
    out.push_str(&Samples::new(loads).row(&format!(
        "`NacosStore::load` of {resources} resources (HTTP listing + parse + validate)"
    )));
    let last = format!("h{:04}.example.com", resources.saturating_sub(2));
    let mut starts = Vec::with_capacity(runs);
    let mut memory = (0, 0);
    for _ in 0..runs {
        let port = free_port();
        let start = Instant::now();
        let fresh = tempfile::tempdir().map_err(|e| e.to_string())?;
        let gw = Gantry::builder()
            .config_arg(&nacos.config_url())
            .console(true)
            .env("GANTRY_DATA_DIR", &fresh.path().display().to_string())
            .spawn(ConfigDir::new(), port);
        wait_for(&Client::new(port), &last, "one").await?;
        starts.push(start.elapsed());
        tokio::time::sleep(settle).await;
        memory = read_status(gw.pid())?;
    }
    out.push_str(&Samples::new(starts).row(&format!(
        "`gantry serve` spawn → first 200 on the last of {resources} resources"
    )));
    out.push_str(&format!(
        "\n| gateway memory, Nacos client connected | VmRSS | VmHWM (peak) |\n|---|---:|---:|\n\
         | quick-start-sized config (2 resources), {settle:?} after the first 200 | {} | {} |\n\
         | {resources} resources, {settle:?} after the first 200 | {} | {} |\n",
        mib(rss_small),
        mib(hwm_small),
        mib(memory.0),
        mib(memory.1)
    ));
    Ok(out)
}

/// Polls without pausing until `backend` answers on `host`.
async fn wait_for(client: &Client, host: &str, backend: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match client.get(host, "/").await {
            Ok(reply) if reply.status.as_u16() == 200 && reply.echo_name() == Some(backend) => {
                return Ok(())
            }
            Ok(_) => {}
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        if start.elapsed() > CHANGE_DEADLINE {
            return Err(format!(
                "{backend} did not answer on {host} within {CHANGE_DEADLINE:?}"
            ));
        }
    }
}

/// A xorshift seed from the clock.
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos());
    u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(1) | 1
}

/// A pseudo-random pause in `[0, max)`.
pub fn pause(state: &mut u64, max: Duration) -> Duration {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let max_us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(*state % max_us)
}
