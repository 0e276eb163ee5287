//! Helpers for Gantry's end-to-end tests: the real `gantry` binary against real
//! backends on loopback, with no fixed ports and no fixed sleeps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod backend;
pub mod backends;
pub mod client;
pub mod config;
pub mod console;
pub mod dns;
pub mod echo;
pub mod eventually;
pub mod file_server;
pub mod fresh_load;
pub mod gantry;
pub mod grpc;
pub mod hold;
pub mod http1;
pub mod http2;
pub mod https_echo;
pub mod installer;
pub mod load;
pub mod otlp;
pub mod plugins;
pub mod ports;
pub mod process;
pub mod raw_tcp;
pub mod redis;
pub mod registry;
pub mod rnacos;
pub mod scrape;
pub mod stream;
pub mod subcommand;
pub mod tls;
pub mod tonic_echo;
pub mod ws;

pub use client::{Client, Reply};
pub use config::{ConfigDir, Ingress, Path, PathType, Registry};
pub use console::{ConsoleClient, ConsoleReply};
pub use echo::EchoServer;
pub use eventually::{eventually, try_eventually, DEADLINE};
pub use gantry::{gantry_bin, routes, run_cli, validate, CliOutput, Gantry, GantryBuilder, Watch};
pub use ports::{closed_port, free_port, HeldPort};
pub use rnacos::Rnacos;
