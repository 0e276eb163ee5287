//! Metrics Wasm plugins define (`proxy_define_metric`), written at scrape time under
//! Gantry's names: one family per kind, the plugin and the metric's own name as labels
//! (Envoy's `wasmcustom.` stats carry the name in the series name instead).

use super::exposition::{Exposition, Kind};
use crate::plugins::shared::{MetricValue, COUNTER, GAUGE, HISTOGRAM};
use crate::plugins::PluginRegistry;

const SUMMARY: &str = "gantry_wasm_plugin_histogram";

/// Writes every live plugin's metrics.
pub fn render(e: &mut Exposition, plugins: &PluginRegistry) {
    write(e, &plugins.metrics());
}

/// Writes `metrics` (plugin name → its metrics); families only for kinds that occur.
fn write(e: &mut Exposition, metrics: &[(String, Vec<MetricValue>)]) {
    let of_kind = |kind: i32| {
        metrics.iter().flat_map(move |(plugin, values)| {
            values
                .iter()
                .filter(move |m| m.kind == kind)
                .map(move |m| (plugin.as_str(), m))
        })
    };
    let families = [
        (
            COUNTER,
            "gantry_wasm_plugin_counter",
            Kind::Counter,
            "Counters",
        ),
        (GAUGE, "gantry_wasm_plugin_gauge", Kind::Gauge, "Gauges"),
    ];
    for (kind, family, family_kind, what) in families {
        if of_kind(kind).next().is_none() {
            continue;
        }
        let help = format!("{what} Wasm plugins defined, by plugin and metric name.");
        e.family(family, family_kind, &help);
        for (plugin, m) in of_kind(kind) {
            let labels = [("plugin", plugin), ("name", m.name.as_str())];
            e.sample(family, &labels, m.value as f64);
        }
    }
    if of_kind(HISTOGRAM).next().is_none() {
        return;
    }
    e.family(
        SUMMARY,
        Kind::Summary,
        "Histograms Wasm plugins defined: sum and count of their samples.",
    );
    for (plugin, m) in of_kind(HISTOGRAM) {
        let labels = [("plugin", plugin), ("name", m.name.as_str())];
        e.sample(&format!("{SUMMARY}_sum"), &labels, m.sum as f64);
        e.sample(&format!("{SUMMARY}_count"), &labels, m.count as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, kind: i32, value: i64, sum: i64, count: u64) -> MetricValue {
        MetricValue {
            name: name.into(),
            kind,
            value,
            sum,
            count,
        }
    }

    #[test]
    fn each_kind_gets_its_family_with_plugin_and_name_labels() {
        let mut e = Exposition::new();
        write(
            &mut e,
            &[(
                "ai-statistics".into(),
                vec![
                    metric("route.r.metric.input_token", COUNTER, 3, 0, 0),
                    metric("queue", GAUGE, -2, 0, 0),
                    metric("latency", HISTOGRAM, 7, 12, 2),
                ],
            )],
        );
        let text = e.finish();
        for line in [
            "# TYPE gantry_wasm_plugin_counter counter",
            "gantry_wasm_plugin_counter{plugin=\"ai-statistics\",name=\"route.r.metric.input_token\"} 3",
            "gantry_wasm_plugin_gauge{plugin=\"ai-statistics\",name=\"queue\"} -2",
            "# TYPE gantry_wasm_plugin_histogram summary",
            "gantry_wasm_plugin_histogram_sum{plugin=\"ai-statistics\",name=\"latency\"} 12",
            "gantry_wasm_plugin_histogram_count{plugin=\"ai-statistics\",name=\"latency\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }

    #[test]
    fn no_plugin_metrics_no_families() {
        let mut e = Exposition::new();
        write(&mut e, &[("p".into(), Vec::new())]);
        assert_eq!(e.finish(), "");
    }
}
