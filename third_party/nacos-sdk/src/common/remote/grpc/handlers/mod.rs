pub(crate) mod client_detection_request_handler;
pub(crate) mod default_handler;
