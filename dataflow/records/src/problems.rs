use std::fmt;
use std::ops::RangeInclusive;

/// Every problem found while validating a config, so all are reported at once.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Problems(Vec<String>);

impl Problems {
    /// The problems `check` records.
    pub fn collect(check: impl FnOnce(&mut Problems)) -> Problems {
        let mut problems = Problems::default();
        check(&mut problems);
        problems
    }

    /// Records a problem with the value at `key` (dotted path, e.g. `kafka.brokers`).
    pub fn add(&mut self, key: &str, message: impl fmt::Display) {
        self.0.push(format!("`{key}` {message}"));
    }

    /// Records a problem when `ok` is false.
    pub fn check(&mut self, ok: bool, key: &str, message: impl fmt::Display) {
        if !ok {
            self.add(key, message);
        }
    }

    /// Records `must be >= least` unless `value` is at least `least`.
    pub fn at_least<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, least: T) {
        self.check(value >= least, key, format_args!("must be >= {least}, got {value}"));
    }

    /// Records `must be <= most` unless `value` is at most `most`.
    pub fn at_most<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, most: T) {
        self.check(value <= most, key, format_args!("must be <= {most}, got {value}"));
    }

    /// Records `must be between a and b` unless `value` lies in `range` (both ends included).
    pub fn between<T: PartialOrd + fmt::Display>(&mut self, key: &str, value: T, range: RangeInclusive<T>) {
        let (low, high) = (range.start(), range.end());
        self.check(
            range.contains(&value),
            key,
            format_args!("must be between {low} and {high}, got {value}"),
        );
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded messages, in the order found.
    pub fn messages(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for message in &self.0 {
            writeln!(f, "  - {message}")?;
        }
        Ok(())
    }
}
