use super::PodIdentity;
use anyhow::bail;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// The cluster as the StatefulSet defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Process count: the StatefulSet's replicas.
    pub replicas: usize,
    /// The label selector of its pods, `k=v,k=v`.
    pub selector: String,
}

/// Why the API server refused, in words an operator can act on.
pub(super) fn explain(error: kube::Error, what: &str, identity: &PodIdentity) -> anyhow::Error {
    match &error {
        kube::Error::Api(status) if status.is_forbidden() => anyhow::anyhow!(
            "the API server refused to {what} in namespace {} ({}): the analytics ServiceAccount needs \
             get on statefulsets and list on pods there (the chart's Role grants it)",
            identity.namespace,
            status.message
        ),
        kube::Error::Api(status) if status.is_not_found() => {
            anyhow::anyhow!(
                "cannot {what}: not found in namespace {} ({})",
                identity.namespace,
                status.message
            )
        }
        _ => anyhow::Error::new(error).context(format!("cannot {what}")),
    }
}

/// Reads the StatefulSet: its replica count and pod selector. Refuses to start a process
/// whose ordinal is not below the replica count (a pod being scaled away).
pub async fn membership(client: &Client, identity: &PodIdentity) -> anyhow::Result<Membership> {
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), &identity.namespace);
    let what = format!("read StatefulSet {}", identity.statefulset);
    let set = sets.get(&identity.statefulset).await.map_err(|e| explain(e, &what, identity))?;
    let spec = set.spec;
    let replicas = usize::try_from(spec.replicas.unwrap_or(1)).unwrap_or(0);
    if identity.ordinal >= replicas {
        bail!(
            "this pod is ordinal {} but StatefulSet {} has {replicas} replica(s): it is being scaled away",
            identity.ordinal,
            identity.statefulset
        );
    }
    let labels = spec.selector.match_labels.unwrap_or_default();
    if labels.is_empty() {
        bail!(
            "StatefulSet {} selects its pods without matchLabels; cannot list its peers",
            identity.statefulset
        );
    }
    let selector = labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    Ok(Membership { replicas, selector })
}

/// Whether a peer address resolves in DNS.
pub async fn resolves(address: &str) -> bool {
    tokio::net::lookup_host(address).await.is_ok_and(|mut found| found.next().is_some())
}

/// Waits until every peer pod exists with an IP and its DNS name resolves (by `resolves`),
/// then returns the addresses of all processes in ordinal order. Logs who is missing while
/// it waits, and names them when it gives up after `timeout`.
pub async fn await_peers(
    client: &Client,
    identity: &PodIdentity,
    membership: &Membership,
    (timeout, poll): (Duration, Duration),
    resolves: impl AsyncFn(&str) -> bool,
) -> anyhow::Result<Vec<String>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &identity.namespace);
    let addresses: Vec<String> = (0..membership.replicas).map(|i| identity.peer_address(i)).collect();
    let deadline = Instant::now() + timeout;
    loop {
        let listed = pods
            .list(&ListParams::default().labels(&membership.selector))
            .await
            .map_err(|e| explain(e, "list the analytics pods", identity))?;
        let with_ip: BTreeSet<String> = listed
            .items
            .iter()
            .filter(|pod| pod.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some())
            .filter_map(|pod| pod.metadata.name.clone())
            .collect();
        let mut missing = Vec::new();
        for (ordinal, address) in addresses.iter().enumerate() {
            let pod = format!("{}-{ordinal}", identity.statefulset);
            if !with_ip.contains(&pod) || !resolves(address).await {
                missing.push(pod);
            }
        }
        if missing.is_empty() {
            info!(process = identity.ordinal, processes = membership.replicas, "Every timely peer resolves.");
            return Ok(addresses);
        }
        if Instant::now() >= deadline {
            bail!(
                "timely peers not reachable after {timeout:?}: {} (pods without an IP or without a DNS name \
                 under Service {})",
                missing.join(", "),
                identity.service
            );
        }
        warn!(missing = %missing.join(","), "Waiting for timely peers.");
        tokio::time::sleep(poll).await;
    }
}
