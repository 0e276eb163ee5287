//! Building the upstream peer: TLS, HTTP/2, timeouts, and the hash/cookie hints that pick
//! an endpoint.

use std::sync::Arc;
use std::time::Duration;

use config_store::annotations::{HashKey, LoadBalance};
use pingora::prelude::*;
use pingora::protocols::ALPN;

use super::respond::client_ip;
use super::RequestCtx;
use crate::policy::RoutePolicy;
use crate::route_table::conditions::query_param;
use crate::upstream::target::hash_of;
use crate::upstream::{Lease, PickHint, Target};

/// Time allowed to open a connection to an upstream endpoint (Istio's default
/// `connectTimeout`, which Higress keeps).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent streams Gantry opens on one HTTP/2 (gRPC) upstream connection, capped by the
/// server's `SETTINGS_MAX_CONCURRENT_STREAMS` (Pingora's default of 1 opened a connection
/// per in-flight request).
const H2_UPSTREAM_STREAMS: usize = 128;

/// The peer for `lease` of `target`, with the route's timeouts; counts the attempt.
pub(super) fn peer(
    ctx: &mut RequestCtx,
    target: Arc<Target>,
    lease: Lease,
    policy: &RoutePolicy,
) -> Box<HttpPeer> {
    let options = target.options();
    let (tls, sni) = match &options.tls {
        Some(t) => (true, t.sni.clone()),
        None => (false, String::new()),
    };
    let mut peer = HttpPeer::new(lease.addr(), tls, sni);
    if let Some(t) = &options.tls {
        peer.options.verify_cert = t.verify;
        peer.options.verify_hostname = t.verify && !t.sni.is_empty();
        if let Some(id) = &t.identity {
            peer.client_cert_key = id.cert_key.clone();
            peer.options.ca = id.ca.clone();
        }
    }
    if options.h2 {
        peer.options.max_h2_streams = H2_UPSTREAM_STREAMS;
        if tls {
            peer.options.alpn = ALPN::H2;
        } else {
            peer.options.set_http_version(2, 2);
        }
    }
    let global = ctx.table.as_ref().map(|t| t.global());
    let route_timeout = global.and_then(|g| g.route_timeout).or(policy.timeout);
    let read_timeout = policy
        .retry
        .as_ref()
        .and_then(|r| r.per_try_timeout)
        .or(route_timeout);
    // A gRPC client's `grpc-timeout` bounds the wait too (Istio routes honour it).
    let read_timeout = match ctx.grpc.and_then(|g| g.remaining()) {
        Some(left) => {
            let left = left.max(Duration::from_millis(1));
            Some(read_timeout.map_or(left, |t| t.min(left)))
        }
        None => read_timeout,
    };
    peer.options.idle_timeout = global.and_then(|g| g.upstream_idle_timeout);
    peer.options.connection_timeout =
        Some(read_timeout.map_or(CONNECT_TIMEOUT, |t| t.min(CONNECT_TIMEOUT)));
    // An upstream may stay silent for the stream idle timeout at most (Envoy's
    // `stream_idle_timeout`, which applies next to any route timeout), not forever.
    let stream_idle = global.and_then(|g| g.stream_idle_timeout);
    peer.options.read_timeout = match (read_timeout, stream_idle) {
        (Some(route), Some(idle)) => Some(route.min(idle)),
        (route, idle) => route.or(idle),
    };
    peer.options.write_timeout = stream_idle;
    ctx.attempts += 1;
    ctx.target = Some(target);
    ctx.lease = Some(lease);
    Box::new(peer)
}

/// Request attributes for hash and cookie balancing.
pub(super) fn pick_hint(session: &Session, host: &str, balance: &LoadBalance) -> PickHint {
    let req = session.req_header();
    match balance {
        LoadBalance::Hash(key) => {
            let value: Option<u64> = match key {
                HashKey::RequestUri => req.uri.path_and_query().map(|p| hash_of(p.as_str())),
                HashKey::Host => Some(hash_of(host)),
                HashKey::RemoteAddr => client_ip(session).map(|ip| hash_of(&ip)),
                HashKey::Header(name) => req
                    .headers
                    .get(name.as_str())
                    .map(|v| hash_of(v.as_bytes())),
                HashKey::Query(name) => {
                    query_param(req.uri.query().unwrap_or(""), name).map(hash_of)
                }
            };
            PickHint {
                hash: value,
                cookie: None,
            }
        }
        LoadBalance::Cookie { name, .. } => {
            let cookie = req
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| u64::from_str_radix(v, 16).ok());
            PickHint { hash: None, cookie }
        }
        _ => PickHint::default(),
    }
}
