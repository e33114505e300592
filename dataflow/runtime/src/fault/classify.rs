/// What a failed request means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service is restarting, overloaded or unreachable: wait it out and try again.
    Transient,
    /// The server refused this record or row for what it is: retrying gives the same answer;
    /// dead-letter it and go on.
    Refused,
    /// Retrying cannot fix it (credentials, permissions, a missing table or topic, settings):
    /// stop and say what to fix.
    Fatal,
}

/// An error of one dependency's client: which dependency it comes from and what it means, so
/// a retry loop needs nothing else to wait it out.
pub trait DependencyError: std::error::Error + Send + Sync + 'static {
    /// The dependency whose client returns this error.
    const DEPENDENCY: super::Dependency;

    /// What this failure means for the caller.
    fn fault(&self) -> Fault;
}
