//! `GET /v3/api-docs`: an OpenAPI 3.0 document of the API as served, built from
//! [`OPERATIONS`] (the tests check that every operation here is served and every served
//! route is here).

use axum::Json;
use serde_json::{json, Map, Value};

use crate::unsupported::UNSUPPORTED;

/// One documented operation.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method, lower case.
    pub method: &'static str,
    /// Path with `{param}`s.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Request body schema name in `components.schemas`.
    pub body: Option<&'static str>,
    /// Success status and body schema (`None`: no body).
    pub ok: (u16, Option<&'static str>),
    /// True when no session is needed.
    pub open: bool,
    /// Query parameters.
    pub query: &'static [&'static str],
}

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    ok: (u16, Option<&'static str>),
) -> Operation {
    Operation {
        method,
        path,
        summary,
        body,
        ok,
        open: false,
        query: &[],
    }
}

const fn open(o: Operation) -> Operation {
    Operation { open: true, ..o }
}

const fn paged(o: Operation) -> Operation {
    Operation {
        query: &["pageNum", "pageSize"],
        ..o
    }
}

const W: Option<&str> = Some("Envelope");
const L: Option<&str> = Some("PagedEnvelope");

/// Every operation served, in the order documented.
pub const OPERATIONS: &[Operation] = &[
    open(op(
        "get",
        "/healthz",
        "Liveness: `ok`",
        None,
        (200, Some("Text")),
    )),
    open(op(
        "get",
        "/healthz/ready",
        "Liveness, Higress's path",
        None,
        (200, Some("Text")),
    )),
    open(op(
        "get",
        "/readyz",
        "Readiness and why the config is degraded",
        None,
        (200, Some("Object")),
    )),
    open(op(
        "get",
        "/gantry/status",
        "Store, revisions, stale resources, diagnostics (no Secret values)",
        None,
        (200, Some("Object")),
    )),
    open(op(
        "get",
        "/v3/api-docs",
        "This document",
        None,
        (200, Some("Object")),
    )),
    open(op(
        "post",
        "/system/init",
        "Create the admin account (first run)",
        Some("InitRequest"),
        (200, W),
    )),
    open(op(
        "get",
        "/system/info",
        "Version and capabilities (raw)",
        None,
        (200, Some("SystemInfo")),
    )),
    open(op(
        "get",
        "/system/config",
        "Console settings; system.initialized is a boolean",
        None,
        (200, W),
    )),
    open(op(
        "post",
        "/session/login",
        "Log in; sets the _hi_sess cookie",
        Some("LoginRequest"),
        (201, Some("User")),
    )),
    open(op(
        "get",
        "/session/logout",
        "Log out; clears the cookie",
        None,
        (200, W),
    )),
    op("get", "/user/info", "The signed-in user", None, (200, W)),
    op(
        "post",
        "/user/changePassword",
        "Change the admin password; ends every session",
        Some("ChangePassword"),
        (200, W),
    ),
    op(
        "get",
        "/system/higress-config",
        "ConfigMap higress-config as YAML",
        None,
        (200, W),
    ),
    op(
        "put",
        "/system/higress-config",
        "Replace higress-config from YAML (metadata.resourceVersion required)",
        Some("HigressConfig"),
        (200, W),
    ),
    op(
        "get",
        "/v1/gantry/status",
        "The /gantry/status report in the wrapper",
        None,
        (200, W),
    ),
    op(
        "get",
        "/v1/gantry/route-table",
        "The live route table, in match order (web console)",
        None,
        (200, W),
    ),
    paged(op("get", "/v1/domains", "List domains", None, (200, L))),
    op(
        "post",
        "/v1/domains",
        "Create a domain",
        Some("Domain"),
        (201, Some("Domain")),
    ),
    op("get", "/v1/domains/{name}", "Get a domain", None, (200, W)),
    op(
        "put",
        "/v1/domains/{name}",
        "Update a domain (version checked)",
        Some("Domain"),
        (200, Some("Domain")),
    ),
    op(
        "delete",
        "/v1/domains/{name}",
        "Delete a domain (409 while routes use it)",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/domains/{name}/routes",
        "Routes of a domain",
        None,
        (200, L),
    )),
    Operation {
        query: &["pageNum", "pageSize", "domainName", "all"],
        ..op("get", "/v1/routes", "List routes", None, (200, L))
    },
    op(
        "post",
        "/v1/routes",
        "Create a route",
        Some("Route"),
        (201, Some("Route")),
    ),
    op("get", "/v1/routes/{name}", "Get a route", None, (200, W)),
    op(
        "put",
        "/v1/routes/{name}",
        "Update a route (version checked)",
        Some("Route"),
        (200, Some("Route")),
    ),
    op(
        "delete",
        "/v1/routes/{name}",
        "Delete a route",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/service-sources",
        "List service sources",
        None,
        (200, L),
    )),
    op(
        "post",
        "/v1/service-sources",
        "Create a service source (dns, static)",
        Some("ServiceSource"),
        (201, Some("ServiceSource")),
    ),
    op(
        "get",
        "/v1/service-sources/{name}",
        "Get a service source",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/service-sources/{name}",
        "Create or update a service source",
        Some("ServiceSource"),
        (200, Some("ServiceSource")),
    ),
    op(
        "delete",
        "/v1/service-sources/{name}",
        "Delete a service source",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/services",
        "Services routes can name",
        None,
        (200, L),
    )),
    paged(op(
        "get",
        "/v1/tls-certificates",
        "List TLS certificates (no key material)",
        None,
        (200, L),
    )),
    op(
        "post",
        "/v1/tls-certificates",
        "Create a TLS certificate",
        Some("TlsCertificate"),
        (201, Some("TlsCertificate")),
    ),
    op(
        "get",
        "/v1/tls-certificates/{name}",
        "Get a TLS certificate",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/tls-certificates/{name}",
        "Update a TLS certificate (version checked)",
        Some("TlsCertificate"),
        (200, Some("TlsCertificate")),
    ),
    op(
        "delete",
        "/v1/tls-certificates/{name}",
        "Delete a TLS certificate",
        None,
        (204, None),
    ),
    Operation {
        query: &["pageNum", "pageSize", "lang"],
        ..op(
            "get",
            "/v1/wasm-plugins",
            "Wasm plugins Gantry can load (none yet)",
            None,
            (200, L),
        )
    },
    op(
        "post",
        "/v1/wasm-plugins",
        "Refused: the console has no plugin catalogue",
        Some("Object"),
        (201, Some("Object")),
    ),
    op(
        "get",
        "/v1/wasm-plugins/{name}",
        "A plugin (404: none ship)",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/wasm-plugins/{name}",
        "Refused: no plugin catalogue",
        Some("Object"),
        (200, Some("Object")),
    ),
    op(
        "delete",
        "/v1/wasm-plugins/{name}",
        "Delete a plugin (404: none)",
        None,
        (204, None),
    ),
    op(
        "get",
        "/v1/wasm-plugins/{name}/{part}",
        "A plugin's config or readme (404: none ship)",
        None,
        (200, W),
    ),
    paged(op(
        "get",
        "/v1/global/plugin-instances",
        "Global plugin instances (none in force)",
        None,
        (200, L),
    )),
    op(
        "get",
        "/v1/global/plugin-instances/{plugin}",
        "A global instance (unconfigured)",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/global/plugin-instances/{plugin}",
        "Refused: no plugin catalogue",
        Some("PluginInstance"),
        (200, Some("PluginInstance")),
    ),
    op(
        "delete",
        "/v1/global/plugin-instances/{plugin}",
        "Remove a global instance",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/domains/{name}/plugin-instances",
        "Plugin instances of a domain",
        None,
        (200, L),
    )),
    op(
        "get",
        "/v1/domains/{name}/plugin-instances/{plugin}",
        "A domain's instance",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/domains/{name}/plugin-instances/{plugin}",
        "Refused: no plugin catalogue",
        Some("PluginInstance"),
        (200, Some("PluginInstance")),
    ),
    op(
        "delete",
        "/v1/domains/{name}/plugin-instances/{plugin}",
        "Remove a domain's instance",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/routes/{name}/plugin-instances",
        "Plugin instances of a route",
        None,
        (200, L),
    )),
    op(
        "get",
        "/v1/routes/{name}/plugin-instances/{plugin}",
        "A route's instance",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/routes/{name}/plugin-instances/{plugin}",
        "Refused: no plugin catalogue",
        Some("PluginInstance"),
        (200, Some("PluginInstance")),
    ),
    op(
        "delete",
        "/v1/routes/{name}/plugin-instances/{plugin}",
        "Remove a route's instance",
        None,
        (204, None),
    ),
    paged(op(
        "get",
        "/v1/services/{name}/plugin-instances",
        "Plugin instances of a service",
        None,
        (200, L),
    )),
    op(
        "get",
        "/v1/services/{name}/plugin-instances/{plugin}",
        "A service's instance",
        None,
        (200, W),
    ),
    op(
        "put",
        "/v1/services/{name}/plugin-instances/{plugin}",
        "Refused: no plugin catalogue",
        Some("PluginInstance"),
        (200, Some("PluginInstance")),
    ),
    op(
        "delete",
        "/v1/services/{name}/plugin-instances/{plugin}",
        "Remove a service's instance",
        None,
        (204, None),
    ),
];

