use anyhow::{Context, bail};
use pricestream_runtime::config::EnvSource;

/// Who this pod is in its StatefulSet, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodIdentity {
    /// Namespace of the pod and its StatefulSet.
    pub namespace: String,
    /// The StatefulSet (the pod name without its ordinal).
    pub statefulset: String,
    /// This pod's ordinal: the timely process index.
    pub ordinal: usize,
    /// The headless Service that gives every pod a DNS name.
    pub service: String,
    /// The port timely listens on in every pod.
    pub port: u16,
}

impl PodIdentity {
    /// The identity from `POD_NAME`, `POD_NAMESPACE`, `PRICESTREAM_PEER_SERVICE` and
    /// `PRICESTREAM_PEER_PORT`; `None` outside Kubernetes (no `POD_NAME` or no peer service).
    pub fn from_env(env: &dyn EnvSource) -> anyhow::Result<Option<Self>> {
        let (Some(pod), Some(service)) = (env.var("POD_NAME"), env.var("PRICESTREAM_PEER_SERVICE")) else {
            return Ok(None);
        };
        let namespace = env.var("POD_NAMESPACE").context("POD_NAMESPACE must be set with POD_NAME")?;
        let port = match env.var("PRICESTREAM_PEER_PORT") {
            None => 2101,
            Some(text) => text
                .parse()
                .with_context(|| format!("PRICESTREAM_PEER_PORT `{text}` is not a port number"))?,
        };
        let (statefulset, ordinal) = split_ordinal(&pod)?;
        Ok(Some(PodIdentity { namespace, statefulset: statefulset.to_owned(), ordinal, service, port }))
    }

    /// The address of peer `ordinal`: `<statefulset>-<ordinal>.<service>.<namespace>.svc:<port>`.
    pub fn peer_address(&self, ordinal: usize) -> String {
        format!("{}-{ordinal}.{}.{}.svc:{}", self.statefulset, self.service, self.namespace, self.port)
    }
}

/// `analytics-3` -> (`analytics`, 3).
fn split_ordinal(pod: &str) -> anyhow::Result<(&str, usize)> {
    match pod.rsplit_once('-') {
        Some((set, ordinal)) if !set.is_empty() => match ordinal.parse() {
            Ok(ordinal) => Ok((set, ordinal)),
            Err(_) => bail!("POD_NAME `{pod}` does not end in a StatefulSet ordinal (`<name>-<n>`)"),
        },
        _ => bail!("POD_NAME `{pod}` does not end in a StatefulSet ordinal (`<name>-<n>`)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_the_pod_identity_and_builds_peer_names() -> anyhow::Result<()> {
        let env = HashMap::from([
            ("POD_NAME", "ps-analytics-2"),
            ("POD_NAMESPACE", "markets"),
            ("PRICESTREAM_PEER_SERVICE", "ps-analytics-peers"),
            ("PRICESTREAM_PEER_PORT", "2200"),
        ]);
        let identity = PodIdentity::from_env(&env)?.context("identity")?;
        assert_eq!((identity.statefulset.as_str(), identity.ordinal), ("ps-analytics", 2));
        assert_eq!(identity.peer_address(0), "ps-analytics-0.ps-analytics-peers.markets.svc:2200");
        Ok(())
    }

    #[test]
    fn outside_kubernetes_there_is_no_identity_and_bad_names_are_errors() -> anyhow::Result<()> {
        assert_eq!(PodIdentity::from_env(&HashMap::<&str, &str>::new())?, None);
        let env = HashMap::from([
            ("POD_NAME", "analytics"),
            ("POD_NAMESPACE", "markets"),
            ("PRICESTREAM_PEER_SERVICE", "peers"),
        ]);
        let message = PodIdentity::from_env(&env).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("POD_NAME `analytics` does not end in a StatefulSet ordinal"), "{message}");
        Ok(())
    }
}
