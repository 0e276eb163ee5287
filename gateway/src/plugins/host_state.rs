//! [`HostState`]: what host functions see during one call into a plugin VM — the plugin's
//! identity and configuration, the current request's header maps, buffers and properties
//! ([`StreamState`], swapped in for the call), and what the plugin asked for (local reply).

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Memory, StoreLimits, TypedFunc};

use super::shared::SharedState;

/// A header map as proxy-wasm sees it: lower-case names, pseudo-headers first.
pub type HeaderMap = Vec<(String, Vec<u8>)>;

/// Static facts about a loaded plugin, shared by all its VMs.
#[derive(Debug)]
pub struct PluginInfo {
    /// The WasmPlugin's name (log prefix, `plugin_name`).
    pub name: String,
    /// The root id (`pluginName`, default the WasmPlugin's name).
    pub root_id: String,
    /// The plugin configuration (JSON) handed to `proxy_on_configure`.
    pub configuration: Vec<u8>,
    /// The VM configuration handed to `proxy_on_vm_start` (empty).
    pub vm_configuration: Vec<u8>,
}

/// A reply the plugin asked for with `proxy_send_local_response`.
#[derive(Debug, Clone)]
pub struct LocalResponse {
    /// Status code.
    pub status: u16,
    /// Extra headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// A call a plugin dispatched with `proxy_http_call`, run by the host once the callback
/// that made it returns.
#[derive(Debug, Clone)]
pub struct HttpCall {
    /// The token the plugin got back.
    pub token: u32,
    /// The cluster (`outbound|<port>||<host>`).
    pub cluster: String,
    /// Headers with `:method`, `:path`, `:authority`.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// Timeout in milliseconds.
    pub timeout_ms: u32,
}

/// What came back for an [`HttpCall`]: map types 6 and 7, buffer type 4. A failed call
/// (timeout, reset) has no headers, as Envoy reports it.
#[derive(Debug, Clone, Default)]
pub struct CallResponse {
    /// Headers, `:status` first.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
    /// Trailers.
    pub trailers: HeaderMap,
}

/// A Redis command a plugin dispatched with Higress's `proxy_redis_call`, run by the host
/// once the callback that made it returns ([`super::redis_call`]).
#[derive(Debug, Clone)]
pub struct RedisCall {
    /// The token the plugin got back.
    pub token: u32,
    /// The cluster (`outbound|<port>||<host>`).
    pub cluster: String,
    /// The RESP-encoded command.
    pub query: Vec<u8>,
    /// What `proxy_redis_init` set for the cluster.
    pub settings: super::redis_call::RedisSettings,
}

/// What came back for a [`RedisCall`]: status 0 and the RESP reply (buffer type 9), or
/// status 1 and nothing when Redis could not be reached in time.
#[derive(Debug, Clone, Default)]
pub struct RedisResponse {
    /// 0: a reply arrived; 1: a network error or timeout.
    pub status: i32,
    /// The whole RESP reply.
    pub reply: Vec<u8>,
}

/// Request facts plugins read as properties (`request.*`, `source.*`, `route_name`, …).
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// `route_name`: the Ingress name as Higress names its route (bare in higress-system).
    pub route_name: Arc<str>,
    /// `cluster_name`: `outbound|<port>||<host>` of the route's (first) backend.
    pub cluster_name: Arc<str>,
    /// Client address and port.
    pub source: Option<std::net::SocketAddr>,
    /// The gateway's local address and port.
    pub destination: Option<std::net::SocketAddr>,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `HTTP/1.1`, `HTTP/2`…
    pub protocol: &'static str,
    /// Start of the request, nanoseconds since the Unix epoch.
    pub time_nanos: u64,
    /// Response status once known.
    pub response_code: Option<u16>,
    /// The clusters `proxy_http_call` may name (none: calls are refused).
    pub clusters: Option<Arc<super::http_call::Clusters>>,
}

