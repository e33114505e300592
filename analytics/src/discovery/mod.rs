//! Finding the timely peers inside Kubernetes: this pod's ordinal in its StatefulSet is
//! the process index, the StatefulSet's replica count is the process count, and the peers
//! are the pods' stable DNS names under the headless Service.
//!
//! The pod learns its identity from the environment the chart sets: `POD_NAME` and
//! `POD_NAMESPACE` (downward API), `PRICESTREAM_PEER_SERVICE` (the headless Service) and
//! `PRICESTREAM_PEER_PORT` (the port timely listens on). It then asks the API server for the
//! StatefulSet and its pods, and waits until every peer's name resolves. A change of the
//! replica count later makes the process exit, so that the whole cluster restarts with the
//! new size (timely clusters are fixed at start; the state is rebuilt from Kafka).

mod identity;
mod peers;
mod scale;

pub use identity::PodIdentity;
pub use peers::{await_peers, membership, resolves};

#[cfg(test)]
mod mock_tests;
pub use scale::watch_replicas;
