use super::PodIdentity;
use super::peers::explain;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::Client;
use kube::api::Api;
use std::time::Duration;
use tracing::warn;

/// Polls the StatefulSet every `every` until its replica count differs from `replicas`,
/// and returns the new count. API errors are logged and retried: a flaky API server must
/// not stop a running cluster.
pub async fn watch_replicas(
    client: Client,
    identity: PodIdentity,
    replicas: usize,
    every: Duration,
) -> usize {
    let sets: Api<StatefulSet> = Api::namespaced(client, &identity.namespace);
    loop {
        tokio::time::sleep(every).await;
        match sets.get(&identity.statefulset).await {
            Ok(set) => {
                let now = set.spec.replicas.map_or(1, |r| usize::try_from(r).unwrap_or(0));
                if now != replicas {
                    return now;
                }
            }
            Err(error) => {
                let what = format!("read StatefulSet {}", identity.statefulset);
                warn!("Cannot check the cluster size: {:#}", explain(error, &what, &identity));
            }
        }
    }
}