fn schema_ref(name: &str) -> Value {
    match name {
        "Text" => json!({"type": "string"}),
        "Object" => json!({"type": "object"}),
        _ => json!({"$ref": format!("#/components/schemas/{name}")}),
    }
}

fn operation(o: &Operation) -> Value {
    let mut params: Vec<Value> = o
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}))
        .collect();
    for q in o.query {
        let schema = match *q {
            "pageNum" | "pageSize" => json!({"type": "integer", "minimum": 1}),
            "all" => json!({"type": "boolean"}),
            _ => json!({"type": "string"}),
        };
        params.push(json!({"name": q, "in": "query", "required": false, "schema": schema}));
    }
    let mut responses = Map::new();
    let ok = match o.ok.1 {
        Some(s) => {
            json!({"description": "OK", "content": {"application/json": {"schema": schema_ref(s)}}})
        }
        None => json!({"description": "No content"}),
    };
    responses.insert(o.ok.0.to_string(), ok);
    for (code, what) in [
        ("400", "Invalid request (the message names the field)"),
        ("401", "Login required, or wrong credentials"),
        ("404", "Not found"),
        (
            "409",
            "Exists, changed since read (version), or refused by the current state",
        ),
        ("429", "Too many login attempts"),
    ] {
        responses.insert(
            code.into(),
            json!({"description": what, "content": {"application/json": {"schema": schema_ref("Envelope")}}}),
        );
    }
    let mut out = json!({
        "summary": o.summary,
        "operationId": format!("{}{}", o.method, o.path.replace(['/', '{', '}', '-'], "_")),
        "parameters": params,
        "responses": responses,
    });
    if let Some(b) = o.body {
        out["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(b)}}});
    }
    if o.open {
        out["security"] = json!([]);
    }
    out
}

