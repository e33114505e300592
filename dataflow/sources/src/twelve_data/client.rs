//! The HTTP side: one request per endpoint and call, paced and retried.

use super::actions_page::{ActionEndpoint, parse_actions};
use super::backoff::{Backoff, RateLimiter};
use super::config::TwelveDataConfig;
use super::page::{Page, RequestInfo, parse_page};
use super::{ApiError, ApiValueError};
use crate::rejection::raw_text;
use chrono::NaiveDate;
use pricestream_records::{Bar, CorporateAction};
use pricestream_runtime::config::EnvSource;
use reqwest::header::RETRY_AFTER;
use reqwest::{StatusCode, Url};
use std::fmt;
use std::time::Duration;
use tracing::warn;
use uuid::Uuid;

/// The largest answer read; 5000 daily values take about 0.8 MB.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The API key; never printed.
#[derive(Clone)]
struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// A Twelve Data client; cheap to share by reference across tasks, which then share its
/// rate limit.
#[derive(Debug)]
pub struct TwelveDataClient {
    http: reqwest::Client,
    /// The API root, without a trailing `/`.
    base: String,
    key: ApiKey,
    outputsize: u32,
    max_retries: u32,
    backoff: Backoff,
    limiter: RateLimiter,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(Result<Vec<Result<T, ApiValueError>>, ApiError>),
    Retry { why: String, retry_after: Option<Duration> },
}

impl TwelveDataClient {
    /// A client for `config`, with the API key read from `env` (the variable named by
    /// `config.api_key_env`). Validate `config` first; this checks only what it needs.
    pub fn new(config: &TwelveDataConfig, env: &dyn EnvSource) -> Result<Self, ApiError> {
        let key = env
            .var(&config.api_key_env)
            .ok_or_else(|| ApiError::MissingApiKey { env: config.api_key_env.clone() })?;
        let bad_url = |message: String| ApiError::BadBaseUrl { url: config.base_url.clone(), message };
        let base = config.base_url.trim_end_matches('/').to_owned();
        let endpoint = Url::parse(&format!("{base}/time_series")).map_err(|e| bad_url(e.to_string()))?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(bad_url(format!("scheme `{}`", endpoint.scheme())));
        }
        let timeout = Duration::from_millis(config.request_timeout_ms.max(1));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("pricestream-extractor/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Client)?;
        let initial = Duration::from_millis(config.backoff_initial_ms.max(1));
        Ok(TwelveDataClient {
            http,
            base,
            key: ApiKey(key),
            outputsize: config.outputsize.clamp(1, 5_000),
            max_retries: config.max_retries,
            backoff: Backoff { initial, max: Duration::from_millis(config.backoff_max_ms).max(initial) },
            limiter: RateLimiter::per_minute(config.requests_per_minute),
        })
    }

    /// The daily bars of `symbol` from `start_date` on (the newest `outputsize` of them),
    /// oldest first, each a bar or the error refusing that value. Retries 429, 5xx,
    /// timeouts and connection errors with backoff; an API error body (bad symbol, bad
    /// key) fails at once. "No data is available on the specified dates" gives no bars.
    pub async fn fetch_daily(
        &self,
        symbol: &str,
        start_date: Option<NaiveDate>,
        task_number: Uuid,
    ) -> Result<Vec<Result<Bar, ApiValueError>>, ApiError> {
        let outputsize = self.outputsize.to_string();
        let query = [("interval", "1day"), ("outputsize", outputsize.as_str())];
        self.request("time_series", symbol, &query, start_date, |body, request| {
            parse_page(body, request, task_number)
        })
        .await
    }

    /// The splits and then the cash dividends of `symbol` (from `start_date` on), each an
    /// action or the error refusing that entry; retried and refused as [`Self::fetch_daily`].
    pub async fn fetch_actions(
        &self,
        symbol: &str,
        start_date: Option<NaiveDate>,
    ) -> Result<Vec<Result<CorporateAction, ApiValueError>>, ApiError> {
        let mut actions = Vec::new();
        for endpoint in [ActionEndpoint::Splits, ActionEndpoint::Dividends] {
            let read = |body: &[u8], request: &RequestInfo| parse_actions(body, request, endpoint);
            actions.extend(self.request(endpoint.path(), symbol, &[], start_date, read).await?);
        }
        Ok(actions)
    }

