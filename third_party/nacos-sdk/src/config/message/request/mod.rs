mod config_batch_listen_request;
mod config_change_notify_request;
mod config_publish_request;
mod config_query_request;
mod config_remove_request;

pub(crate) use config_batch_listen_request::*;
pub(crate) use config_change_notify_request::*;
pub(crate) use config_publish_request::*;
pub(crate) use config_query_request::*;
pub(crate) use config_remove_request::*;
