/// Where environment overrides come from; tests pass a map instead of the process env.
pub trait EnvSource {
    /// The value of `name`, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

impl dyn EnvSource + '_ {
    /// Replaces `target` with `name`'s value when it is set (an `Option` becomes `Some`).
    pub fn set<T: From<String>>(&self, name: &str, target: &mut T) {
        if let Some(value) = self.var(name) {
            *target = T::from(value);
        }
    }
}

/// The process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl EnvSource for std::collections::HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| (*v).to_owned())
    }
}
