//! Applies header-control edits (add appends, update overwrites, remove deletes).

use async_trait::async_trait;
use config_store::annotations::HeaderControl;
use config_store::annotations::HeaderOps;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::proxy::Session;
use pingora::Result;

use crate::filter::{FilterState, HttpFilter};
use crate::proxy::RequestCtx;

/// Edits the upstream request.
pub fn apply_request(ops: &HeaderOps, req: &mut RequestHeader) -> Result<()> {
    for name in &ops.remove {
        req.remove_header(name.as_str());
    }
    for (name, value) in &ops.set {
        req.insert_header(name.clone(), value.as_str())?;
    }
    for (name, value) in &ops.add {
        req.append_header(name.clone(), value.as_str())?;
    }
    Ok(())
}

/// Edits the downstream response.
pub fn apply_response(ops: &HeaderOps, resp: &mut ResponseHeader) -> Result<()> {
    for name in &ops.remove {
        resp.remove_header(name.as_str());
    }
    for (name, value) in &ops.set {
        resp.insert_header(name.clone(), value.as_str())?;
    }
    for (name, value) in &ops.add {
        resp.append_header(name.clone(), value.as_str())?;
    }
    Ok(())
}

/// Header control as a route filter: request edits on the upstream request, response
/// edits on the downstream response.
#[derive(Debug)]
pub struct HeaderControlFilter(pub HeaderControl);

// === impl HeaderControlFilter ===

#[async_trait]
impl HttpFilter for HeaderControlFilter {
    fn name(&self) -> &str {
        "header-control"
    }

    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        apply_request(&self.0.request, upstream_request)
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        resp: &mut ResponseHeader,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<()> {
        apply_response(&self.0.response, resp)
    }
}
