//! `standalone/get-gantry.sh` under test: runs it (and the service scripts it writes) with a
//! local binary, into a temp dir, with `useradd` stood in for so nothing changes on the
//! machine, and every port free.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

use crate::gantry::{gantry_bin, CliOutput};
use crate::ports::free_port;

/// A temp dir to install into, with a fake `useradd` first on `PATH`.
pub struct InstallDir {
    tmp: TempDir,
    path: String,
    /// The ports passed by [`Self::port_args`]: http, https, metrics, health, console.
    pub ports: [u16; 5],
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

// === impl InstallDir ===

impl InstallDir {
    /// A fresh temp dir and five free ports.
    pub fn new() -> Self {
        let tmp = tempfile::Builder::new()
            .prefix("gantry-install-")
            .tempdir()
            .expect("temp dir");
        let fake_bin = tmp.path().join("fake-bin");
        std::fs::create_dir(&fake_bin).expect("fake-bin");
        let useradd = fake_bin.join("useradd");
        std::fs::write(
            &useradd,
            "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/useradd.log\"\n",
        )
        .expect("write useradd");
        std::fs::set_permissions(&useradd, std::fs::Permissions::from_mode(0o755))
            .expect("chmod useradd");
        let path = format!(
            "{}:{}",
            fake_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Self {
            tmp,
            path,
            ports: [
                free_port(),
                free_port(),
                free_port(),
                free_port(),
                free_port(),
            ],
        }
    }

    /// The temp dir.
    pub fn tmp(&self) -> &Path {
        self.tmp.path()
    }

    /// Where Gantry is installed (`<tmp>/gantry`).
    pub fn dir(&self) -> PathBuf {
        self.tmp.path().join("gantry")
    }

    /// `--gateway-*-port` and `--console-port` flags with [`Self::ports`].
    pub fn port_args(&self) -> Vec<String> {
        let [http, https, metrics, health, console] = self.ports;
        vec![
            format!("--gateway-http-port={http}"),
            format!("--gateway-https-port={https}"),
            format!("--gateway-metrics-port={metrics}"),
            format!("--gateway-health-port={health}"),
            format!("--console-port={console}"),
        ]
    }

    /// The gateway's HTTP port.
    pub fn http_port(&self) -> u16 {
        self.ports[0]
    }

    /// Runs `get-gantry.sh <args>` in the temp dir (HOME is the temp dir too).
    pub fn get_gantry(&self, args: &[&str]) -> CliOutput {
        self.run(&repo().join("standalone/get-gantry.sh"), args)
    }

    /// `get-gantry.sh <dir> --binary $GANTRY_BIN <ports> <extra>`.
    pub fn install(&self, extra: &[&str]) -> CliOutput {
        let dir = self.dir().display().to_string();
        let bin = gantry_bin().display().to_string();
        let ports = self.port_args();
        let mut args: Vec<&str> = vec![&dir, "--binary", &bin];
        args.extend(ports.iter().map(String::as_str));
        args.extend_from_slice(extra);
        self.get_gantry(&args)
    }

    /// Runs the installed `bin/<script>`.
    pub fn script(&self, script: &str, args: &[&str]) -> CliOutput {
        self.run(&self.dir().join("bin").join(script), args)
    }

    /// Runs `program args` with this dir's `PATH` and `HOME`, in the temp dir.
    pub fn run(&self, program: &Path, args: &[&str]) -> CliOutput {
        let out = Command::new("bash")
            .arg(program)
            .args(args)
            .current_dir(self.tmp.path())
            .env("PATH", &self.path)
            .env("HOME", self.tmp.path())
            .env_remove("GANTRY_CONFIG")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        CliOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// The pid in `run/gantry.pid`, if any.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir().join("run/gantry.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Default for InstallDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for InstallDir {
    fn drop(&mut self) {
        // Never leave a gateway behind, even when a test fails.
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// True while process `pid` exists.
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.split_whitespace().nth(2) == Some("Z"))
}
