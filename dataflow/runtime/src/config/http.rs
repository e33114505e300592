use super::{EnvSource, Problems};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// The `/metrics`, `/healthz` and `/readyz` endpoint of a service. Each service
/// has its own default address (see [`HttpSettings::on`]) so they can run side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to listen on. Env: `PRICESTREAM_HTTP_ADDR`.
    pub listen_addr: String,
}

impl HttpSettings {
    /// Listening on `listen_addr`.
    pub fn on(listen_addr: &str) -> Self {
        HttpSettings { listen_addr: listen_addr.to_owned() }
    }

    /// Applies `PRICESTREAM_HTTP_ADDR`.
    pub fn apply_env(&mut self, env: &dyn EnvSource) {
        env.set("PRICESTREAM_HTTP_ADDR", &mut self.listen_addr);
    }

    /// Records a problem under `prefix` when the address is not `ip:port`.
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        problems.check(
            self.listen_addr.parse::<SocketAddr>().is_ok(),
            &format!("{prefix}.listen_addr"),
            format_args!("must be ip:port, got `{}`", self.listen_addr),
        );
    }
}
