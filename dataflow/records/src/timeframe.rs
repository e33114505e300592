use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The bar interval. The seed system only ever used daily bars, written as `1day`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timeframe {
    /// One bar per trading day.
    #[default]
    #[serde(rename = "1day")]
    Day,
}

impl Timeframe {
    /// The name stored in Cassandra and sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeframe::Day => "1day",
        }
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timeframe name that pricestream does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown timeframe `{0}`; supported: 1day")]
pub struct UnknownTimeframe(pub String);

impl FromStr for Timeframe {
    type Err = UnknownTimeframe;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "1day" => Ok(Timeframe::Day),
            other => Err(UnknownTimeframe(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_name() {
        assert_eq!("1day".parse::<Timeframe>().ok(), Some(Timeframe::Day));
        assert_eq!(Timeframe::Day.to_string(), "1day");
        assert!("1min".parse::<Timeframe>().is_err());
    }
}
