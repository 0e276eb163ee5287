//! A tiny authoritative DNS server on `127.0.0.1` (UDP, a port the kernel picks) for tests
//! of `.dns` registries, so lookups never leave the machine.
//!
//! It answers `A` queries for the names it was given with their address and TTL, and
//! answers other names `NXDOMAIN` and other types with no records. Tests can hold every
//! `A` answer until they release it ([`DnsServer::hold`], [`DnsServer::release`]), and read
//! the log of queries received and answers sent ([`DnsServer::events`]).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};

/// What the server saw or did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsEvent {
    /// An `A` query for this name (lower case, no trailing dot) arrived.
    Query(String),
    /// The answer to an `A` query for this name was sent.
    Answer(String),
}

/// A running DNS server; dropping it stops it.
pub struct DnsServer {
    addr: SocketAddr,
    state: Arc<State>,
    gate: watch::Sender<bool>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct State {
    /// name → (address, TTL in seconds).
    zone: Mutex<HashMap<String, (Ipv4Addr, u32)>>,
    log: Mutex<Vec<DnsEvent>>,
}

// === impl DnsServer ===

impl DnsServer {
    /// Starts a server with no names, answers not held.
    pub fn start() -> Self {
        let socket = StdUdpSocket::bind("127.0.0.1:0").expect("bind DNS server");
        socket.set_nonblocking(true).expect("set_nonblocking");
        let addr = socket.local_addr().expect("local_addr");
        let state = Arc::new(State {
            zone: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
        });
        let (gate, gate_rx) = watch::channel(true);
        let (tx, rx) = oneshot::channel();
        let serving = state.clone();
        let thread = std::thread::Builder::new()
            .name("dns-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("dns runtime");
                rt.block_on(async move {
                    let socket = Arc::new(UdpSocket::from_std(socket).expect("tokio socket"));
                    tokio::select! {
                        _ = rx => {}
                        () = serve(socket, serving, gate_rx) => {}
                    }
                });
            })
            .expect("spawn dns thread");
        Self {
            addr,
            state,
            gate,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The server's address, for `gantry serve --dns-server`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers `A` queries for `name` with `ip` and a TTL of `ttl` seconds.
    pub fn add(&self, name: &str, ip: Ipv4Addr, ttl: u32) {
        self.state
            .zone
            .lock()
            .unwrap()
            .insert(normalize(name), (ip, ttl));
    }

    /// Holds every `A` answer (queries are still logged) until [`Self::release`].
    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    /// Sends the held answers and answers at once from now on.
    pub fn release(&self) {
        self.gate.send_replace(true);
    }

    /// Everything seen and sent so far, in order.
    pub fn events(&self) -> Vec<DnsEvent> {
        self.state.log.lock().unwrap().clone()
    }

    /// How many `A` queries for `name` arrived.
    pub fn queries(&self, name: &str) -> usize {
        let name = normalize(name);
        self.events()
            .iter()
            .filter(|e| matches!(e, DnsEvent::Query(n) if *n == name))
            .count()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Receives queries and answers each on its own task (so a held answer does not block
/// the others).
async fn serve(socket: Arc<UdpSocket>, state: Arc<State>, gate: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        let (socket, state, mut gate) = (socket.clone(), state.clone(), gate.clone());
        tokio::spawn(async move {
            let Some(q) = query.queries.first().cloned() else {
                return;
            };
            let name = normalize(&q.name().to_ascii());
            let mut resp = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
            resp.metadata.recursion_desired = query.metadata.recursion_desired;
            resp.metadata.recursion_available = true;
            resp.metadata.authoritative = true;
            resp.add_query(q.clone());
            let entry = state.zone.lock().unwrap().get(&name).copied();
            match (entry, q.query_type()) {
                (Some((ip, ttl)), RecordType::A) => {
                    state
                        .log
                        .lock()
                        .unwrap()
                        .push(DnsEvent::Query(name.clone()));
                    // Wait while answers are held.
                    let _ = gate.wait_for(|open| *open).await;
                    resp.add_answer(Record::from_rdata(q.name().clone(), ttl, RData::A(A(ip))));
                    send(&socket, &resp, peer).await;
                    state.log.lock().unwrap().push(DnsEvent::Answer(name));
                }
                (Some(_), _) => send(&socket, &resp, peer).await,
                (None, _) => {
                    resp.metadata.response_code = ResponseCode::NXDomain;
                    send(&socket, &resp, peer).await;
                }
            }
        });
    }
}

async fn send(socket: &UdpSocket, msg: &Message, peer: SocketAddr) {
    if let Ok(bytes) = msg.to_vec() {
        let _ = socket.send_to(&bytes, peer).await;
    }
}