/// Per-request data a VM call works on; lives in the request's filter state between calls.
#[derive(Debug, Default)]
pub struct StreamState {
    /// Request headers (map type 0).
    pub request_headers: HeaderMap,
    /// Request trailers (map type 1).
    pub request_trailers: HeaderMap,
    /// Response headers (map type 2).
    pub response_headers: HeaderMap,
    /// Response trailers (map type 3).
    pub response_trailers: HeaderMap,
    /// Request body seen so far (buffer type 0).
    pub request_body: Vec<u8>,
    /// Response body seen so far (buffer type 1).
    pub response_body: Vec<u8>,
    /// Set when the plugin changed request headers.
    pub request_headers_dirty: bool,
    /// Set when the plugin changed response headers.
    pub response_headers_dirty: bool,
    /// Set when the plugin replaced a body buffer.
    pub body_dirty: bool,
    /// Request facts for properties.
    pub facts: RequestFacts,
    /// Properties the plugin set (`proxy_set_property`), by path.
    pub properties: HashMap<Vec<u8>, Vec<u8>>,
    /// The response `proxy_on_http_call_response` is about (during that callback).
    pub call_response: Option<CallResponse>,
    /// The reply `proxy_on_redis_call_response` is about (during that callback).
    pub redis_response: Option<RedisResponse>,
}

/// The store data of one VM.
pub struct HostState {
    /// Memory limits (`StoreLimits`).
    pub limits: StoreLimits,
    /// The plugin.
    pub plugin: Arc<PluginInfo>,
    /// Shared data, queues and metrics of the plugin (all its VMs).
    pub shared: Arc<SharedState>,
    /// The guest's memory (set after instantiation).
    pub memory: Option<Memory>,
    /// The guest's allocator (`proxy_on_memory_allocate` or `malloc`).
    pub alloc: Option<TypedFunc<i32, i32>>,
    /// The request the current call is about (none for root-context calls).
    pub stream: StreamState,
    /// `proxy_set_effective_context` target.
    pub effective_context: i32,
    /// The reply the plugin asked for during the current call.
    pub local_response: Option<LocalResponse>,
    /// `proxy_set_tick_period_milliseconds`.
    pub tick_period_ms: u32,
    /// Which buffer `proxy_get_buffer_bytes(type 6/7)` reads: the configurations.
    pub in_configure: bool,
    /// Set when the plugin called `proxy_done`.
    pub done: bool,
    /// Set when the plugin resumed a paused stream (`proxy_continue_stream`).
    pub resumed: bool,
    /// Calls dispatched during the current callback.
    pub calls: Vec<HttpCall>,
    /// Redis commands dispatched during the current callback.
    pub redis_calls: Vec<RedisCall>,
    /// `proxy_redis_init` settings by cluster (this VM's; the Go SDK inits in configure).
    pub redis: HashMap<String, super::redis_call::RedisSettings>,
    /// The last token handed out.
    pub last_token: u32,
}

// === impl HostState ===

impl HostState {
    /// The state for a new VM of `plugin`, its memory capped at `memory_limit` bytes.
    pub fn new(plugin: Arc<PluginInfo>, shared: Arc<SharedState>, memory_limit: usize) -> Self {
        Self {
            limits: wasmtime::StoreLimitsBuilder::new()
                .memory_size(memory_limit)
                .trap_on_grow_failure(true)
                .build(),
            plugin,
            shared,
            memory: None,
            alloc: None,
            stream: StreamState::default(),
            effective_context: 0,
            local_response: None,
            tick_period_ms: 0,
            in_configure: false,
            done: false,
            resumed: false,
            calls: Vec::new(),
            redis_calls: Vec::new(),
            redis: HashMap::new(),
            last_token: 0,
        }
    }

    /// The header map of proxy-wasm map type `t` (request/response headers and trailers).
    pub fn map(&self, t: i32) -> Option<&HeaderMap> {
        match t {
            0 => Some(&self.stream.request_headers),
            1 => Some(&self.stream.request_trailers),
            2 => Some(&self.stream.response_headers),
            3 => Some(&self.stream.response_trailers),
            6 => self.stream.call_response.as_ref().map(|r| &r.headers),
            7 => self.stream.call_response.as_ref().map(|r| &r.trailers),
            _ => None,
        }
    }

    /// The header map of type `t`, for editing (marks it changed).
    pub fn map_mut(&mut self, t: i32) -> Option<&mut HeaderMap> {
        match t {
            0 => {
                self.stream.request_headers_dirty = true;
                Some(&mut self.stream.request_headers)
            }
            1 => Some(&mut self.stream.request_trailers),
            2 => {
                self.stream.response_headers_dirty = true;
                Some(&mut self.stream.response_headers)
            }
            3 => Some(&mut self.stream.response_trailers),
            _ => None,
        }
    }
}
