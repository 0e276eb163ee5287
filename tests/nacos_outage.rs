//! Nacos going away: traffic continues on the last good config and the status says the
//! store is unreachable (logged once); a gateway restarted while Nacos is down serves the
//! local snapshot; once Nacos is back, new changes apply.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use gantry_tests::{eventually, ConfigDir, Gantry, GantryBuilder, Ingress, Rnacos, DEADLINE};

fn on_nacos(nacos: &Rnacos, data_home: &Path) -> GantryBuilder {
    Gantry::builder()
        .config_arg(&nacos.config_url())
        .console(true)
        .arg("--nacos-refresh-interval")
        .arg("1s")
        .env("GANTRY_DATA_DIR", &data_home.display().to_string())
}

/// `GET /gantry/status` of a gateway.
async fn status(gw: &Gantry) -> Result<serde_json::Value, String> {
    let url = format!("http://127.0.0.1:{}/gantry/status", gw.console_port());
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    resp.json().await.map_err(|e| e.to_string())
}

async fn store_state(gw: &Gantry, want: &'static str) -> serde_json::Value {
    eventually(DEADLINE, || async {
        let s = status(gw).await?;
        match s["storeState"]["state"].as_str() {
            Some(state) if state == want => Ok(s["storeState"].clone()),
            other => Err(format!("store state {other:?}: {s}")),
        }
    })
    .await
}

#[tokio::test]
async fn nacos_down_keeps_serving_a_restart_uses_the_local_snapshot_and_changes_apply_when_back() {
    let mut nacos = Rnacos::start().await;
    let (_one, _two) = nacos.put_two_backends().await;
    let route = |to: &str| Ingress::host_route("route-a", "a.com", to).yaml();
    nacos
        .put_resource("ingresses", "route-a", &route("one.static"))
        .await;
    let data = tempfile::tempdir().unwrap();
    let gw = on_nacos(&nacos, data.path()).start(ConfigDir::new()).await;
    gw.client().eventually_backend("a.com", "/", "one").await;
    store_state(&gw, "ok").await;
    // The local snapshot is on disk before Nacos goes.
    let saved_dir = data.path().to_path_buf();
    eventually(DEADLINE, || async {
        let saved = std::fs::read_dir(&saved_dir)
            .map_err(|e| e.to_string())?
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("last-good-"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .any(|text| text.contains("route-a") && text.contains("one.static"));
        saved
            .then_some(())
            .ok_or("no saved snapshot with route-a yet".to_string())
    })
    .await;

    // Nacos killed: traffic continues, the status says unreachable, logged once.
    nacos.kill();
    let state = store_state(&gw, "unreachable").await;
    let message = state["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot be reached"), "{state}");
    for _ in 0..20 {
        gw.client()
            .get("a.com", "/")
            .await
            .and_then(|r| r.expect_backend("one"))
            .expect("traffic continues while Nacos is down");
    }
    // Several retries later (1 s refresh, backoff from 0.5 s), still one error line.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = gw.log();
    assert_eq!(log.matches("cannot be reached").count(), 1, "{log}");

    // A gateway started while Nacos is down serves the local snapshot.
    drop(gw);
    let gw = on_nacos(&nacos, data.path()).start(ConfigDir::new()).await;
    gw.client().eventually_backend("a.com", "/", "one").await;
    store_state(&gw, "unreachable").await;
    assert!(
        gw.log().contains("SERVING THE LOCAL SNAPSHOT"),
        "{}",
        gw.log()
    );

    // Nacos back: the next change applies, and the state is ok again.
    nacos.restart().await;
    nacos
        .put_resource("ingresses", "route-a", &route("two.static"))
        .await;
    let took = gw
        .client()
        .time_until_backend("a.com", "/", "two", DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("change after recovery not served: {e}\n{}", gw.log()));
    eprintln!("first change after Nacos came back served after {took:?}");
    store_state(&gw, "ok").await;
    assert!(gw.log().contains("Nacos reachable again"), "{}", gw.log());
}
