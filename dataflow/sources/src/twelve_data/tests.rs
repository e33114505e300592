//! The client against a local HTTP server on 127.0.0.1 (never the internet).

use super::{ApiError, TwelveDataClient, TwelveDataConfig};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const KEY: &str = "s3cr3t-key";

const GOOD: &str = r#"{"meta":{"symbol":"AAPL","interval":"1day","currency":"USD"},"values":[
{"datetime":"2024-01-03","open":"184.22","high":"185.88","low":"183.43","close":"184.25","volume":"58414500"},
{"datetime":"2024-01-02","open":"187.15","high":"188.44","low":"183.89","close":"185.64","volume":"82488700"}
],"status":"ok"}"#;

/// Answers the n-th request (0-based) of a test.
type Script = Box<dyn Fn(usize) -> Response + Send + Sync>;

struct Served {
    script: Script,
    queries: Mutex<Vec<String>>,
}

async fn answer(State(served): State<Arc<Served>>, uri: Uri) -> Response {
    let n = {
        let mut queries = served.queries.lock().expect("not poisoned");
        queries.push(uri.query().unwrap_or_default().to_owned());
        queries.len() - 1
    };
    (served.script)(n)
}

/// Starts a server answering `/time_series` with `script`; returns its base URL and state.
async fn serve(script: impl Fn(usize) -> Response + Send + Sync + 'static) -> (String, Arc<Served>) {
    let served = Arc::new(Served { script: Box::new(script), queries: Mutex::new(Vec::new()) });
    let app = Router::new().route("/time_series", get(answer)).with_state(Arc::clone(&served));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), served)
}

fn config(base_url: &str) -> TwelveDataConfig {
    TwelveDataConfig {
        base_url: base_url.into(),
        requests_per_minute: 6_000,
        max_retries: 2,
        request_timeout_ms: 2_000,
        backoff_initial_ms: 100,
        backoff_max_ms: 400,
        ..TwelveDataConfig::default()
    }
}

fn client(config: &TwelveDataConfig) -> TwelveDataClient {
    TwelveDataClient::new(config, &HashMap::from([("TWELVE_DATA_API_KEY", KEY)])).expect("client")
}

fn json(status: StatusCode, body: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_owned()).into_response()
}

fn calls(served: &Served) -> usize {
    served.queries.lock().expect("not poisoned").len()
}

#[tokio::test]
async fn reads_a_good_page_and_sends_the_key_as_a_query_parameter() {
    let (base, served) = serve(|_| json(StatusCode::OK, GOOD)).await;
    let start = NaiveDate::from_ymd_opt(2024, 1, 2);
    let rows = client(&config(&base)).fetch_daily("aapl", start, Uuid::nil()).await.expect("fetched");
    let bars: Vec<_> = rows.into_iter().map(|r| r.expect("valid")).collect();
    assert_eq!(bars.len(), 2);
    assert_eq!((bars[0].ticker.as_str(), bars[0].datetime.to_string()), ("AAPL", "2024-01-02".into()));
    assert_eq!((bars[0].open, bars[0].volume), (187.15, 82_488_700));
    let query = served.queries.lock().expect("not poisoned")[0].clone();
    for part in
        ["symbol=aapl", "interval=1day", "outputsize=5000", "start_date=2024-01-02", "apikey=s3cr3t-key"]
    {
        assert!(query.split('&').any(|p| p == part), "{part} missing from {query}");
    }
}

