//! Applies header-control edits (add appends, update overwrites, remove deletes).

use config_store::annotations::HeaderOps;
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::Result;

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
