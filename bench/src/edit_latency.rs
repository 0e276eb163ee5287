//! Change → effect latency: rewrite the quick-start Ingress to switch its
//! destination between two echo backends, and poll the gateway until the
//! answer comes from the new backend.
//!
//! Each edit is an atomic write (temp file + rename). Before each edit the
//! driver waits a pseudo-random pause (0 to one poll interval in poll mode, 0 to
//! 100 ms in events mode), so edits land at random points of the poll cycle and
//! never merge with the previous edit.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gantry_tests::{Client, ConfigDir, EchoServer, Gantry, Ingress, Registry, Watch};

use crate::args::{format_duration, Args};
use crate::stats::{Samples, HEADER};

/// How long one edit may take before the run is abandoned.
const EDIT_DEADLINE: Duration = Duration::from_secs(30);

/// The quick-start host.
const HOST: &str = "foo.bar.com";

/// Runs the benchmark and returns its Markdown table.
pub async fn run(args: &Args) -> Result<String, String> {
    let edits = args.usize("edits", 100)?;
    let interval = args.duration("poll-interval", Duration::from_millis(500))?;
    let (watch, label, max_pause) = match args.string("watch", "events").as_str() {
        "events" => (
            Watch::Events,
            "events".to_owned(),
            Duration::from_millis(100),
        ),
        "poll" => (
            Watch::Poll(interval),
            format!("poll every {}", format_duration(interval)),
            interval,
        ),
        other => return Err(format!("--watch {other:?}: want events or poll")),
    };

    let a = EchoServer::start("httpbin");
    let b = EchoServer::start("httpbin2");
    let config = ConfigDir::quickstart("127.0.0.1", a.port());
    config.write_mcpbridge(&[
        Registry::dns("httpbin", "127.0.0.1", a.port()),
        Registry::dns("httpbin2", "127.0.0.1", b.port()),
    ]);
    let gw = Gantry::builder()
        .watch(watch)
        .console(true)
        .start(config)
        .await;
    let client = gw.client().clone();
    wait_for(&client, "httpbin").await?;

    let file = Ingress::quickstart().file();
    let mut rng = seed();
    let mut samples = Vec::with_capacity(edits);
    for i in 0..edits {
        let backend = if i % 2 == 0 { "httpbin2" } else { "httpbin" };
        let yaml = Ingress::quickstart()
            .destination(&format!("{backend}.dns"))
            .yaml();
        tokio::time::sleep(pause(&mut rng, max_pause)).await;
        let start = Instant::now();
        gw.config().write(&file, &yaml);
        wait_for(&client, backend).await?;
        samples.push(start.elapsed());
        eprintln!("edit {}/{edits}: {:?}", i + 1, start.elapsed());
    }
    let samples = Samples::new(samples);
    Ok(format!(
        "{HEADER}{}",
        samples.row(&format!("edit → served ({label})"))
    ))
}

/// Polls without pausing until `backend` answers; gives up after [`EDIT_DEADLINE`].
async fn wait_for(client: &Client, backend: &str) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match client.get(HOST, "/get").await {
            Ok(reply) if reply.status.as_u16() == 200 && reply.echo_name() == Some(backend) => {
                return Ok(())
            }
            Ok(_) => {}
            // A refused or reset connection: back off a little.
            Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
        if start.elapsed() > EDIT_DEADLINE {
            return Err(format!("{backend} did not answer within {EDIT_DEADLINE:?}"));
        }
    }
}

/// A xorshift seed from the clock; the pauses only need to be spread out.
fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos());
    u64::try_from(nanos & u128::from(u64::MAX)).unwrap_or(1) | 1
}

/// A pseudo-random pause in `[0, max)`.
fn pause(state: &mut u64, max: Duration) -> Duration {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let max_us = u64::try_from(max.as_micros()).unwrap_or(u64::MAX).max(1);
    Duration::from_micros(*state % max_us)
}
