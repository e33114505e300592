use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A record the extractor could not accept, kept whole so it can be found,
/// fixed and replayed: where it came from, why it was refused, and its text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The file path, or the API request without credentials.
    pub source: String,
    /// 1-based line in the file; absent for API records.
    pub line: Option<u64>,
    /// Machine-readable reason (`bad_price`, `duplicate_date`, …).
    pub reason: String,
    /// What is wrong, for people.
    pub message: String,
    /// The raw record, lossily decoded as UTF-8 and truncated.
    pub raw: String,
    /// Extraction run that refused it.
    pub task_number: Uuid,
    /// When it was refused.
    pub detected_at: DateTime<Utc>,
}
