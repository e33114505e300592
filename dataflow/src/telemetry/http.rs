//! `/metrics` (Prometheus text format), `/healthz` (the process answers) and
//! `/readyz` (the service is connected and working), shared by the services.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the handlers read.
#[derive(Clone)]
pub struct Probes {
    /// The metrics `/metrics` renders.
    pub registry: Registry,
    /// Set once the service is ready; `/readyz` answers 503 until then.
    pub ready: Arc<AtomicBool>,
}

/// Serves the endpoints on `listener` until the runtime shuts down.
pub async fn serve(listener: tokio::net::TcpListener, probes: Probes) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(probes);
    axum::serve(listener, app).await
}

async fn metrics(State(probes): State<Probes>) -> String {
    prometheus::TextEncoder::new().encode_to_string(&probes.registry.gather()).unwrap_or_default()
}

async fn ready(State(probes): State<Probes>) -> (StatusCode, &'static str) {
    if probes.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}
