//! The console's `Route` as JSON (field names as Higress's `Route.java`), and its checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::version::Version;

/// A route.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Route {
    /// Name (the Ingress name).
    pub name: Option<String>,
    /// Version for optimistic locking.
    pub version: Version,
    /// Domains; empty means every domain (the default domain).
    pub domains: Option<Vec<String>>,
    /// Path predicate.
    pub path: Option<Predicate>,
    /// HTTP methods.
    pub methods: Option<Vec<String>>,
    /// Header predicates.
    pub headers: Option<Vec<KeyedPredicate>>,
    /// Query parameter predicates.
    pub url_params: Option<Vec<KeyedPredicate>>,
    /// Upstream services.
    pub services: Option<Vec<UpstreamService>>,
    /// Declared by Higress, not supported there either (always `null`).
    pub mock: Option<Value>,
    /// Declared by Higress, not supported there either (always `null`).
    pub redirect: Option<Value>,
    /// Declared by Higress, not supported there either (always `null`).
    pub rate_limit: Option<Value>,
    /// Declared by Higress, not supported there either (always `null`).
    pub timeout: Option<Value>,
    /// Path and host rewrite.
    pub rewrite: Option<Rewrite>,
    /// Retries.
    pub proxy_next_upstream: Option<ProxyNextUpstream>,
    /// CORS.
    pub cors: Option<Cors>,
    /// Header changes.
    pub header_control: Option<HeaderControl>,
    /// Consumer authentication (Higress's key-auth plugin; refused, see `validate`).
    pub auth_config: Option<Value>,
    /// Other annotations.
    pub custom_configs: Option<BTreeMap<String, String>>,
    /// Other labels.
    pub custom_labels: Option<BTreeMap<String, String>>,
    /// True when the Ingress cannot be edited through the console's form.
    pub readonly: Option<bool>,
}

/// A path predicate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Predicate {
    /// `EQUAL`, `PRE` or `REGULAR`.
    pub match_type: Option<String>,
    /// The value.
    pub match_value: Option<String>,
    /// Case-sensitive match; `null` leaves it unset.
    pub case_sensitive: Option<bool>,
}

/// A header or query predicate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeyedPredicate {
    /// Header or parameter name.
    pub key: Option<String>,
    /// `EQUAL`, `PRE` or `REGULAR`.
    pub match_type: Option<String>,
    /// The value.
    pub match_value: Option<String>,
    /// Unused by Higress for headers (`null`).
    pub case_sensitive: Option<bool>,
}

/// One upstream service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpstreamService {
    /// `x.dns`, `x.static`, `svc.ns.svc.cluster.local`.
    pub name: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Subset (version).
    pub version: Option<String>,
    /// Weight in percent (default 100).
    pub weight: Option<u32>,
}

/// `rewrite`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rewrite {
    /// On or off (values are kept when off).
    pub enabled: Option<bool>,
    /// New path.
    pub path: Option<String>,
    /// New host.
    pub host: Option<String>,
}

/// `proxyNextUpstream`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProxyNextUpstream {
    /// On or off.
    pub enabled: Option<bool>,
    /// Tries.
    pub attempts: Option<u32>,
    /// Timeout, seconds.
    pub timeout: Option<u32>,
    /// Conditions (`error`, `timeout`, `http_502`, …).
    pub conditions: Option<Vec<String>>,
}

/// `cors`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cors {
    /// On or off.
    pub enabled: Option<bool>,
    /// Origins.
    pub allow_origins: Option<Vec<String>>,
    /// Methods.
    pub allow_methods: Option<Vec<String>>,
    /// Request headers.
    pub allow_headers: Option<Vec<String>>,
    /// Exposed headers.
    pub expose_headers: Option<Vec<String>>,
    /// Preflight cache, seconds.
    pub max_age: Option<u32>,
    /// Credentials allowed.
    pub allow_credentials: Option<bool>,
}

/// `headerControl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeaderControl {
    /// On or off.
    pub enabled: Option<bool>,
    /// Request headers.
    pub request: Option<HeaderStage>,
    /// Response headers.
    pub response: Option<HeaderStage>,
}

