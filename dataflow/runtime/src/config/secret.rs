//! A password or key passphrase from a config file or the environment: usable where a
//! driver needs it, never shown by `Debug` or written back out.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A secret string. `Debug` and `Serialize` give `***`, so a logged or dumped config never
/// holds it; [`Secret::expose`] hands it to the one place that needs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the driver setting that takes it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Records a problem at `key` (the user name's) unless the user name and the password are
/// given together, or neither is.
pub(super) fn check_credentials(
    username: &Option<String>,
    password: &Option<Secret>,
    key: &str,
    problems: &mut super::Problems,
) {
    problems.check(username.is_some() == password.is_some(), key, "and `password` must be given together");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct Holder {
        password: Secret,
    }

    #[test]
    fn debug_and_serialize_never_show_it() {
        let holder: Holder = toml::from_str("password = \"hunter2\"").expect("test setup");
        assert_eq!(holder.password.expose(), "hunter2");
        assert!(!format!("{holder:?}").contains("hunter2"), "{holder:?}");
        let written = toml::to_string(&holder).expect("test setup");
        assert_eq!(written.trim(), "password = \"***\"");
    }
}
