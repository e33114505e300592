use std::fmt;

/// Every problem found while validating a config, so all are reported at once.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Problems(Vec<String>);

impl Problems {
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
