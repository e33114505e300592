use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A record a service could not accept, kept so it can be found, fixed and replayed: where it
/// came from, why it was refused, and its text. The extractor refuses lines of files and API
/// records; the analytics service refuses messages of its input topics and rows the mart
/// refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The file path, the API request without credentials, or `kafka:<topic>` / the table.
    pub source: String,
    /// 1-based line in the file; absent for API records.
    pub line: Option<u64>,
    /// The Kafka topic of a refused message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Its partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<i32>,
    /// Its offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// Machine-readable reason (`bad_price`, `duplicate_date`, …).
    pub reason: String,
    /// What is wrong, for people.
    pub message: String,
    /// The raw record, lossily decoded as UTF-8 and truncated.
    pub raw: String,
    /// The run that refused it (the extraction run, or the analytics process).
    pub task_number: Uuid,
    /// When it was refused.
    pub detected_at: DateTime<Utc>,
}
