//! Process control for end-to-end tests: send a signal to a process by pid (with `kill`)
//! and wait, with a deadline, for a `gantry` process to exit.

use std::process::{Command, ExitStatus};
use std::time::Duration;

use crate::eventually::eventually;
use crate::gantry::Gantry;

/// Sends `signal` (a name such as `TERM`, `INT`, `HUP`, `QUIT`) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed: {status}");
}

/// Waits up to `deadline` for `gantry` to exit and returns how it exited.
pub async fn wait_exit(gantry: &mut Gantry, deadline: Duration) -> ExitStatus {
    eventually(deadline, || {
        let status = gantry.exit_status();
        async move { status.ok_or_else(|| "still running".to_owned()) }
    })
    .await
}
