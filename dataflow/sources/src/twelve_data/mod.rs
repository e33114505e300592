//! Client for the Twelve Data REST API: `time_series` (daily bars), `splits` and `dividends`
//! (corporate actions), with a requests-per-minute limit and retries with exponential backoff.

mod actions_page;
mod backoff;
mod client;
mod config;
pub(crate) mod page;

#[cfg(test)]
mod tests;

pub use client::TwelveDataClient;
pub use config::TwelveDataConfig;

use super::rejection::Reason;
use chrono::Utc;
use pricestream_records::DeadLetter;
use std::fmt;
use uuid::Uuid;

/// One value of an API answer that could not be turned into a bar; the others still go through.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiValueError {
    /// The symbol asked for.
    pub symbol: String,
    /// The request URL, without the API key.
    pub request: String,
    /// The answer's array the value is in: `values` (bars), `splits` or `dividends`.
    pub array: &'static str,
    /// 0-based position of the value in that array (newest first).
    pub index: usize,
    /// The value's date (`datetime`, `date` or `ex_date`), when it has one.
    pub datetime: Option<String>,
    /// Why, machine-readable.
    pub reason: Reason,
    /// What is wrong, naming the field.
    pub message: String,
    /// The value's JSON, cut to `RAW_MAX_BYTES`.
    pub raw: String,
}

impl ApiValueError {
    /// The dead letter for this value (no line; the source is the request without key).
    pub fn to_dead_letter(&self, task_number: Uuid) -> DeadLetter {
        DeadLetter {
            source: self.request.clone(),
            line: None,
            topic: None,
            partition: None,
            offset: None,
            reason: self.reason.as_str().to_owned(),
            message: format!("{}: {}[{}]: {}", self.symbol, self.array, self.index, self.message),
            raw: self.raw.clone(),
            task_number,
            detected_at: Utc::now(),
        }
    }
}

impl fmt::Display for ApiValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}[{}]", self.request, self.array, self.index)?;
        if let Some(datetime) = &self.datetime {
            write!(f, " ({datetime})")?;
        }
        write!(f, ": {}: {}", self.symbol, self.message)
    }
}

/// A request that produced no bars at all.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The environment variable named by `api_key_env` is unset or empty.
    #[error("no Twelve Data API key: set the environment variable {env} (named by `api_key_env`)")]
    MissingApiKey {
        /// The variable's name.
        env: String,
    },
    /// `base_url` is not an http(s) URL.
    #[error("Twelve Data `base_url` `{url}` is not an http(s) URL: {message}")]
    BadBaseUrl {
        /// The configured URL.
        url: String,
        /// Why it cannot be used.
        message: String,
    },
    /// The symbol is empty.
    #[error("an empty symbol cannot be fetched")]
    EmptySymbol,
    /// The HTTP client cannot be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The API answered with an error that retrying will not fix (bad symbol, bad key, …).
    #[error("{symbol}: Twelve Data refused {request}: {message} (code {code})")]
    Api {
        /// The symbol asked for.
        symbol: String,
        /// The request URL, without the API key.
        request: String,
        /// The error's code (HTTP status or the body's `code`).
        code: i64,
        /// The API's message.
        message: String,
    },
    /// The answer is not one of its endpoint (not JSON, no `values` or `splits` array, wrong
    /// interval, too big).
    #[error(
        "{symbol}: Twelve Data answered {request} with something that is not an answer of that endpoint: {message}"
    )]
    Garbage {
        /// The symbol asked for.
        symbol: String,
        /// The request URL, without the API key.
        request: String,
        /// What is wrong with it.
        message: String,
        /// The start of the body, cut to `RAW_MAX_BYTES`.
        raw: String,
    },
    /// Every attempt failed with a retryable error (429, 5xx, timeout, connection).
    #[error("{symbol}: gave up on {request} after {attempts} attempt(s); last error: {last}")]
    GaveUp {
        /// The symbol asked for.
        symbol: String,
        /// The request URL, without the API key.
        request: String,
        /// Attempts made.
        attempts: u32,
        /// What the last attempt failed with.
        last: String,
    },
    /// The request could not be made and retrying will not help.
    #[error("{symbol}: cannot request {request}: {message}")]
    Request {
        /// The symbol asked for.
        symbol: String,
        /// The request URL, without the API key.
        request: String,
        /// The error, its causes joined.
        message: String,
    },
}
