//! `generate`: writes the [`ManyRoutes`] config to a directory, to run `gantry serve`,
//! `gantry validate` or a profiler on it by hand.

use std::net::SocketAddr;
use std::path::Path;

use gantry_bench::many_routes::ManyRoutes;

use crate::args::Args;

/// Writes the config under `--out` and returns a one-line summary.
pub fn run(args: &Args) -> Result<String, String> {
    let out = args.string("out", "");
    if out.is_empty() {
        return Err("--out DIR is required".into());
    }
    let shape = ManyRoutes {
        hosts: args.usize("hosts", ManyRoutes::ISSUE.hosts)?,
        paths_per_host: args.usize("paths", ManyRoutes::ISSUE.paths_per_host)?,
    };
    let backend: SocketAddr = args
        .string("backend", "127.0.0.1:8080")
        .parse()
        .map_err(|e| format!("--backend: {e}"))?;
    let out = Path::new(&out);
    if out.exists() {
        return Err(format!("{} already exists", out.display()));
    }
    let config = shape.write(backend);
    copy_dir(config.path(), out).map_err(|e| format!("copy to {}: {e}", out.display()))?;
    Ok(format!(
        "wrote {} routes over {} hosts (backend {backend}) to {}\n",
        shape.routes(),
        shape.hosts,
        out.display()
    ))
}

/// Copies the regular files of `from` into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
