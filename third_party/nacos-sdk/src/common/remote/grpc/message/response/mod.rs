mod client_detection_response;
mod error_response;
mod health_check_response;
mod server_check_response;

pub(crate) use client_detection_response::*;
#[allow(unused_imports)]
pub(crate) use error_response::*;
pub(crate) use health_check_response::*;
pub(crate) use server_check_response::*;
