//! Nacos service discovery against rnacos on loopback: how long an instance registered
//! through the naming HTTP API takes to receive traffic, and a deregistered one to stop
//! receiving it, with the gateway's route `a.com` → `echo.DEFAULT-GROUP.public.nacos`.
//!
//! Instance `one` stays registered; `two` is registered and deregistered in turn, each
//! after a pseudo-random pause of 0–100 ms. "Stopped" is the first of 20 answers in a row
//! that all came from `one`.

use std::time::{Duration, Instant};

use gantry_tests::rnacos::Instance;
use gantry_tests::{Client, ConfigDir, EchoServer, Gantry, Ingress, Rnacos};

use crate::args::Args;
use crate::stats::{Samples, HEADER};

const SERVICE: &str = "echo";
const GROUP: &str = "DEFAULT_GROUP";
/// How long one change may take before the run is abandoned.
const CHANGE_DEADLINE: Duration = Duration::from_secs(30);
/// Answers in a row from `one` that count as "no more traffic to `two`".
const QUIET_STREAK: usize = 20;

/// Runs the benchmark and returns its Markdown table.
pub async fn run(args: &Args) -> Result<String, String> {
    let changes = args.usize("changes", 100)?;
    let nacos = Rnacos::start().await;
    let one = EchoServer::start("one");
    let two = EchoServer::start("two");
    nacos
        .register_instance(SERVICE, GROUP, &Instance::new(one.addr(), 1.0))
        .await;
    let dir = ConfigDir::new();
    dir.write(
        "mcpbridges/default.yaml",
        &format!(
            "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\n  namespace: higress-system\nspec:\n  registries:\n  - domain: 127.0.0.1\n    name: nacos\n    nacosGroups: [{GROUP}]\n    port: {}\n    type: nacos2\n",
            nacos.http_port()
        ),
    );
    dir.write_ingress(&Ingress::host_route(
        "route-a",
        "a.com",
        "echo.DEFAULT-GROUP.public.nacos",
    ));
    let gw = Gantry::start(dir).await;
    let client = gw.client();
    until(client, "registered", |name| name == "one").await?;
    let mut rng = crate::nacos::seed();
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let instance = Instance::new(two.addr(), 1.0);
    for i in 0..changes {
        tokio::time::sleep(crate::nacos::pause(&mut rng, Duration::from_millis(100))).await;
        let start = Instant::now();
        nacos.register_instance(SERVICE, GROUP, &instance).await;
        until(client, "registered", |name| name == "two").await?;
        added.push(start.elapsed());
        tokio::time::sleep(crate::nacos::pause(&mut rng, Duration::from_millis(100))).await;
        let start = Instant::now();
        nacos.deregister_instance(SERVICE, GROUP, &instance).await;
        quiet(client).await?;
        removed.push(start.elapsed());
        eprintln!(
            "change {}/{changes}: {:?} / {:?}",
            i + 1,
            added[i],
            removed[i]
        );
    }
    let mut out = String::from(HEADER);
    out.push_str(
        &Samples::new(added).row("instance registered (naming HTTP API) → first request to it"),
    );
    out.push_str(&Samples::new(removed).row(&format!(
        "instance deregistered → {QUIET_STREAK} requests in a row avoid it"
    )));
    Ok(out)
}

/// Polls until an answer's backend passes `want`.
async fn until(client: &Client, what: &str, want: impl Fn(&str) -> bool) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < CHANGE_DEADLINE {
        if let Ok(reply) = client.get("a.com", "/").await {
            if reply.status.as_u16() == 200 && reply.echo_name().is_some_and(&want) {
                return Ok(());
            }
        }
    }
    Err(format!(
        "{what}: no matching answer within {CHANGE_DEADLINE:?}"
    ))
}

/// Polls until [`QUIET_STREAK`] answers in a row come from `one`.
async fn quiet(client: &Client) -> Result<(), String> {
    let start = Instant::now();
    let mut streak = 0;
    while start.elapsed() < CHANGE_DEADLINE {
        match client.get("a.com", "/").await {
            Ok(reply) if reply.status.as_u16() == 200 && reply.echo_name() == Some("one") => {
                streak += 1;
                if streak == QUIET_STREAK {
                    return Ok(());
                }
            }
            Ok(reply) if reply.status.as_u16() == 200 => streak = 0,
            Ok(reply) => return Err(format!("failed request: {}", reply.summary())),
            Err(e) => return Err(format!("failed request: {e}")),
        }
    }
    Err(format!(
        "deregistered: still served after {CHANGE_DEADLINE:?}"
    ))
}
