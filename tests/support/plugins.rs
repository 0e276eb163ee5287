//! Wasm plugins for tests: the real Higress plugins from the PyPI wheel
//! `gpustack-higress-plugins` (installed by `tests/run.sh` into
//! `~/.cache/gantry/plugins/site`, or wherever `GANTRY_PLUGINS_DIR` points), hand-written
//! WAT modules for failure cases, and `WasmPlugin` YAML.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::backends::Backends;
use crate::config::{ConfigDir, Ingress};

/// The wheel's version the tests were written against.
pub const WHEEL_VERSION: &str = "0.5.1";

/// The directory holding `<name>/<version>/plugin.wasm`.
pub fn plugins_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GANTRY_PLUGINS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/gantry/plugins/site/gpustack_higress_plugins/plugins")
}

/// The path of a plugin shipped in the wheel; panics with the install command when the
/// wheel is not installed.
pub fn wheel_plugin(name: &str, version: &str) -> PathBuf {
    let path = plugins_dir().join(name).join(version).join("plugin.wasm");
    assert!(
        path.is_file(),
        "{} is missing: install the wheel with `pip install --no-deps --target \
         ~/.cache/gantry/plugins/site gpustack-higress-plugins=={WHEEL_VERSION}` \
         (tests/run.sh does this)",
        path.display()
    );
    path
}

/// Writes the WAT module `text` as `<dir>/<name>.wasm` and returns its path.
pub fn wat_plugin(dir: &Path, name: &str, text: &str) -> PathBuf {
    let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("WAT {name}: {e}"));
    let path = dir.join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A minimal proxy-wasm 0.2.1 module whose `proxy_on_request_headers` runs `body` (WAT
/// instructions leaving an i32 action on the stack).
pub fn wat_request_headers(body: &str) -> String {
    wat_module("", body)
}

/// A proxy-wasm module whose `proxy_on_request_headers` appends `value` to request header
/// `name` (for order tests: each plugin adds its own value).
pub fn wat_append_header(name: &str, value: &str) -> String {
    let data = format!(r#"(data (i32.const 16) "{name}") (data (i32.const 512) "{value}")"#);
    let imports = r#"(import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))"#;
    let body = format!(
        "(drop (call $add (i32.const 0) (i32.const 16) (i32.const {}) (i32.const 512) (i32.const {}))) (i32.const 0)",
        name.len(),
        value.len()
    );
    wat_module(&format!("{imports}\n  {data}"), &body)
}

/// A module with `head` (imports first, then data) and `body` as
/// `proxy_on_request_headers`.
fn wat_module(head: &str, body: &str) -> String {
    let (imports, data) = match head.split_once('\n') {
        Some((i, d)) => (i, d),
        None => ("", head),
    };
    let funcs = format!(
        r#"(func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    {body})"#
    );
    wat_with(imports, data, &funcs)
}

/// A proxy-wasm 0.2.1 module: `imports`, one page of `data` at low addresses, what every
/// test module has (memory, a bump allocator from 1024, the ABI marker, context create, VM
/// start), then `funcs`.
pub fn wat_with(imports: &str, data: &str, funcs: &str) -> String {
    format!(
        r#"(module
  {imports}
  (memory (export "memory") 2)
  {data}
  (global $heap (mut i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  {funcs})"#
    )
}

/// proxy-wasm's header map encoding of `pairs` (count, each name and value length, then
/// each name and value followed by a NUL) as a WAT string, and its length in bytes.
pub fn wat_pairs(pairs: &[(&str, &str)]) -> (String, usize) {
    let mut bytes = (pairs.len() as u32).to_le_bytes().to_vec();
    for (k, v) in pairs {
        bytes.extend((k.len() as u32).to_le_bytes());
        bytes.extend((v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        bytes.extend(k.as_bytes());
        bytes.push(0);
        bytes.extend(v.as_bytes());
        bytes.push(0);
    }
    let text = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    (text, bytes.len())
}

/// An Ingress `name` on `host`, every path to the `one.static` backend.
pub fn route_to_one(name: &str, host: &str) -> Ingress {
    Ingress::route(
        name,
        Some(host),
        crate::config::Path::prefix("/"),
        "one.static",
    )
}

/// A config dir with the McpBridge of `backends`, the Ingresses and the plugins.
pub fn plugin_config(
    backends: &Backends,
    ingresses: &[Ingress],
    plugins: &[WasmPlugin],
) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    for i in ingresses {
        config.write_ingress(i);
    }
    for p in plugins {
        config.write(&p.file_name(), &p.yaml());
    }
    config
}

/// A `WasmPlugin` named `name` loading `url`.
#[derive(Debug, Clone)]
pub struct WasmPlugin {
    name: String,
    spec: serde_json::Map<String, Value>,
}

impl WasmPlugin {
    /// A plugin loading the module file at `path` (a `file://` url).
    pub fn file(name: &str, path: &Path) -> Self {
        Self::url(name, &format!("file://{}", path.display()))
    }

    /// A plugin loading `url`.
    pub fn url(name: &str, url: &str) -> Self {
        let mut spec = serde_json::Map::new();
        spec.insert("url".into(), json!(url));
        Self {
            name: name.to_owned(),
            spec,
        }
    }

    /// Sets a spec field (`phase`, `priority`, `failStrategy`, `defaultConfig`, …).
    pub fn set(mut self, field: &str, value: Value) -> Self {
        self.spec.insert(field.into(), value);
        self
    }

    /// Applies `config` only to the Ingress `ingress` (global config disabled).
    pub fn only_on(self, ingress: &str, config: Value) -> Self {
        self.set("defaultConfigDisable", json!(true)).set(
            "matchRules",
            json!([{"ingress": [ingress], "config": config}]),
        )
    }

    /// The file it goes to in a config dir.
    pub fn file_name(&self) -> String {
        format!("wasmplugins/{}.yaml", self.name)
    }

    /// The YAML (JSON is YAML).
    pub fn yaml(&self) -> String {
        json!({
            "apiVersion": "extensions.higress.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": self.name, "namespace": "higress-system"},
            "spec": self.spec,
        })
        .to_string()
    }
}
