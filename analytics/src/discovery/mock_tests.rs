//! The discovery code against a mocked API server: the exact requests it makes, and what
//! it does with refusals, missing peers and a rescaled StatefulSet.

use super::{PodIdentity, await_peers, membership, watch_replicas};
use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use std::time::Duration;
use tower_test::mock::{self, Handle};

type ApiServer = Handle<Request<Body>, Response<Body>>;

fn identity(ordinal: usize) -> PodIdentity {
    PodIdentity {
        namespace: "markets".into(),
        statefulset: "ps-analytics".into(),
        ordinal,
        service: "ps-analytics-peers".into(),
        port: 2101,
    }
}

/// A client whose API server is `script`, run on its own task.
fn mocked<F>(script: impl FnOnce(ApiServer) -> F) -> (Client, tokio::task::JoinHandle<()>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (service, server) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "markets"), tokio::spawn(script(server)))
}

fn statefulset(replicas: i32) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "ps-analytics", "namespace": "markets"},
        "spec": {
            "replicas": replicas,
            "serviceName": "ps-analytics-peers",
            "selector": {"matchLabels": {"app.kubernetes.io/name": "pricestream", "app.kubernetes.io/component": "analytics"}},
            "template": {"spec": {"containers": [{"name": "analytics", "image": "pricestream-analytics"}]}}
        }
    })
}

fn pods(with_ip: &[usize]) -> Value {
    let items: Vec<Value> = with_ip
        .iter()
        .map(|i| json!({"metadata": {"name": format!("ps-analytics-{i}")}, "status": {"podIP": format!("10.0.0.{i}")}}))
        .collect();
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})
}

fn refusal(code: StatusCode, reason: &str) -> Response<Body> {
    let status = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "reason": reason,
        "message": format!("{reason} for the test"), "code": code.as_u16()});
    let mut response = Response::new(Body::from(serde_json::to_vec(&status).unwrap_or_default()));
    *response.status_mut() = code;
    response
}

/// Answers the next request with `response` after checking its method and path + query.
async fn expect(server: &mut ApiServer, path_and_query: &str, response: Response<Body>) {
    let (request, send) = server.next_request().await.expect("the client sent no request");
    assert_eq!(request.method(), http::Method::GET);
    assert_eq!(request.uri().to_string(), path_and_query);
    send.send_response(response);
}

fn ok(body: &Value) -> Response<Body> {
    Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()))
}

const STATEFULSET_PATH: &str = "/apis/apps/v1/namespaces/markets/statefulsets/ps-analytics";
const PODS_PATH: &str = "/api/v1/namespaces/markets/pods?&labelSelector=app.kubernetes.io%2Fcomponent%3Danalytics%2Capp.kubernetes.io%2Fname%3Dpricestream";

#[tokio::test]
async fn reads_the_replicas_and_selector_then_waits_for_every_peer() -> anyhow::Result<()> {
    let (client, api) = mocked(|mut server| async move {
        expect(&mut server, STATEFULSET_PATH, ok(&statefulset(3))).await;
        // Pod 2 has no IP yet on the first look, then everyone is there.
        expect(&mut server, PODS_PATH, ok(&pods(&[0, 1]))).await;
        expect(&mut server, PODS_PATH, ok(&pods(&[0, 1, 2]))).await;
    });
    let me = identity(1);
    let membership = membership(&client, &me).await?;
    assert_eq!(membership.replicas, 3);
    assert_eq!(
        membership.selector,
        "app.kubernetes.io/component=analytics,app.kubernetes.io/name=pricestream"
    );
    let timing = (Duration::from_secs(10), Duration::from_millis(1));
    let hosts = await_peers(&client, &me, &membership, timing, async |_: &str| true).await?;
    assert_eq!(
        hosts,
        [0, 1, 2].map(|i| format!("ps-analytics-{i}.ps-analytics-peers.markets.svc:2101")).to_vec()
    );
    api.await?;
    Ok(())
}

#[tokio::test]
async fn names_the_peers_that_never_resolve() -> anyhow::Result<()> {
    let (client, api) = mocked(|mut server| async move {
        expect(&mut server, STATEFULSET_PATH, ok(&statefulset(2))).await;
        while let Some((_, send)) = server.next_request().await {
            send.send_response(ok(&pods(&[0, 1])));
        }
    });
    let me = identity(0);
    let membership = membership(&client, &me).await?;
    let timing = (Duration::from_millis(30), Duration::from_millis(5));
    // Both pods have IPs, but the DNS name of pod 1 never resolves.
    let resolves = async |address: &str| !address.starts_with("ps-analytics-1.");
    let message = await_peers(&client, &me, &membership, timing, resolves).await.err().map(|e| e.to_string());
    let message = message.unwrap_or_default();
    assert!(message.contains("timely peers not reachable"), "{message}");
    assert!(message.contains("ps-analytics-1") && !message.contains("ps-analytics-0"), "{message}");
    drop(client);
    api.abort();
    Ok(())
}

#[tokio::test]
async fn a_forbidden_api_names_the_missing_permission_and_a_pod_beyond_replicas_refuses() -> anyhow::Result<()>
{
    let (client, api) = mocked(|mut server| async move {
        expect(&mut server, STATEFULSET_PATH, refusal(StatusCode::FORBIDDEN, "Forbidden")).await;
        expect(&mut server, STATEFULSET_PATH, ok(&statefulset(2))).await;
    });
    let message = membership(&client, &identity(0)).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("refused to read StatefulSet ps-analytics in namespace markets"), "{message}");
    assert!(message.contains("ServiceAccount needs get on statefulsets"), "{message}");
    let message = membership(&client, &identity(2)).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("ordinal 2 but StatefulSet ps-analytics has 2 replica(s)"), "{message}");
    api.await?;
    Ok(())
}

#[tokio::test]
async fn a_rescale_is_noticed_and_api_errors_meanwhile_are_survived() -> anyhow::Result<()> {
    let (client, api) = mocked(|mut server| async move {
        expect(&mut server, STATEFULSET_PATH, ok(&statefulset(3))).await;
        expect(&mut server, STATEFULSET_PATH, refusal(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"))
            .await;
        expect(&mut server, STATEFULSET_PATH, ok(&statefulset(4))).await;
    });
    let now = tokio::time::timeout(
        Duration::from_secs(10),
        watch_replicas(client, identity(0), 3, Duration::from_millis(1)),
    )
    .await?;
    assert_eq!(now, 4);
    api.await?;
    Ok(())
}
