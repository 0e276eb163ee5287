//! Guest memory access for host functions: reading arguments, and returning data the
//! proxy-wasm way (the host calls the guest's allocator, copies the bytes in, and writes
//! the pointer and size to the two addresses the guest gave).

use wasmtime::Caller;

use super::super::host_state::HostState;
use super::Status;

/// Copies `len` bytes at `ptr` out of guest memory.
pub fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>, Status> {
    let mem = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let data = mem.data(caller);
    let start = usize::try_from(ptr).map_err(|_| Status::InvalidMemoryAccess)?;
    let len = usize::try_from(len).map_err(|_| Status::InvalidMemoryAccess)?;
    let end = start.checked_add(len).ok_or(Status::InvalidMemoryAccess)?;
    data.get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Status::InvalidMemoryAccess)
}

/// Reads a UTF-8 string argument.
pub fn read_str(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<String, Status> {
    String::from_utf8(read(caller, ptr, len)?).map_err(|_| Status::BadArgument)
}

/// Writes `bytes` at `ptr`.
pub fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> Result<(), Status> {
    let mem = caller.data().memory.ok_or(Status::InvalidMemoryAccess)?;
    let start = usize::try_from(ptr).map_err(|_| Status::InvalidMemoryAccess)?;
    let end = start
        .checked_add(bytes.len())
        .ok_or(Status::InvalidMemoryAccess)?;
    mem.data_mut(caller)
        .get_mut(start..end)
        .ok_or(Status::InvalidMemoryAccess)?
        .copy_from_slice(bytes);
    Ok(())
}

/// Writes a little-endian `u32` at `ptr`.
pub fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, v: u32) -> Result<(), Status> {
    write(caller, ptr, &v.to_le_bytes())
}

/// Hands `bytes` to the guest: allocates with the guest's allocator, copies, and stores the
/// address at `ret_ptr` and the length at `ret_len`.
pub fn return_bytes(
    caller: &mut Caller<'_, HostState>,
    bytes: &[u8],
    ret_ptr: i32,
    ret_len: i32,
) -> Result<(), Status> {
    let len = i32::try_from(bytes.len()).map_err(|_| Status::BadArgument)?;
    let addr = if bytes.is_empty() {
        0
    } else {
        let alloc = caller.data().alloc.clone().ok_or(Status::InternalFailure)?;
        let addr = alloc
            .call(&mut *caller, len)
            .map_err(|_| Status::InternalFailure)?;
        if addr == 0 {
            return Err(Status::InternalFailure);
        }
        write(caller, addr, bytes)?;
        addr
    };
    write_u32(caller, ret_ptr, addr as u32)?;
    write_u32(caller, ret_len, len as u32)
}

/// Serialises header pairs as proxy-wasm does: count, (name len, value len)*, then each
/// name and value followed by a NUL.
pub fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone) -> Vec<u8> {
    let count = pairs.clone().count() as u32;
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&count.to_le_bytes());
    for (k, v) in pairs.clone() {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.push(0);
        out.extend_from_slice(v);
        out.push(0);
    }
    out
}

/// Parses the proxy-wasm pair serialisation (see [`encode_pairs`]).
pub fn decode_pairs(data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let u32_at = |at: usize| -> Option<usize> {
        let b = data.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if data.is_empty() {
        return Some(Vec::new());
    }
    let count = u32_at(0)?;
    let mut sizes = Vec::with_capacity(count.min(1024));
    let mut at = 4;
    for _ in 0..count {
        sizes.push((u32_at(at)?, u32_at(at + 4)?));
        at += 8;
    }
    let mut out = Vec::with_capacity(sizes.len());
    for (klen, vlen) in sizes {
        let k = data.get(at..at + klen)?.to_vec();
        at += klen + 1;
        let v = data.get(at..at + vlen)?.to_vec();
        at += vlen + 1;
        out.push((k, v));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip() {
        let pairs: Vec<(&[u8], &[u8])> = vec![(b":path", b"/a?b"), (b"x", b"")];
        let bytes = encode_pairs(pairs.iter().copied());
        let back = decode_pairs(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0], (b":path".to_vec(), b"/a?b".to_vec()));
        assert_eq!(back[1], (b"x".to_vec(), Vec::new()));
        assert!(decode_pairs(&bytes[..bytes.len() - 3]).is_none());
    }
}
