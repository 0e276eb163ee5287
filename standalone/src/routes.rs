//! `gantry routes`: the compiled route table, in match order, as text or JSON.

use std::time::Duration;

use anyhow::Context;
use gateway::route_table::route::ActionInfo;
use gateway::upstream::DestinationInfo;
use gateway::{compile, CompileOptions, Discovery};

use crate::cli::RoutesArgs;

/// Prints the table compiled from the directory (DNS destinations resolved once).
pub fn run(args: &RoutesArgs) -> anyhow::Result<()> {
    let snapshot = args
        .config
        .location()?
        .load_once(config_store::Limits::with_max_file_size(
            args.config.max_file_size,
        ))?;
    let options = CompileOptions {
        ingress_class: args.config.class_filter(),
    };
    let discovery = Discovery::new(Duration::from_secs(60));
    let compiled = compile(&snapshot, &discovery, &options);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime for DNS resolution")?;
    runtime.block_on(discovery.resolve(&compiled.new_targets));
    let routes = compiled.table.describe();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&routes)?);
        return Ok(());
    }
    let mut rows = vec![[
        "HOST".to_string(),
        "MATCH".into(),
        "PATH".into(),
        "INGRESS".into(),
        "ACTION".into(),
    ]];
    for r in &routes {
        let action = match &r.action {
            ActionInfo::Redirect { code, to } => format!("redirect {code} {to}"),
            ActionInfo::Forward { destinations } => forward_text(destinations),
        };
        let kind = if r.ignore_case {
            format!("{}/i", r.match_type)
        } else {
            r.match_type.to_string()
        };
        let path = if r.conditions.is_empty() {
            r.path.clone()
        } else {
            format!("{} [{}]", r.path, r.conditions.join(", "))
        };
        rows.push([r.host.clone(), kind, path, r.ingress.clone(), action]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|row| row[i].len()).max().unwrap_or(0))
        .collect();
    for row in rows {
        println!(
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    Ok(())
}

fn forward_text(destinations: &[DestinationInfo]) -> String {
    if destinations.is_empty() {
        return "(no destination: 503)".into();
    }
    destinations
        .iter()
        .map(|d| {
            let eps = if d.endpoints.is_empty() {
                "no endpoints".to_string()
            } else {
                d.endpoints.join(",")
            };
            format!("{}% {} [{eps}]", d.weight, d.name)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