/// One direction of `headerControl`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HeaderStage {
    /// Headers to add.
    pub add: Option<Vec<Header>>,
    /// Headers to set.
    pub set: Option<Vec<Header>>,
    /// Headers to remove.
    pub remove: Option<Vec<String>>,
}

/// A header and its value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Header {
    /// Name.
    pub key: Option<String>,
    /// Value.
    pub value: Option<String>,
}

/// Match types and what Higress calls them.
pub const MATCH_TYPES: &[&str] = &["EQUAL", "PRE", "REGULAR"];

// === impl Route ===

impl Route {
    /// Checks the fields a write needs, naming the first bad one.
    pub fn validate(&self) -> ApiResult<()> {
        let path = self
            .path
            .as_ref()
            .ok_or_else(|| ApiError::field("path", "is required"))?;
        match path.match_type.as_deref() {
            Some(t) if MATCH_TYPES.contains(&t) => {}
            Some(t) => {
                return Err(ApiError::field(
                    "path.matchType",
                    format!("{t:?} is not EQUAL, PRE or REGULAR"),
                ))
            }
            None => return Err(ApiError::field("path.matchType", "is required")),
        }
        match path.match_value.as_deref() {
            Some(v) if !v.is_empty() => {
                if path.match_type.as_deref() != Some("REGULAR") && !v.starts_with('/') {
                    return Err(ApiError::field(
                        "path.matchValue",
                        format!("{v:?} must start with \"/\""),
                    ));
                }
            }
            _ => return Err(ApiError::field("path.matchValue", "is required")),
        }
        let services = self.services.as_deref().unwrap_or_default();
        if services.is_empty() {
            return Err(ApiError::field(
                "services",
                "at least one service is required",
            ));
        }
        for (i, s) in services.iter().enumerate() {
            let name = s.name.as_deref().unwrap_or_default();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ApiError::field(
                    &format!("services[{i}].name"),
                    "a service name without spaces is required",
                ));
            }
            if s.port == Some(0) {
                return Err(ApiError::field(
                    &format!("services[{i}].port"),
                    "0 is not a port",
                ));
            }
            if s.version
                .as_deref()
                .is_some_and(|v| v.contains(char::is_whitespace))
            {
                return Err(ApiError::field(
                    &format!("services[{i}].version"),
                    "no spaces",
                ));
            }
        }
        for (i, d) in self
            .domains
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if d.is_empty() {
                return Err(ApiError::field(&format!("domains[{i}]"), "is empty"));
            }
        }
        for (field, list) in [("headers", &self.headers), ("urlParams", &self.url_params)] {
            for (i, p) in list.as_deref().unwrap_or_default().iter().enumerate() {
                let f = |sub: &str| format!("{field}[{i}].{sub}");
                let key = p.key.as_deref().unwrap_or_default();
                if key.is_empty() || !printable(key) || key.contains(' ') {
                    return Err(ApiError::field(
                        &f("key"),
                        "printable ASCII without spaces is required",
                    ));
                }
                match p.match_type.as_deref() {
                    Some(t) if MATCH_TYPES.contains(&t) => {}
                    _ => {
                        return Err(ApiError::field(
                            &f("matchType"),
                            "must be EQUAL, PRE or REGULAR",
                        ))
                    }
                }
                if !printable(p.match_value.as_deref().unwrap_or_default()) {
                    return Err(ApiError::field(&f("matchValue"), "must be printable ASCII"));
                }
            }
        }
        for (i, m) in self
            .methods
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(ApiError::field(
                    &format!("methods[{i}]"),
                    format!("{m:?} is not an upper-case HTTP method"),
                ));
            }
        }
        let auth_on = self
            .auth_config
            .as_ref()
            .and_then(|a| a.get("enabled"))
            .and_then(Value::as_bool)
            == Some(true);
        if auth_on {
            return Err(ApiError::field(
                "authConfig.enabled",
                "not enforced: consumer authentication is the key-auth plugin from Higress's catalogue, which Gantry's console does not have; attach a key-auth WasmPlugin resource to the route instead",
            ));
        }
        Ok(())
    }
}

fn printable(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}
