//! Command-line options: `--name value` pairs, with durations written as `500ms`
//! or `2s`.

use std::collections::HashMap;
use std::time::Duration;

/// The `--name value` options after the subcommand.
pub struct Args {
    values: HashMap<String, String>,
}

// === impl Args ===

impl Args {
    /// Parses `--name value` pairs; anything else is an error.
    pub fn parse(argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut argv = argv.peekable();
        while let Some(arg) = argv.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?}"));
            };
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => {
                    let value = argv
                        .next()
                        .ok_or_else(|| format!("--{name} needs a value"))?;
                    (name.to_owned(), value)
                }
            };
            values.insert(name, value);
        }
        Ok(Self { values })
    }

    /// The string value of `--name`, or `default`.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }

    /// The integer value of `--name`, or `default`.
    pub fn usize(&self, name: &str, default: usize) -> Result<usize, String> {
        match self.values.get(name) {
            Some(v) => v.parse().map_err(|e| format!("--{name} {v:?}: {e}")),
            None => Ok(default),
        }
    }

    /// The duration value of `--name` (`500ms`, `2s`), or `default`.
    pub fn duration(&self, name: &str, default: Duration) -> Result<Duration, String> {
        match self.values.get(name) {
            Some(v) => {
                parse_duration(v).ok_or_else(|| format!("--{name} {v:?}: want e.g. 500ms or 2s"))
            }
            None => Ok(default),
        }
    }
}

/// Parses `<n>ms` or `<n>s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if let Some(ms) = s.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else if let Some(secs) = s.strip_suffix('s') {
        secs.parse::<f64>()
            .ok()
            .filter(|s| *s >= 0.0)
            .map(Duration::from_secs_f64)
    } else {
        None
    }
}

/// Formats a duration the way `gantry --poll-interval` reads it.
pub fn format_duration(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}
