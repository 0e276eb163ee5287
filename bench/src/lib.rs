//! Shared by the `gantry-bench` driver and the criterion benches in `benches/`: the
//! generated configurations they measure.

pub mod many_routes;