    /// One request to `path` about `symbol`, its answer read by `parse`.
    async fn request<T>(
        &self,
        path: &str,
        symbol: &str,
        query: &[(&str, &str)],
        start_date: Option<NaiveDate>,
        parse: impl Fn(&[u8], &RequestInfo) -> Result<Page<T>, String>,
    ) -> Result<Vec<Result<T, ApiValueError>>, ApiError> {
        let symbol = symbol.trim();
        if symbol.is_empty() {
            return Err(ApiError::EmptySymbol);
        }
        let endpoint = format!("{}/{path}", self.base);
        let mut url = Url::parse(&endpoint)
            .map_err(|e| ApiError::BadBaseUrl { url: endpoint, message: e.to_string() })?;
        url.query_pairs_mut().append_pair("symbol", symbol).extend_pairs(query);
        if let Some(start) = start_date {
            url.query_pairs_mut().append_pair("start_date", &start.format("%Y-%m-%d").to_string());
        }
        let request = RequestInfo { symbol: symbol.to_ascii_uppercase(), url: url.to_string() };
        url.query_pairs_mut().append_pair("apikey", &self.key.0);

        let mut last = String::new();
        for attempt in 0..=self.max_retries {
            self.limiter.wait().await;
            match self.attempt(&url, &request, &parse).await {
                Attempt::Done(result) => return result,
                Attempt::Retry { why, retry_after } => {
                    if attempt < self.max_retries {
                        let delay = self.backoff.delay(attempt, retry_after);
                        let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                        let (symbol, attempt) = (&request.symbol, attempt + 1);
                        warn!(%symbol, attempt, delay_ms, "Retrying Twelve Data request: {why}");
                        tokio::time::sleep(delay).await;
                    }
                    last = why;
                }
            }
        }
        Err(ApiError::GaveUp {
            symbol: request.symbol,
            request: request.url,
            attempts: self.max_retries + 1,
            last,
        })
    }

    async fn attempt<T>(
        &self,
        url: &Url,
        request: &RequestInfo,
        parse: &impl Fn(&[u8], &RequestInfo) -> Result<Page<T>, String>,
    ) -> Attempt<T> {
        let response = match self.http.get(url.clone()).send().await {
            Ok(response) => response,
            Err(error) if error.is_builder() => {
                return Attempt::Done(Err(ApiError::Request {
                    symbol: request.symbol.clone(),
                    request: request.url.clone(),
                    message: causes(&error.without_url()),
                }));
            }
            Err(error) => {
                let why = format!("request failed: {}", causes(&error.without_url()));
                return Attempt::Retry { why, retry_after: None };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = match read_body(response).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                let message = format!("the body is over {MAX_BODY_BYTES} bytes");
                return Attempt::Done(Err(self.garbage(request, message, b"")));
            }
            Err(error) => {
                let why = format!("reading the answer failed: {}", causes(&error.without_url()));
                return Attempt::Retry { why, retry_after: None };
            }
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let why = format!("HTTP {status}: {}", raw_text(&body[..body.len().min(200)]));
            return Attempt::Retry { why, retry_after };
        }
        let page = parse(&body, request);
        let api = |code: i64, message: String| {
            Attempt::Done(Err(ApiError::Api {
                symbol: request.symbol.clone(),
                request: request.url.clone(),
                code,
                message,
            }))
        };
        match page {
            Ok(Page::Error { code, message }) if code == 429 || code >= 500 => {
                Attempt::Retry { why: format!("Twelve Data error {code}: {message}"), retry_after }
            }
            Ok(Page::Error { message, .. }) if message.starts_with("No data is available") => {
                Attempt::Done(Ok(Vec::new()))
            }
            Ok(Page::Error { code, message }) => {
                api(if code == 0 { i64::from(status.as_u16()) } else { code }, message)
            }
            _ if !status.is_success() => {
                api(i64::from(status.as_u16()), raw_text(&body[..body.len().min(200)]))
            }
            Ok(Page::Values(values)) => Attempt::Done(Ok(values)),
            Err(message) => Attempt::Done(Err(self.garbage(request, message, &body))),
        }
    }

    fn garbage(&self, request: &RequestInfo, message: String, body: &[u8]) -> ApiError {
        ApiError::Garbage {
            symbol: request.symbol.clone(),
            request: request.url.clone(),
            message,
            raw: raw_text(body),
        }
    }
}

/// The body, or `None` when it is longer than [`MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// An error and its causes, joined with `: ` (reqwest's own message alone says little).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
