pub(crate) mod config;
pub(crate) mod handlers;
pub(crate) mod message;
pub(crate) mod nacos_grpc_client;
pub(crate) mod nacos_grpc_connection;
pub(crate) mod nacos_grpc_service;
pub(crate) mod tonic;
pub(crate) mod utils;

pub(crate) use nacos_grpc_client::*;
