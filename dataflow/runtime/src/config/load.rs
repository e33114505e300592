use super::{EnvSource, Problems};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A config that can take environment overrides and check itself.
pub trait Validate {
    /// Applies the documented environment variables over the file's values.
    fn apply_env(&mut self, env: &dyn EnvSource);
    /// Records every problem in the config.
    fn validate(&self, problems: &mut Problems);
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for this config (unknown key, wrong type, …).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The values are well-formed but not acceptable.
    #[error("invalid configuration ({} problem(s)):\n{problems}", problems.messages().len())]
    Invalid {
        /// Everything that is wrong.
        problems: Problems,
    },
}

/// Loads a config: defaults, then the TOML file if given, then environment
/// overrides; then validates the result and reports every problem at once.
pub fn load<C>(path: Option<&Path>, env: &dyn EnvSource) -> Result<C, ConfigError>
where
    C: DeserializeOwned + Default + Validate,
{
    let mut config = match path {
        None => C::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
            toml::from_str(&text)
                .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string() })?
        }
    };
    config.apply_env(env);
    let mut problems = Problems::default();
    config.validate(&mut problems);
    if problems.is_empty() { Ok(config) } else { Err(ConfigError::Invalid { problems }) }
}