#[tokio::test]
async fn a_429_is_retried_after_a_backoff() {
    let (base, served) = serve(|n| match n {
        0 => json(StatusCode::TOO_MANY_REQUESTS, r#"{"code":429,"message":"slow down","status":"error"}"#),
        _ => json(StatusCode::OK, GOOD),
    })
    .await;
    let started = Instant::now();
    let rows = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect("fetched");
    assert_eq!(rows.len(), 2);
    assert_eq!(calls(&served), 2);
    // The first backoff is 100 ms less up to half of it in jitter.
    assert!(started.elapsed() >= Duration::from_millis(50), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_429_in_an_ok_body_is_retried_too() {
    let (base, served) = serve(|n| match n {
        0 => json(
            StatusCode::OK,
            r#"{"code":429,"message":"You have run out of API credits","status":"error"}"#,
        ),
        _ => json(StatusCode::OK, GOOD),
    })
    .await;
    let rows = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect("fetched");
    assert_eq!((rows.len(), calls(&served)), (2, 2));
}

#[tokio::test]
async fn server_errors_are_retried_until_giving_up() {
    let (base, served) = serve(|_| (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()).await;
    let error = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect_err("gave up");
    assert_eq!(calls(&served), 3);
    let text = error.to_string();
    assert!(matches!(error, ApiError::GaveUp { attempts: 3, .. }), "{text}");
    assert!(text.contains("AAPL") && text.contains("HTTP 500") && text.contains("boom"), "{text}");
    assert!(!text.contains(KEY), "{text}");
}

#[tokio::test]
async fn an_error_body_fails_at_once_naming_symbol_and_message() {
    let body = r#"{"code":400,"message":"**symbol** not found: NOPE","status":"error"}"#;
    let (base, served) = serve(move |_| json(StatusCode::OK, body)).await;
    let error = client(&config(&base)).fetch_daily("NOPE", None, Uuid::nil()).await.expect_err("refused");
    assert_eq!(calls(&served), 1);
    let text = error.to_string();
    assert!(matches!(error, ApiError::Api { code: 400, .. }), "{text}");
    assert!(text.starts_with("NOPE: Twelve Data refused http://127.0.0.1"), "{text}");
    assert!(text.contains("**symbol** not found: NOPE"), "{text}");
    assert!(!text.contains(KEY), "{text}");
}

#[tokio::test]
async fn a_4xx_other_than_429_is_not_retried() {
    let body = r#"{"code":401,"message":"**apikey** parameter is incorrect","status":"error"}"#;
    let (base, served) = serve(move |_| json(StatusCode::UNAUTHORIZED, body)).await;
    let error = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect_err("refused");
    assert_eq!(calls(&served), 1);
    assert!(matches!(error, ApiError::Api { code: 401, .. }), "{error}");
}

#[tokio::test]
async fn garbage_is_a_clear_error() {
    let (base, _served) = serve(|_| (StatusCode::OK, "<html>maintenance</html>").into_response()).await;
    let error = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect_err("garbage");
    let text = error.to_string();
    assert!(matches!(&error, ApiError::Garbage { raw, .. } if raw.contains("maintenance")), "{text}");
    assert!(text.contains("not JSON"), "{text}");
}

#[tokio::test]
async fn no_data_in_the_range_gives_no_bars() {
    let body = r#"{"code":400,"status":"error",
        "message":"No data is available on the specified dates. Try setting different start/end dates."}"#;
    let (base, _served) = serve(move |_| json(StatusCode::OK, body)).await;
    let rows = client(&config(&base)).fetch_daily("AAPL", None, Uuid::nil()).await.expect("empty");
    assert!(rows.is_empty());
}

#[tokio::test]
async fn connection_errors_and_timeouts_are_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let error = client(&config(&closed)).fetch_daily("AAPL", None, Uuid::nil()).await.expect_err("refused");
    assert!(matches!(error, ApiError::GaveUp { attempts: 3, .. }), "{error}");
    assert!(error.to_string().contains("request failed"), "{error}");

    let (base, served) = serve(|_| {
        std::thread::sleep(Duration::from_millis(300));
        json(StatusCode::OK, GOOD)
    })
    .await;
    let slow = TwelveDataConfig { request_timeout_ms: 100, max_retries: 1, ..config(&base) };
    let error = client(&slow).fetch_daily("AAPL", None, Uuid::nil()).await.expect_err("timed out");
    assert!(matches!(error, ApiError::GaveUp { attempts: 2, .. }), "{error}");
    assert!(calls(&served) >= 1);
}

#[tokio::test]
async fn requests_are_paced_by_the_per_minute_limit() {
    let (base, served) = serve(|_| json(StatusCode::OK, GOOD)).await;
    let paced = TwelveDataConfig { requests_per_minute: 600, ..config(&base) }; // one per 100 ms
    let client = client(&paced);
    let started = Instant::now();
    for _ in 0..3 {
        client.fetch_daily("AAPL", None, Uuid::nil()).await.expect("fetched");
    }
    assert_eq!(calls(&served), 3);
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_missing_key_is_named() {
    let error = TwelveDataClient::new(&TwelveDataConfig::default(), &HashMap::new()).expect_err("no key");
    assert!(error.to_string().contains("TWELVE_DATA_API_KEY"), "{error}");
}

#[test]
fn the_client_never_prints_its_key() {
    let client = client(&TwelveDataConfig::default());
    assert!(!format!("{client:?}").contains(KEY));
}
