//! Running the calls one plugin callback dispatched (HTTP with `proxy_http_call`, Redis with
//! Higress's `proxy_redis_call`), all at once, and handing each answer to the callback that
//! receives it. Used for a request's callbacks, ticks and the calls made as a request ends.

use super::host_state::{CallResponse, HttpCall, RedisCall, RedisResponse, StreamState};
use super::http_call::{self, Clusters};
use super::redis_call;
use super::vm::Callback;

/// A call's answer, for the callback that receives it.
pub enum Answer {
    /// An HTTP call's response, for `proxy_on_http_call_response`.
    Http(u32, CallResponse),
    /// A Redis call's reply, for `proxy_on_redis_call_response`.
    Redis(u32, RedisResponse),
}

/// Runs `http` and `redis` against `clusters` concurrently; HTTP answers first, each in
/// dispatch order.
pub async fn run_all(
    clusters: &Clusters,
    http: Vec<HttpCall>,
    redis: Vec<RedisCall>,
) -> Vec<Answer> {
    let (http, redis) = futures_util::future::join(
        futures_util::future::join_all(http.into_iter().map(|call| async move {
            let token = call.token;
            Answer::Http(token, http_call::run(clusters, call).await)
        })),
        futures_util::future::join_all(redis.into_iter().map(|call| async move {
            let token = call.token;
            Answer::Redis(token, redis_call::run(clusters, call).await)
        })),
    )
    .await;
    http.into_iter().chain(redis).collect()
}

// === impl Answer ===

impl Answer {
    /// Puts the answer where its callback reads it (`stream`'s `call_response` or
    /// `redis_response`) and names that callback.
    pub fn deliver(self, stream: &mut StreamState) -> Callback {
        match self {
            Answer::Http(token, a) => {
                stream.call_response = Some(a);
                Callback::HttpCallResponse(token)
            }
            Answer::Redis(token, a) => {
                stream.redis_response = Some(a);
                Callback::RedisCallResponse(token)
            }
        }
    }
}
