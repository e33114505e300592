use super::CassandraError;
use crate::Result;
use pricestream_runtime::config::CassandraConfig;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::load_balancing::DefaultPolicy;
use std::time::Duration;

/// Opens a session to the cluster described by `config`.
pub async fn connect(config: &CassandraConfig) -> Result<Session> {
    let mut policy = DefaultPolicy::builder();
    if let Some(datacenter) = &config.local_datacenter {
        policy = policy.prefer_datacenter(datacenter.clone());
    }
    let profile = ExecutionProfile::builder()
        .request_timeout(Some(Duration::from_millis(config.request_timeout_ms)))
        .load_balancing_policy(policy.build())
        .build();
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(Duration::from_secs(10))
        .default_execution_profile_handle(profile.into_handle());
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.user(user, password.expose());
    }
    if let Some(tls) = &config.tls {
        let tls = super::tls::client_config(tls).map_err(CassandraError::Tls)?;
        builder = builder.tls_context(Some(std::sync::Arc::new(tls)));
    }
    builder
        .build()
        .await
        .map_err(|source| CassandraError::Connect { contact_points: config.contact_points.join(","), source })
}
