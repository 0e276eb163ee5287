//! `proxy_get_property`: the Envoy attributes Higress plugins read, from the current
//! request's headers and facts. Strings are raw bytes, integers 8-byte little-endian, as
//! Envoy encodes them. Properties the plugin set win over these.

use super::host_state::HostState;

/// The value of the property at `path` (segments separated by NUL), if known.
pub fn get(state: &HostState, path: &[u8]) -> Option<Vec<u8>> {
    if let Some(v) = state.stream.properties.get(path) {
        return Some(v.clone());
    }
    let trimmed = path.strip_suffix(&[0]).unwrap_or(path);
    if let Some(v) = state.stream.properties.get(trimmed) {
        return Some(v.clone());
    }
    let segments: Vec<&[u8]> = trimmed.split(|b| *b == 0).collect();
    let name = segments
        .iter()
        .map(|s| String::from_utf8_lossy(s))
        .collect::<Vec<_>>()
        .join(".");
    let s = &state.stream;
    let header = |n: &str| {
        s.request_headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
    };
    let text = |v: &str| Some(v.as_bytes().to_vec());
    let int = |v: u64| Some(v.to_le_bytes().to_vec());
    match name.as_str() {
        "plugin_name" => text(&state.plugin.name),
        "plugin_root_id" => text(&state.plugin.root_id),
        "plugin_vm_id" => text(""),
        "route_name" | "xds.route_name" if !s.facts.route_name.is_empty() => {
            text(&s.facts.route_name)
        }
        "cluster_name" | "xds.cluster_name" if !s.facts.cluster_name.is_empty() => {
            text(&s.facts.cluster_name)
        }
        "request.path" => header(":path"),
        "request.url_path" => header(":path").map(|p| {
            let end = p.iter().position(|b| *b == b'?').unwrap_or(p.len());
            p[..end].to_vec()
        }),
        "request.query" => header(":path").map(|p| match p.iter().position(|b| *b == b'?') {
            Some(i) => p[i + 1..].to_vec(),
            None => Vec::new(),
        }),
        "request.host" => header(":authority"),
        "request.method" => header(":method"),
        "request.scheme" => text(s.facts.scheme),
        "request.protocol" => text(s.facts.protocol),
        "request.id" => header("x-request-id"),
        "request.referer" => header("referer"),
        "request.useragent" => header("user-agent"),
        "request.time" => int(s.facts.time_nanos),
        "source.address" => s.facts.source.map(|a| a.to_string().into_bytes()),
        "source.port" => s
            .facts
            .source
            .map(|a| u64::from(a.port()).to_le_bytes().to_vec()),
        "destination.address" => s.facts.destination.map(|a| a.to_string().into_bytes()),
        "destination.port" => s
            .facts
            .destination
            .map(|a| u64::from(a.port()).to_le_bytes().to_vec()),
        "response.code" => s.facts.response_code.and_then(|c| int(u64::from(c))),
        "connection.mtls" => Some(vec![0]),
        _ => None,
    }
}
