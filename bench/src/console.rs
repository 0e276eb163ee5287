//! Console API figures: API write → served latency over route edits (PUT with the version
//! read, alternating the route's service between two echo backends, then requests until the
//! answer comes from the new one); list latency with 1,000 more routes in the directory;
//! RSS with the console in use.

use std::time::{Duration, Instant};

use gantry_tests::{ConfigDir, ConsoleClient, EchoServer, Gantry, Ingress, Path, Registry};
use reqwest::Method;
use serde_json::json;

use crate::args::Args;
use crate::rss::{mib, read_status};
use crate::stats::{Samples, HEADER};

const PASSWORD: &str = "bench-console-pw";
const HOST: &str = "console.bench";
/// How long one edit may take to be served before the run is abandoned.
const EDIT_DEADLINE: Duration = Duration::from_secs(30);

/// Runs the benchmark and returns its Markdown tables.
pub async fn run(args: &Args) -> Result<String, String> {
    let edits = args.usize("edits", 100)?;
    let routes = args.usize("routes", 1000)?;
    let lists = args.usize("lists", 20)?;
    let a = EchoServer::start("bench-a");
    let b = EchoServer::start("bench-b");
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("bench-a", a.addr()),
        Registry::fixed("bench-b", b.addr()),
    ]);
    let gw = Gantry::builder()
        .console(true)
        .arg("--console-password")
        .arg(PASSWORD)
        .start(config)
        .await;
    let mut console = ConsoleClient::new(gw.console_port());
    if console.login("admin", PASSWORD).await.status != 201 {
        return Err("console login failed".into());
    }
    let r = console
        .call(
            Method::POST,
            "/v1/routes",
            Some(json!({"name": "bench", "domains": [HOST], "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "bench-a.static", "port": 80}]})),
        )
        .await;
    if r.status != 201 {
        return Err(format!("create route: {} {}", r.status, r.text));
    }
    let mut route = r.json();
    let mut write = Vec::with_capacity(edits);
    let mut served = Vec::with_capacity(edits);
    let mut first_try = 0;
    for i in 0..edits {
        let backend = if i % 2 == 0 { "bench-b" } else { "bench-a" };
        route["services"][0]["name"] = json!(format!("{backend}.static"));
        let start = Instant::now();
        let r = console
            .call(Method::PUT, "/v1/routes/bench", Some(route.clone()))
            .await;
        if r.status != 200 {
            return Err(format!("edit {i}: {} {}", r.status, r.text));
        }
        write.push(start.elapsed());
        route = r.json();
        let mut tries = 0;
        loop {
            tries += 1;
            let reply = gw.client().get(HOST, "/").await?;
            if reply.echo_name() == Some(backend) {
                break;
            }
            if start.elapsed() > EDIT_DEADLINE {
                return Err(format!("edit {i} not served after {EDIT_DEADLINE:?}"));
            }
        }
        if tries == 1 {
            first_try += 1;
        }
        served.push(start.elapsed());
    }
    let after_edits = read_status(gw.pid())?;

    for i in 0..routes {
        let host = format!("h{i:04}.example.com");
        gw.config().write_ingress(&Ingress::route(
            &format!("bulk-{i:04}"),
            Some(&host),
            Path::prefix("/"),
            "bench-a.static",
        ));
    }
    let want = routes + 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = console
            .call(Method::GET, "/v1/routes?pageNum=1&pageSize=1", None)
            .await;
        if r.json()["total"].as_u64() == Some(want as u64) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the API never listed {want} routes: {}", r.text));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut list = Vec::with_capacity(lists);
    let mut bytes = 0;
    for _ in 0..lists {
        let start = Instant::now();
        let r = console.call(Method::GET, "/v1/routes", None).await;
        list.push(start.elapsed());
        if r.status != 200 {
            return Err(format!("list: {}", r.status));
        }
        bytes = r.text.len();
    }
    let after_list = read_status(gw.pid())?;

    let mut out = String::from(HEADER);
    out.push_str(
        &Samples::new(write).row(&format!("PUT /v1/routes/{{name}} answered ({edits} edits)")),
    );
    out.push_str(&Samples::new(served).row("PUT sent → first answer from the new backend"));
    out.push_str(&Samples::new(list).row(&format!(
        "GET /v1/routes, {want} routes ({} KiB)",
        bytes / 1024
    )));
    out.push_str(&format!(
        "\n{first_try} of {edits} edits were served by the first request after the PUT answered.\n\n"
    ));
    out.push_str("| when | VmRSS | VmHWM (peak) |\n|---|---:|---:|\n");
    out.push_str(&format!(
        "| after {edits} API edits | {} | {} |\n",
        mib(after_edits.0),
        mib(after_edits.1)
    ));
    out.push_str(&format!(
        "| after {routes} more routes and {lists} full lists | {} | {} |\n",
        mib(after_list.0),
        mib(after_list.1)
    ));
    Ok(out)
}
