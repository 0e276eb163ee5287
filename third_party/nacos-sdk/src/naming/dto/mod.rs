mod service_info;
pub(crate) use service_info::*;
