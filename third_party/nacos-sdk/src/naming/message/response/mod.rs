mod batch_instance_response;
mod instance_response;
mod notify_subscriber_response;
mod query_service_response;
mod service_list_response;
mod subscribe_service_response;

pub(crate) use batch_instance_response::*;
pub(crate) use instance_response::*;
pub(crate) use notify_subscriber_response::*;
pub(crate) use query_service_response::*;
pub(crate) use service_list_response::*;
pub(crate) use subscribe_service_response::*;
