//! Flags of `nacos://` config locations (`--nacos-ns`, credentials, `--data-enc-key`,
//! `--nacos-refresh-interval`), each also read from a `GANTRY_*` environment variable.

use std::fmt;
use std::time::Duration;

use clap::Args;
use config_store::nacos::{Credentials, NacosOptions};

/// How a `nacos://host:port[/namespace]` location is read.
#[derive(Clone, Args)]
pub struct NacosArgs {
    /// Nacos namespace (tenant) id of `nacos://` configs (a `/namespace` in the URL wins).
    #[arg(long, env = "GANTRY_NACOS_NS", default_value = "higress-system")]
    pub nacos_ns: String,
    /// Nacos username (with --nacos-password) when Nacos has auth on.
    #[arg(long, env = "GANTRY_NACOS_USERNAME", requires = "nacos_password")]
    pub nacos_username: Option<String>,
    /// Nacos password (with --nacos-username).
    #[arg(
        long,
        env = "GANTRY_NACOS_PASSWORD",
        requires = "nacos_username",
        hide_env_values = true
    )]
    pub nacos_password: Option<String>,
    /// Key Secrets in Nacos are encrypted with (`enc|…`, as Higress's NACOS_DATA_ENC_KEY):
    /// 16, 24 or 32 bytes (Higress uses 32). Without it Secrets are stored in clear.
    #[arg(long, env = "GANTRY_DATA_ENC_KEY", hide_env_values = true, value_parser = parse_key)]
    pub data_enc_key: Option<String>,
    /// How often every Nacos data id is listed again (pushes apply at once): `10s`, `500ms`.
    #[arg(
        long,
        env = "GANTRY_NACOS_REFRESH_INTERVAL",
        default_value = "10s",
        value_parser = crate::cli::parse_duration
    )]
    pub nacos_refresh_interval: Duration,
}

// === impl NacosArgs ===

impl NacosArgs {
    /// Applies the flags to options resolved from a URL; `namespace_in_url` keeps the URL's.
    pub fn apply(&self, options: &mut NacosOptions, namespace_in_url: bool) {
        if !namespace_in_url {
            options.namespace = self.nacos_ns.clone();
        }
        options.credentials = match (&self.nacos_username, &self.nacos_password) {
            (Some(username), Some(password)) => Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }),
            _ => None,
        };
        options.data_enc_key = self.data_enc_key.as_ref().map(|k| k.as_bytes().to_vec());
        options.refresh_interval = self.nacos_refresh_interval;
    }
}

impl fmt::Debug for NacosArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NacosArgs")
            .field("nacos_ns", &self.nacos_ns)
            .field("nacos_username", &self.nacos_username)
            .field(
                "nacos_password",
                &self.nacos_password.as_ref().map(|_| "<hidden>"),
            )
            .field(
                "data_enc_key",
                &self.data_enc_key.as_ref().map(|_| "<hidden>"),
            )
            .field("nacos_refresh_interval", &self.nacos_refresh_interval)
            .finish()
    }
}

fn parse_key(s: &str) -> Result<String, String> {
    match s.len() {
        16 | 24 | 32 => Ok(s.to_string()),
        n => Err(format!(
            "the key is {n} bytes; it must be 16, 24 or 32 (Higress uses 32)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::Cli;
    use crate::config_url::{resolve_with, ConfigLocation};

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(
            [
                &["gantry", "validate", "--config", "nacos://10.0.0.1:8848"],
                args,
            ]
            .concat(),
        )
    }

    #[test]
    fn credentials_come_in_pairs_and_keys_have_aes_lengths() {
        assert!(parse(&["--nacos-username", "nacos"]).is_err());
        assert!(parse(&["--nacos-password", "nacos"]).is_err());
        assert!(parse(&["--nacos-username", "nacos", "--nacos-password", "nacos"]).is_ok());
        let short = parse(&["--data-enc-key", "0123456789"])
            .unwrap_err()
            .to_string();
        assert!(short.contains("16, 24 or 32"), "{short}");
        assert!(parse(&["--data-enc-key", "0123456789abcdef0123456789abcdef"]).is_ok());
    }

    #[test]
    fn flags_apply_and_the_url_namespace_wins() {
        let flags = super::NacosArgs {
            nacos_ns: "team-a".into(),
            nacos_username: Some("u".into()),
            nacos_password: Some("p".into()),
            data_enc_key: Some("0123456789abcdef".into()),
            nacos_refresh_interval: std::time::Duration::from_secs(3),
        };
        let ConfigLocation::Nacos(o) = resolve_with("nacos://h:8848", &flags).unwrap() else {
            panic!("not nacos");
        };
        assert_eq!(o.describe(), "nacos://h:8848/team-a");
        assert_eq!(o.credentials.unwrap().password, "p");
        assert_eq!(o.data_enc_key.as_deref(), Some(&b"0123456789abcdef"[..]));
        assert_eq!(o.refresh_interval, std::time::Duration::from_secs(3));
        let ConfigLocation::Nacos(o) = resolve_with("nacos://h:8848/team-b", &flags).unwrap()
        else {
            panic!("not nacos");
        };
        assert_eq!(o.namespace, "team-b");
        assert!(!format!("{flags:?}").contains("0123456789abcdef"));
    }
}
