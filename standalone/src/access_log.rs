//! Which access log `gantry serve` writes: `--access-log` (a path, `stdout`, `off`), else
//! `higress-config`'s `mesh.accessLogFile` read at start (as Higress reads the mesh file
//! at start; an empty value turns it off), else stdout.

use anyhow::Context;
use config_store::Snapshot;
use gateway::observe::access_log::{AccessLog, Destination};
use gateway::observe::Observe;

use crate::cli::ObserveArgs;

/// What the flags and the config ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Choice {
    Off,
    Flag(Destination),
    Mesh(Destination),
    Default,
}

/// Starts the access log the flags or the config ask for.
pub fn start(args: &ObserveArgs, snapshot: &Snapshot, observe: &Observe) -> anyhow::Result<()> {
    let destination = match choose(args.access_log.as_deref(), mesh_access_log_file(snapshot)) {
        Choice::Off => {
            tracing::info!("access log off");
            return Ok(());
        }
        Choice::Flag(d) => d,
        Choice::Mesh(d) => match AccessLog::start(d.clone(), args.access_log_buffer) {
            Ok(log) => return install(log, observe, "higress-config mesh.accessLogFile"),
            Err(e) => {
                tracing::warn!("{e}; writing the access log to stdout instead (set --access-log)");
                Destination::Stdout
            }
        },
        Choice::Default => Destination::Stdout,
    };
    let log = AccessLog::start(destination, args.access_log_buffer).context("--access-log")?;
    install(log, observe, "--access-log")
}

fn install(log: AccessLog, observe: &Observe, from: &str) -> anyhow::Result<()> {
    tracing::info!(destination = %log.destination(), from, "access log on");
    observe.set_access_log(log);
    Ok(())
}

fn choose(flag: Option<&str>, mesh: Option<String>) -> Choice {
    match flag.map(str::trim) {
        Some("off" | "none" | "false") => Choice::Off,
        Some(v) => Choice::Flag(Destination::parse(v)),
        None => match mesh {
            Some(v) if v.trim().is_empty() => Choice::Off,
            Some(v) => Choice::Mesh(Destination::parse(&v)),
            None => Choice::Default,
        },
    }
}

/// `accessLogFile` from the `mesh` key of ConfigMap `higress-config`, if set.
fn mesh_access_log_file(snapshot: &Snapshot) -> Option<String> {
    let mesh = snapshot.config_map("higress-config")?.data.get("mesh")?;
    let value: yaml_serde::Value = match yaml_serde::from_str(mesh) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(
                "higress-config mesh is not valid YAML ({e}); its accessLogFile is ignored"
            );
            return None;
        }
    };
    match value.get("accessLogFile")? {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Null => Some(String::new()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn flag_wins_then_mesh_then_stdout() {
        let file = |p: &str| Destination::File(PathBuf::from(p));
        assert_eq!(choose(Some("off"), Some("/x".into())), Choice::Off);
        assert_eq!(
            choose(Some("/a.log"), Some("/x".into())),
            Choice::Flag(file("/a.log"))
        );
        assert_eq!(choose(None, Some("/x".into())), Choice::Mesh(file("/x")));
        assert_eq!(choose(None, Some(String::new())), Choice::Off);
        assert_eq!(
            choose(None, Some("/dev/stdout".into())),
            Choice::Mesh(Destination::Stdout)
        );
        assert_eq!(choose(None, None), Choice::Default);
    }
}
