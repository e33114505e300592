//! Which model a series belongs to: its own (per-ticker scope) or the one global model.

use serde::{Deserialize, Serialize};

/// How many models: one per ticker (the seed's choice) or one over every ticker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One model per ticker, trained on that ticker's rows only.
    #[default]
    PerTicker,
    /// One model trained on the rows of every ticker.
    Global,
}

/// The scope name under which the global model is stored.
pub const GLOBAL_SCOPE: &str = "global";

impl Scope {
    /// The name of the model that scores `ticker`: the ticker itself, or [`GLOBAL_SCOPE`].
    pub fn model_of<'a>(self, ticker: &'a str) -> &'a str {
        match self {
            Scope::PerTicker => ticker,
            Scope::Global => GLOBAL_SCOPE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ticker_models_are_named_after_the_ticker() {
        assert_eq!(Scope::PerTicker.model_of("NVDA"), "NVDA");
        assert_eq!(Scope::Global.model_of("NVDA"), GLOBAL_SCOPE);
    }
}
