//! Which model a command is about: one ticker's, or the global one.

use super::error::ModelCommandError;
use crate::cli::ModelInput;
use crate::config::ScopeSetting;
use pricestream_cassandra::ModelScope;

/// The scope named by `--ticker` / `--global`, else by the config's `model.scope`. Tickers are
/// upper-cased, as the extractor stores them.
pub fn resolve(input: &ModelInput, configured: ScopeSetting) -> Result<ModelScope, ModelCommandError> {
    match (&input.ticker, input.global, configured) {
        (Some(ticker), _, _) => Ok(ModelScope::Ticker(ticker.trim().to_ascii_uppercase())),
        (None, true, _) | (None, false, ScopeSetting::Global) => Ok(ModelScope::Global),
        (None, false, ScopeSetting::PerTicker) => Err(ModelCommandError::NoScope),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(ticker: Option<&str>, global: bool) -> ModelInput {
        ModelInput { ticker: ticker.map(str::to_owned), global, input: None }
    }

    #[test]
    fn the_command_line_wins_over_the_config() {
        let nvda = ModelScope::Ticker("NVDA".into());
        assert_eq!(resolve(&input(Some("nvda"), false), ScopeSetting::Global).ok(), Some(nvda));
        assert_eq!(resolve(&input(None, true), ScopeSetting::PerTicker).ok(), Some(ModelScope::Global));
        assert_eq!(resolve(&input(None, false), ScopeSetting::Global).ok(), Some(ModelScope::Global));
        assert!(matches!(
            resolve(&input(None, false), ScopeSetting::PerTicker),
            Err(ModelCommandError::NoScope)
        ));
    }
}
