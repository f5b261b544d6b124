//! Integration tests: the built adapter binary between a mock Lambda Runtime
//! API and a real HTTP app on loopback. One test binary (faster to build and
//! link than one per file); modules by topic.

mod bad_input;
mod compression;
mod concurrency;
mod faults;
mod lifecycle;
mod reliability;
mod simulator;
mod soak;
mod sources;
mod startup;
mod streaming;
mod support;
mod wrapper;
