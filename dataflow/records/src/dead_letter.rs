use crate::wire::Refusal;
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

/// How much of a refused message's bytes a dead letter keeps.
pub const RAW_BYTES_KEPT: usize = 4096;

impl DeadLetter {
    /// The dead letter of message `offset` of `topic`/`partition`, refused for `refusal`.
    pub fn refused_message(
        topic: &str,
        partition: i32,
        offset: i64,
        payload: &[u8],
        refusal: &Refusal,
        run_id: Uuid,
    ) -> Self {
        Self {
            topic: Some(topic.to_owned()),
            partition: Some(partition),
            offset: Some(offset),
            ..Self::letter(
                format!("kafka:{topic}"),
                refusal.reason.as_str(),
                refusal.message.clone(),
                payload,
                run_id,
            )
        }
    }

    /// The dead letter of an output (`what`: a table or topic) that its store refused.
    pub fn refused_output(
        what: &str,
        key: &str,
        raw: &[u8],
        error: &dyn std::fmt::Display,
        run_id: Uuid,
    ) -> Self {
        Self::letter(format!("{what}:{key}"), "output_refused", error.to_string(), raw, run_id)
    }

    /// A dead letter from `source`, keeping at most [`RAW_BYTES_KEPT`] of `raw`.
    fn letter(source: String, reason: &str, message: String, raw: &[u8], run_id: Uuid) -> Self {
        let kept = &raw[..raw.len().min(RAW_BYTES_KEPT)];
        Self {
            source,
            line: None,
            topic: None,
            partition: None,
            offset: None,
            reason: reason.to_owned(),
            message,
            raw: String::from_utf8_lossy(kept).into_owned(),
            task_number: run_id,
            detected_at: Utc::now(),
        }
    }

    /// The Kafka key of a dead letter: where its record was.
    pub fn key(&self) -> String {
        match (&self.topic, self.partition, self.offset) {
            (Some(topic), Some(partition), Some(offset)) => format!("{topic}/{partition}/{offset}"),
            _ => self.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::RefusalReason;

    #[test]
    fn a_refused_message_keeps_where_it_was_and_a_bounded_copy_of_its_bytes() {
        let refusal = Refusal { reason: RefusalReason::TooLarge, message: "too big".into() };
        let payload = vec![b'x'; 1 << 20];
        let letter = DeadLetter::refused_message("pricestream.bars", 3, 77, &payload, &refusal, Uuid::nil());
        assert_eq!(
            (letter.partition, letter.offset, letter.reason.as_str()),
            (Some(3), Some(77), "too_large")
        );
        assert_eq!(letter.raw.len(), RAW_BYTES_KEPT);
        assert_eq!(letter.key(), "pricestream.bars/3/77");
        let binary = DeadLetter::refused_message("t", 0, 1, &[0xff, 0xfe, b'a'], &refusal, Uuid::nil());
        assert_eq!(binary.raw, "\u{fffd}\u{fffd}a");
    }
}
