//! `/metrics` (Prometheus), `/healthz` (the process answers) and `/readyz`
//! (connected to Cassandra and consuming).

use crate::metrics::Metrics;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the handlers read.
#[derive(Clone)]
pub struct Probes {
    /// The metrics to render.
    pub metrics: Arc<Metrics>,
    /// Set once every worker is consuming.
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
    probes.metrics.render()
}

async fn ready(State(probes): State<Probes>) -> (StatusCode, &'static str) {
    if probes.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}
