//! Settings of the Twelve Data client.

use pricestream_records::Problems;
use serde::{Deserialize, Serialize};

/// How to reach the Twelve Data API. The key itself is never in the
/// config: it is read from the environment variable named by `api_key_env`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwelveDataConfig {
    /// API root; `/time_series`, `/splits` and `/dividends` are appended.
    pub base_url: String,
    /// Name of the environment variable holding the API key (sent as `apikey`).
    pub api_key_env: String,
    /// Requests started per minute at most, retries included (the free plan allows 8).
    pub requests_per_minute: u32,
    /// Retries after the first attempt on 429, 5xx, timeouts and connection errors.
    pub max_retries: u32,
    /// Limit for one request, connect to last byte.
    pub request_timeout_ms: u64,
    /// Bars asked for per request (1 to 5000); the newest ones from `start_date` on.
    pub outputsize: u32,
    /// Wait before the first retry; doubles each retry, with jitter.
    pub backoff_initial_ms: u64,
    /// Longest wait between two attempts, `Retry-After` included.
    pub backoff_max_ms: u64,
    /// Also fetch each symbol's splits and dividends (`/splits`, `/dividends`: two more
    /// requests per symbol), before its bars.
    pub corporate_actions: bool,
}

impl Default for TwelveDataConfig {
    fn default() -> Self {
        TwelveDataConfig {
            base_url: "https://api.twelvedata.com".into(),
            api_key_env: "TWELVE_DATA_API_KEY".into(),
            requests_per_minute: 8,
            max_retries: 5,
            request_timeout_ms: 30_000,
            outputsize: 5_000,
            backoff_initial_ms: 1_000,
            backoff_max_ms: 60_000,
            corporate_actions: true,
        }
    }
}

impl TwelveDataConfig {
    /// Records every problem under `prefix` (e.g. `twelve_data`).
    pub fn validate(&self, prefix: &str, problems: &mut Problems) {
        let key = |k: &str| format!("{prefix}.{k}");
        match reqwest::Url::parse(&self.base_url) {
            Ok(url) => problems.check(
                matches!(url.scheme(), "http" | "https") && url.has_host() && url.query().is_none(),
                &key("base_url"),
                format_args!("must be an http(s) URL without a query, got `{}`", self.base_url),
            ),
            Err(e) => {
                problems.add(&key("base_url"), format_args!("is not a URL ({e}), got `{}`", self.base_url))
            }
        }
        problems.check(
            !self.api_key_env.is_empty()
                && self.api_key_env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !self.api_key_env.starts_with(|c: char| c.is_ascii_digit()),
            &key("api_key_env"),
            format_args!("must be an environment variable name, got `{}`", self.api_key_env),
        );
        problems.between(&key("requests_per_minute"), self.requests_per_minute, 1..=6_000);
        problems.at_most(&key("max_retries"), self.max_retries, 20);
        problems.between(&key("request_timeout_ms"), self.request_timeout_ms, 1..=600_000);
        problems.between(&key("outputsize"), self.outputsize, 1..=5_000);
        problems.at_least(&key("backoff_initial_ms"), self.backoff_initial_ms, 1);
        problems.check(
            self.backoff_max_ms >= self.backoff_initial_ms,
            &key("backoff_max_ms"),
            format_args!(
                "must be >= backoff_initial_ms ({}), got {}",
                self.backoff_initial_ms, self.backoff_max_ms
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_read_from_an_empty_table() {
        let problems =
            Problems::collect(|problems| TwelveDataConfig::default().validate("twelve_data", problems));
        assert!(problems.is_empty(), "{problems}");
        let config: TwelveDataConfig = toml::from_str("").expect("empty table");
        assert_eq!(config, TwelveDataConfig::default());
    }

    #[test]
    fn reports_every_problem() {
        let config = TwelveDataConfig {
            base_url: "ftp://x".into(),
            api_key_env: "9 KEY".into(),
            requests_per_minute: 0,
            max_retries: 99,
            request_timeout_ms: 0,
            outputsize: 6_000,
            backoff_initial_ms: 0,
            backoff_max_ms: 0,
            corporate_actions: true,
        };
        let problems = Problems::collect(|problems| config.validate("twelve_data", problems));
        let text = problems.to_string();
        assert_eq!(problems.messages().len(), 7, "{text}");
        assert!(text.contains("`twelve_data.base_url` must be an http(s) URL"), "{text}");
        assert!(text.contains("`twelve_data.outputsize` must be between 1 and 5000, got 6000"), "{text}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = toml::from_str::<TwelveDataConfig>("api_key = \"secret\"\n").expect_err("typo");
        assert!(error.to_string().contains("unknown field `api_key`"), "{error}");
    }
}