fn schemas() -> Value {
    let s = json!({"type": "string", "nullable": true});
    let strings = json!({"type": "array", "items": {"type": "string"}, "nullable": true});
    let version = json!({"description": "MD5 of the stored content; send it back on update (stale → 409; empty, null or 0: unconditional)", "nullable": true, "oneOf": [{"type": "string"}, {"type": "integer"}]});
    let predicate = json!({"type": "object", "nullable": true, "properties": {
        "matchType": {"type": "string", "enum": ["EQUAL", "PRE", "REGULAR"]}, "matchValue": s, "caseSensitive": {"type": "boolean", "nullable": true}}});
    let keyed = json!({"type": "object", "properties": {"key": s, "matchType": {"type": "string", "enum": ["EQUAL", "PRE", "REGULAR"]}, "matchValue": s, "caseSensitive": {"type": "boolean", "nullable": true}}});
    json!({
        "Envelope": {"type": "object", "properties": {"success": {"type": "boolean"}, "message": s, "data": {"nullable": true}}},
        "PagedEnvelope": {"type": "object", "properties": {"success": {"type": "boolean"}, "message": s, "data": {"type": "array", "items": {}}, "total": {"type": "integer"}, "pageNum": {"type": "integer", "nullable": true}, "pageSize": {"type": "integer", "nullable": true}}},
        "User": {"type": "object", "properties": {"name": {"type": "string"}, "password": {"nullable": true}, "displayName": {"type": "string"}, "avatarUrl": s}},
        "SystemInfo": {"type": "object", "properties": {"version": {"type": "string"}, "capabilities": strings}},
        "InitRequest": {"type": "object", "properties": {"adminUser": {"type": "object", "properties": {"name": {"type": "string"}, "displayName": {"type": "string"}, "password": {"type": "string"}}}, "configs": {"type": "object", "additionalProperties": true}}},
        "LoginRequest": {"type": "object", "properties": {"username": {"type": "string"}, "password": {"type": "string"}, "autoLogin": {"type": "boolean"}}},
        "ChangePassword": {"type": "object", "properties": {"oldPassword": {"type": "string"}, "newPassword": {"type": "string"}}},
        "HigressConfig": {"type": "object", "properties": {"config": {"type": "string", "description": "ConfigMap YAML"}}},
        "Domain": {"type": "object", "properties": {"name": s, "version": version, "enableHttps": {"type": "string", "enum": ["off", "on", "force"], "nullable": true}, "certIdentifier": s}},
        "Route": {"type": "object", "properties": {
            "name": s, "version": version, "domains": strings, "path": predicate, "methods": strings,
            "headers": {"type": "array", "items": keyed, "nullable": true}, "urlParams": {"type": "array", "items": keyed, "nullable": true},
            "services": {"type": "array", "nullable": true, "items": {"type": "object", "properties": {"name": s, "port": {"type": "integer", "minimum": 0, "maximum": 65535, "nullable": true}, "version": s, "weight": {"type": "integer", "minimum": 0, "nullable": true}}}},
            "rewrite": {"type": "object", "nullable": true, "properties": {"enabled": {"type": "boolean", "nullable": true}, "path": s, "host": s}},
            "proxyNextUpstream": {"type": "object", "nullable": true, "properties": {"enabled": {"type": "boolean", "nullable": true}, "attempts": {"type": "integer", "minimum": 0, "nullable": true}, "timeout": {"type": "integer", "minimum": 0, "nullable": true}, "conditions": strings}},
            "cors": {"type": "object", "nullable": true, "properties": {"enabled": {"type": "boolean", "nullable": true}, "allowOrigins": strings, "allowMethods": strings, "allowHeaders": strings, "exposeHeaders": strings, "maxAge": {"type": "integer", "minimum": 0, "nullable": true}, "allowCredentials": {"type": "boolean", "nullable": true}}},
            "headerControl": {"type": "object", "nullable": true},
            "authConfig": {"type": "object", "nullable": true, "description": "enabled=true is refused: consumer auth needs the key-auth plugin from a catalogue the console does not have"},
            "customConfigs": {"type": "object", "nullable": true, "additionalProperties": {"type": "string"}},
            "customLabels": {"type": "object", "nullable": true, "additionalProperties": {"type": "string"}},
            "readonly": {"type": "boolean", "nullable": true}}},
        "ServiceSource": {"type": "object", "properties": {"name": s, "version": version, "type": {"type": "string", "nullable": true, "description": "dns or static (others are read-only)"}, "domain": s, "port": {"type": "integer", "minimum": 0, "nullable": true}, "protocol": s, "sni": s, "proxyName": s, "vport": {"type": "object", "nullable": true}, "properties": {"type": "object", "nullable": true}, "authN": {"type": "object", "nullable": true}}},
        "TlsCertificate": {"type": "object", "properties": {"name": s, "version": version, "cert": s, "key": s, "domains": strings, "validityStart": s, "validityEnd": s}},
        "PluginInstance": {"type": "object", "properties": {"version": version, "scope": s, "target": s, "targets": {"type": "object", "nullable": true}, "pluginName": s, "pluginVersion": s, "internal": {"type": "boolean", "nullable": true}, "enabled": {"type": "boolean", "nullable": true}, "rawConfigurations": s, "configurations": {"nullable": true}}},
    })
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in OPERATIONS {
        let entry = paths
            .entry(o.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[o.method] = operation(o);
    }
    for (prefix, what) in UNSUPPORTED {
        let mut item = Map::new();
        for method in ["get", "post", "put", "delete"] {
            item.insert(
                method.into(),
                json!({
                    "summary": format!("{what}: not supported by Gantry yet"),
                    "operationId": format!("{method}{}", prefix.replace(['/', '-'], "_")),
                    "responses": {"501": {"description": "Not supported yet", "content": {"application/json": {"schema": schema_ref("Envelope")}}}},
                }),
            );
        }
        paths.insert(prefix.to_string(), Value::Object(item));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Gantry console API",
            "description": "The Higress console's REST API as Gantry serves it. GET answers {success,message,data}; POST answers 201 with the raw object, PUT 200 with the raw object, DELETE 204.",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "components": {
            "securitySchemes": {
                "basicAuth": {"type": "http", "scheme": "basic"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "_hi_sess"},
            },
            "schemas": schemas(),
        },
        "security": [{"basicAuth": []}, {"cookieAuth": []}],
        "paths": paths,
    })
}

/// `GET /v3/api-docs`.
pub async fn serve() -> Json<Value> {
    Json(document())
}
