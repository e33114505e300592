use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What a run did, printed at its end.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Files read.
    pub files: u64,
    /// Files that could not be read at all.
    pub files_skipped: u64,
    /// Valid bars read.
    pub bars_read: u64,
    /// Bars identical to what is already stored: not sent again.
    pub bars_unchanged: u64,
    /// Bars acknowledged by every sink.
    pub bars_written: u64,
    /// Indicator values acknowledged by every sink.
    pub indicators_written: u64,
    /// Refused records sent to the dead-letter topic.
    pub dead_letters_written: u64,
    /// Corporate actions read.
    pub actions_read: u64,
    /// Corporate actions acknowledged by every sink.
    pub actions_written: u64,
    /// New data-quality findings.
    pub quality_findings: u64,
    /// Refused records by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Bytes encoded in a dry run.
    pub bytes_encoded: u64,
}

impl Summary {
    /// Counts one refused record.
    pub fn count_rejected(&mut self, reason: &str) {
        *self.rejected.entry(reason.to_owned()).or_default() += 1;
    }

    /// Adds another part's counts (a lane's) to these.
    pub fn add(&mut self, other: &Summary) {
        // Destructured so that a new field cannot be forgotten here.
        let Summary {
            files,
            files_skipped,
            bars_read,
            bars_unchanged,
            bars_written,
            indicators_written,
            dead_letters_written,
            actions_read,
            actions_written,
            quality_findings,
            rejected,
            bytes_encoded,
        } = other;
        self.files += files;
        self.files_skipped += files_skipped;
        self.bars_read += bars_read;
        self.bars_unchanged += bars_unchanged;
        self.bars_written += bars_written;
        self.indicators_written += indicators_written;
        self.dead_letters_written += dead_letters_written;
        self.actions_read += actions_read;
        self.actions_written += actions_written;
        self.quality_findings += quality_findings;
        for (reason, count) in rejected {
            *self.rejected.entry(reason.clone()).or_default() += count;
        }
        self.bytes_encoded += bytes_encoded;
    }

    /// Total refused records.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// The summary with its duration, ready to print.
    pub fn report(&self, elapsed: Duration) -> Report<'_> {
        Report { summary: self, elapsed }
    }
}

/// A summary and the time it took.
pub struct Report<'a> {
    summary: &'a Summary,
    elapsed: Duration,
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.summary;
        let rate = s.bars_read as f64 / self.elapsed.as_secs_f64().max(1e-9);
        writeln!(f, "  files read           {:>10}", s.files)?;
        if s.files_skipped > 0 {
            writeln!(f, "  files skipped        {:>10}", s.files_skipped)?;
        }
        writeln!(f, "  bars read            {:>10}  ({rate:.0} bars/s)", s.bars_read)?;
        writeln!(f, "  bars unchanged       {:>10}  (already stored, not sent again)", s.bars_unchanged)?;
        writeln!(f, "  bars written         {:>10}", s.bars_written)?;
        writeln!(f, "  indicator values     {:>10}", s.indicators_written)?;
        if s.bytes_encoded > 0 {
            // Only a dry run counts them: the bytes it would have sent to Kafka.
            writeln!(f, "  bytes encoded        {:>10}  (Kafka messages, not sent)", s.bytes_encoded)?;
        }
        if s.actions_read > 0 {
            writeln!(f, "  corporate actions    {:>10}  ({} written)", s.actions_read, s.actions_written)?;
        }
        if s.quality_findings > 0 {
            writeln!(
                f,
                "  data-quality findings {:>9}  (new; see the data-quality topic)",
                s.quality_findings
            )?;
        }
        writeln!(f, "  lines rejected       {:>10}", s.rejected_total())?;
        for (reason, count) in &s.rejected {
            writeln!(f, "    {reason:<18} {count:>10}")?;
        }
        Ok(())
    }
}
