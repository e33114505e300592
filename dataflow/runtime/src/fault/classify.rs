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
