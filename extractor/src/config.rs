use pricestream_indicators::IndicatorParams;
use pricestream_ingest::quality::QualitySettings;
use pricestream_records::{Adjustment, AdjustmentMode, PriceBasis};
use pricestream_runtime::config::{
    CassandraConfig, EnvSource, HttpSettings, KafkaConfig, Problems, Validate,
};
use pricestream_sources::{FileFormat, TwelveDataConfig};
use serde::{Deserialize, Serialize};

/// The extractor's config file (TOML). Every section is optional.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractorConfig {
    /// Where bars are published.
    pub kafka: KafkaConfig,
    /// Where bars are stored.
    pub cassandra: CassandraConfig,
    /// How files are read and sent.
    pub extract: ExtractSettings,
    /// Indicator periods (TA-Lib's parameter names and defaults).
    pub indicators: IndicatorParams,
    /// Which corporate actions adjust the prices, and what the sources' prices already are.
    pub adjustment: AdjustmentSettings,
    /// The data-quality checks (docs/data-quality.md).
    pub quality: QualitySettings,
    /// The market-data REST API (`--symbols`).
    pub twelve_data: TwelveDataConfig,
    /// How `follow` watches its sources.
    pub follow: FollowSettings,
    /// The `/metrics`, `/healthz` and `/readyz` endpoint of `follow`.
    pub http: HttpSettings,
}

impl Default for ExtractorConfig {
    fn default() -> Self {
        ExtractorConfig {
            kafka: KafkaConfig::default(),
            cassandra: CassandraConfig::default(),
            extract: ExtractSettings::default(),
            indicators: IndicatorParams::default(),
            adjustment: AdjustmentSettings::default(),
            quality: QualitySettings::default(),
            twelve_data: TwelveDataConfig::default(),
            follow: FollowSettings::default(),
            http: HttpSettings::on("127.0.0.1:9899"),
        }
    }
}

/// Watching sources in `follow` mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowSettings {
    /// How often the input is checked for new or grown files.
    pub file_poll_interval_ms: u64,
    /// A file modified less than this long ago is left for the next check, so a
    /// half-written last line is not refused.
    pub file_settle_ms: u64,
    /// Time of day (UTC, `HH:MM`) at which the API symbols are fetched: after the close.
    pub api_poll_time_utc: String,
    /// Also fetch on Saturdays and Sundays.
    pub api_poll_weekends: bool,
}

impl Default for FollowSettings {
    fn default() -> Self {
        FollowSettings {
            file_poll_interval_ms: 5_000,
            file_settle_ms: 1_000,
            api_poll_time_utc: "22:30".into(),
            api_poll_weekends: false,
        }
    }
}

/// Reading and batching.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractSettings {
    /// Bars (with their indicator values) sent together before more are read;
    /// each such batch is acknowledged by every sink before the next.
    pub batch_max_rows: usize,
    /// Rows of one Cassandra partition per unlogged batch statement.
    pub cassandra_batch_rows: usize,
    /// Tries of a batch that a sink refused, with exponential backoff, before the run fails.
    pub sink_max_attempts: u32,
    /// Layout of the input files: `kind = "yahoo"` (default) or `kind = "csv"` with a column mapping.
    pub format: FileFormat,
}

/// Prices adjusted for corporate actions (`docs/adjustment.md`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdjustmentSettings {
    /// Corporate actions applied downstream: `none`, `splits` (default), `splits_and_dividends`.
    pub mode: AdjustmentMode,
    /// What the delivered prices already are ([`ExtractorConfig::adjustment`] has the default).
    pub prices: Option<PriceBasis>,
}

impl Default for ExtractSettings {
    fn default() -> Self {
        ExtractSettings {
            batch_max_rows: 5_000,
            cassandra_batch_rows: 50,
            sink_max_attempts: 5,
            format: FileFormat::default(),
        }
    }
}

impl ExtractorConfig {
    /// Where the pipeline writes, and how.
    pub fn sinks(&self, adjustment: Adjustment) -> pricestream_ingest::SinkConfig<'_> {
        pricestream_ingest::SinkConfig {
            kafka: &self.kafka,
            cassandra: &self.cassandra,
            cassandra_batch_rows: self.extract.cassandra_batch_rows,
            indicators: &self.indicators,
            adjustment,
        }
    }

    /// The run's price adjustment: the mode, and what the prices of its source (the files, or
    /// the API when `from_api`) already are: `adjustment.prices`, or the source's usual basis.
    pub fn adjustment(&self, from_api: bool) -> Adjustment {
        let usual = match self.extract.format {
            _ if from_api => PriceBasis::Raw,
            FileFormat::Yahoo => PriceBasis::SplitAdjusted,
            FileFormat::Csv(_) => PriceBasis::Raw,
        };
        Adjustment { mode: self.adjustment.mode, basis: self.adjustment.prices.unwrap_or(usual) }
    }
}

impl Validate for ExtractorConfig {
    fn apply_env(&mut self, env: &dyn EnvSource) {
        self.kafka.apply_env(env);
        self.cassandra.apply_env(env);
        self.http.apply_env(env);
    }

    fn validate(&self, problems: &mut Problems) {
        self.kafka.validate("kafka", problems);
        self.cassandra.validate("cassandra", problems);
        problems.at_least("extract.batch_max_rows", self.extract.batch_max_rows, 1);
        problems.between("extract.cassandra_batch_rows", self.extract.cassandra_batch_rows, 1..=1_000);
        problems.at_least("extract.sink_max_attempts", self.extract.sink_max_attempts, 1);
        self.extract.format.validate("extract.format", problems);
        self.indicators.validate("indicators", problems);
        self.quality.validate("quality", problems);
        self.twelve_data.validate("twelve_data", problems);
        problems.at_least("follow.file_poll_interval_ms", self.follow.file_poll_interval_ms, 100);
        problems.check(
            chrono::NaiveTime::parse_from_str(&self.follow.api_poll_time_utc, "%H:%M").is_ok(),
            "follow.api_poll_time_utc",
            format_args!("must be HH:MM, got `{}`", self.follow.api_poll_time_utc),
        );
        self.http.validate("http", problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_runtime::config::{ConfigError, load};
    use std::collections::HashMap;
    use std::io::Write;

    fn load_text(text: &str) -> Result<ExtractorConfig, ConfigError> {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(text.as_bytes()).expect("write");
        load(Some(file.path()), &HashMap::new())
    }

    #[test]
    fn lists_every_problem_at_once() {
        let error = load_text(
            "[kafka]\nbrokers = \"\"\n[cassandra]\nmart_keyspace = \"bad-name\"\n[extract]\nbatch_max_rows = 0\n",
        )
        .expect_err("invalid");
        let text = error.to_string();
        assert!(text.contains("3 problem(s)"), "{text}");
        assert!(text.contains("`kafka.brokers`"), "{text}");
        assert!(text.contains("`cassandra.mart_keyspace`"), "{text}");
        assert!(text.contains("`extract.batch_max_rows` must be >= 1, got 0"), "{text}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let error = load_text("[kafka]\nbroker = \"x:1\"\n").expect_err("typo");
        assert!(error.to_string().contains("unknown field `broker`"), "{error}");
    }
}
