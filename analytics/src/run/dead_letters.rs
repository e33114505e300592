//! What the service refuses goes to the dead-letter topic, whole enough to be found, fixed and
//! replayed: an input message that fails the checks (with its topic, partition, offset and raw
//! bytes), and a row or forecast that Cassandra or Kafka refused for what it is.

use chrono::Utc;
use pricestream_records::DeadLetter;
use pricestream_records::wire::Refusal;
use uuid::Uuid;

/// How much of a refused message's bytes a dead letter keeps.
pub const RAW_BYTES_KEPT: usize = 4096;

/// The dead letter of message `offset` of `topic`/`partition`, refused for `refusal`.
pub fn refused_message(
    topic: &str,
    partition: i32,
    offset: i64,
    payload: &[u8],
    refusal: &Refusal,
    run_id: Uuid,
) -> DeadLetter {
    DeadLetter {
        topic: Some(topic.to_owned()),
        partition: Some(partition),
        offset: Some(offset),
        ..letter(format!("kafka:{topic}"), refusal.reason.as_str(), refusal.message.clone(), payload, run_id)
    }
}

/// The dead letter of an output (`what`: a table or topic) that its store refused.
pub fn refused_output(
    what: &str,
    key: &str,
    raw: &[u8],
    error: &dyn std::fmt::Display,
    run_id: Uuid,
) -> DeadLetter {
    letter(format!("{what}:{key}"), "output_refused", error.to_string(), raw, run_id)
}

/// A dead letter from `source`, keeping at most [`RAW_BYTES_KEPT`] of `raw`.
fn letter(source: String, reason: &str, message: String, raw: &[u8], run_id: Uuid) -> DeadLetter {
    let kept = &raw[..raw.len().min(RAW_BYTES_KEPT)];
    DeadLetter {
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
pub fn key_of(letter: &DeadLetter) -> String {
    match (&letter.topic, letter.partition, letter.offset) {
        (Some(topic), Some(partition), Some(offset)) => format!("{topic}/{partition}/{offset}"),
        _ => letter.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::wire::RefusalReason;

    #[test]
    fn a_refused_message_keeps_where_it_was_and_a_bounded_copy_of_its_bytes() {
        let refusal = Refusal { reason: RefusalReason::TooLarge, message: "too big".into() };
        let payload = vec![b'x'; 1 << 20];
        let letter = refused_message("pricestream.bars", 3, 77, &payload, &refusal, Uuid::nil());
        assert_eq!(
            (letter.partition, letter.offset, letter.reason.as_str()),
            (Some(3), Some(77), "too_large")
        );
        assert_eq!(letter.raw.len(), RAW_BYTES_KEPT);
        assert_eq!(key_of(&letter), "pricestream.bars/3/77");
        let binary = refused_message("t", 0, 1, &[0xff, 0xfe, b'a'], &refusal, Uuid::nil());
        assert_eq!(binary.raw, "\u{fffd}\u{fffd}a");
    }
}
