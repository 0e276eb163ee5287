pub(crate) mod service_info_diff;
pub(crate) mod service_info_observable;
