//! The adapter's parts, as a library so that the binary (`main.rs`), the
//! fuzz targets and the benchmarks share them. Nothing here is a stable API:
//! the product is the `lambda-adapter` binary.

#![forbid(unsafe_code)]

pub mod app;
#[cfg(feature = "compression")]
pub mod compress;
pub mod config;
pub mod error;
pub mod event;
pub mod extension;
pub mod invocation;
pub mod json;
pub mod readiness;
pub mod runtime;
pub mod stream;
pub mod transport;
pub mod worker;
pub mod wrapper;
