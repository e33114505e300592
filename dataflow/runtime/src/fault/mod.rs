//! Riding out faults: which errors are worth waiting out, how long to wait between tries, and
//! the record of outages that readiness, the logs and the metrics read.
//!
//! Every request to Kafka or Cassandra that fails is classified ([`Fault`]):
//! * **transient** (a broker or node restarting, a timeout, no connection): waited out with
//!   capped, jittered exponential backoff ([`Backoff`]), reported once per outage
//!   ([`Outages`]): one log line when it starts, one when it ends, `/readyz` 503 meanwhile;
//! * **refused** (this record or row is wrong for what it is: a key Cassandra cannot store, a
//!   message larger than the broker takes): never retried, dead-lettered by the caller;
//! * **fatal** (authentication, a table or topic that is missing, a config error): retrying
//!   cannot fix it; the process ends with the error, which says what to fix.

mod backoff;
mod classify;
mod outages;
mod retry;

pub use backoff::Backoff;
pub use classify::{DependencyError, Fault};
pub use outages::{Dependency, OutageMetrics, Outages};
pub use retry::{Patience, wait_out, wait_out_blocking, wait_out_for};
