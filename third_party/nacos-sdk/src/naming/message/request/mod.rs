mod batch_instance_request;
mod instance_request;
mod notify_subscriber_request;
mod persistent_instance_request;
mod service_list_request;
mod service_query_request;
mod subscribe_service_request;

pub(crate) use batch_instance_request::*;
pub(crate) use instance_request::*;
pub(crate) use notify_subscriber_request::*;
pub(crate) use persistent_instance_request::*;
pub(crate) use service_list_request::*;
pub(crate) use service_query_request::*;
pub(crate) use subscribe_service_request::*;
