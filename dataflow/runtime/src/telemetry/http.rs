//! `/metrics` (Prometheus text format), `/healthz` (the process is alive and making progress)
//! and `/readyz` (the service is started and none of its dependencies is being waited out),
//! shared by the services.

use crate::fault::Outages;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A liveness check: `Err` says what is stuck, and `/healthz` answers 503 with it.
pub type HealthCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// What the handlers read.
#[derive(Clone)]
pub struct Probes {
    /// The metrics `/metrics` renders.
    pub registry: Registry,
    /// Set once the service has started; `/readyz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
    /// The outages being waited out; `/readyz` answers 503 while there is one.
    pub outages: Arc<Outages>,
    /// The liveness check of `/healthz`; without one, a process that answers is alive.
    pub health: Option<HealthCheck>,
}

/// Serves the endpoints on `listener` until the runtime shuts down.
pub async fn serve(listener: tokio::net::TcpListener, probes: Probes) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
        .with_state(probes);
    axum::serve(listener, app).await
}

async fn metrics(State(probes): State<Probes>) -> String {
    prometheus::TextEncoder::new().encode_to_string(&probes.registry.gather()).unwrap_or_default()
}

async fn health(State(probes): State<Probes>) -> (StatusCode, String) {
    match probes.health.as_ref().map_or(Ok(()), |check| check()) {
        Ok(()) => (StatusCode::OK, "ok\n".into()),
        Err(stuck) => (StatusCode::SERVICE_UNAVAILABLE, format!("stuck: {stuck}\n")),
    }
}

async fn ready(State(probes): State<Probes>) -> (StatusCode, String) {
    if !probes.ready.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n".into());
    }
    let outages = probes.outages.describe();
    if outages.is_empty() {
        (StatusCode::OK, "ready\n".into())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", outages.join("\n")))
    }
}
