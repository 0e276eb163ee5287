//! Log setup: `RUST_LOG` filters (default `info`), text or JSON lines on stderr. The Nacos
//! SDK's own logs are off unless `RUST_LOG` names `nacos_sdk`: it logs every retry and
//! cache write, while the Nacos store logs each change of state once.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber (also captures Pingora's `log` records).
pub fn init(format: LogFormat) {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let names_sdk = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("nacos_sdk"));
    if !names_sdk {
        if let Ok(directive) = "nacos_sdk=off".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    if let Err(e) = result {
        eprintln!("gantry: logging setup failed: {e}");
    }
}
