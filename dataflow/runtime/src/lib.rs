//! What both services need to run: configuration files with environment overrides and
//! whole-config validation, the record of dependency outages and the retries that wait them
//! out, logging, the `/metrics` and health endpoints, and the allocator.

pub mod allocator;
pub mod config;
pub mod fault;
pub mod telemetry;
