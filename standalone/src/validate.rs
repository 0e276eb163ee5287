//! `gantry validate`: every problem in a config directory at once; exit 1 on any error.

use std::process::ExitCode;

use gateway::{compile, CompileOptions, Discovery};

use crate::cli::ConfigArgs;

/// Prints each diagnostic on its own line, then a summary.
pub fn run(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let location = args.location()?;
    let snapshot =
        location.load_once(config_store::Limits::with_max_file_size(args.max_file_size))?;
    let options = CompileOptions {
        ingress_class: args.class_filter(),
    };
    let discovery = Discovery::new(std::time::Duration::from_secs(60));
    // Remote plugin modules are downloaded (and cached) so their load errors show here too.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(discovery.plugins().download(&snapshot));
    let compiled = compile(&snapshot, &discovery, &options);
    let mut all: Vec<_> = snapshot
        .diagnostics()
        .iter()
        .chain(&compiled.diagnostics)
        .collect();
    all.sort();
    for d in &all {
        println!("{d}");
    }
    let errors = all.iter().filter(|d| d.is_error()).count();
    let warnings = all.len() - errors;
    println!(
        "{}: {errors} error(s), {warnings} warning(s), {} route(s)",
        location,
        compiled.table.len()
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
