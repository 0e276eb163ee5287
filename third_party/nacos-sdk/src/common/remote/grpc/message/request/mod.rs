mod client_detection_request;
mod health_check_request;
mod server_check_request;
mod set_up_request;

pub(crate) use client_detection_request::*;
pub(crate) use health_check_request::*;
pub(crate) use server_check_request::*;
pub(crate) use set_up_request::*;
