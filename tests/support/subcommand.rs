//! A long-running `gantry` subcommand other than `serve` (`demo`, `echo`), started with
//! its own working directory and environment, its output kept, killed on drop.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use tempfile::TempDir;

use crate::gantry::gantry_bin;

/// A running `gantry <args>` process; prints its output when dropped during a panic.
pub struct Subcommand {
    child: Child,
    args: Vec<String>,
    logs: TempDir,
}

// === impl Subcommand ===

impl Subcommand {
    /// Spawns `gantry <args>` in `cwd` with `env` added to the environment.
    pub fn spawn(args: &[&str], cwd: &Path, env: &[(&str, &Path)]) -> Self {
        let logs = tempfile::Builder::new()
            .prefix("gantry-subcommand-")
            .tempdir()
            .expect("create log dir");
        let stdout = File::create(logs.path().join("stdout.log")).expect("create stdout log");
        let stderr = File::create(logs.path().join("stderr.log")).expect("create stderr log");
        let mut cmd = Command::new(gantry_bin());
        cmd.args(args)
            // Fixed default ports would clash between tests running at once.
            .env("GANTRY_METRICS_PORT", "0")
            .env("GANTRY_HEALTH_PORT", "0")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (name, value) in env {
            cmd.env(name, value);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "info");
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn gantry {args:?}: {e}"));
        Self {
            child,
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            logs,
        }
    }

    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stdout.log")).unwrap_or_default()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether the process has exited (and how).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Subcommand {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- gantry {:?} stdout ---\n{}--- stderr ---\n{}--- end ---",
                self.args,
                self.stdout(),
                self.stderr()
            );
        }
    }
}
