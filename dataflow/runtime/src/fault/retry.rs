use super::{Backoff, Dependency, DependencyError, Fault, Outages};
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a request is tried again while its dependency is down.
#[derive(Debug, Clone, Copy)]
pub enum Patience<'a> {
    /// Until it succeeds, or until `stop` is set (a shutdown while waiting).
    Forever {
        /// Set when the process is asked to stop.
        stop: Option<&'a AtomicBool>,
    },
    /// At most this many tries in all.
    Attempts(u32),
}

impl Patience<'_> {
    fn gives_up(&self, tries: u32) -> bool {
        match self {
            Patience::Forever { stop } => stop.is_some_and(|stop| stop.load(Ordering::Relaxed)),
            Patience::Attempts(limit) => tries >= *limit,
        }
    }
}

/// Runs `request` until it succeeds, fails for a reason other than an outage
/// ([`Fault::Transient`], as `classify` says), or `patience` runs out; waits out transient
/// failures with [`Backoff::for_services`], reporting them to `outages`. Returns the last error
/// when it gives up.
pub async fn wait_out<T, E, Fut>(
    outages: &Outages,
    dependency: Dependency,
    what: &str,
    patience: Patience<'_>,
    classify: impl Fn(&E) -> Fault,
    mut request: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    let mut tries = Tries::new(outages, dependency, what, patience);
    loop {
        match tries.after(request().await, &classify) {
            Step::Done(result) => return result,
            Step::Wait(pause_for) => pause(pause_for, patience).await,
        }
    }
}

/// [`wait_out`] for a request whose error says which dependency it comes from and what it
/// means ([`DependencyError`]).
pub async fn wait_out_for<T, E, Fut>(
    outages: &Outages,
    what: &str,
    patience: Patience<'_>,
    request: impl FnMut() -> Fut,
) -> Result<T, E>
where
    Fut: Future<Output = Result<T, E>>,
    E: DependencyError,
{
    wait_out(outages, E::DEPENDENCY, what, patience, E::fault, request).await
}

/// [`wait_out`] for a blocking request (librdkafka's synchronous calls), sleeping the thread.
pub fn wait_out_blocking<T, E: Display>(
    outages: &Outages,
    dependency: Dependency,
    what: &str,
    patience: Patience<'_>,
    classify: impl Fn(&E) -> Fault,
    mut request: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut tries = Tries::new(outages, dependency, what, patience);
    loop {
        match tries.after(request(), &classify) {
            Step::Done(result) => return result,
            Step::Wait(pause_for) => {
                let deadline = std::time::Instant::now() + pause_for;
                // In slices, so a stop request is heard within a tenth of a second.
                while std::time::Instant::now() < deadline && !patience.gives_up(0) {
                    std::thread::sleep(
                        SLICE.min(deadline.saturating_duration_since(std::time::Instant::now())),
                    );
                }
            }
        }
    }
}

/// What to do after one try.
enum Step<T, E> {
    /// Return this.
    Done(Result<T, E>),
    /// Pause this long, then try again.
    Wait(Duration),
}

/// The tries of one request: counts them, reports outages, draws the pauses.
struct Tries<'a> {
    outages: &'a Outages,
    dependency: Dependency,
    what: &'a str,
    patience: Patience<'a>,
    backoff: Backoff,
    count: u32,
}

impl<'a> Tries<'a> {
    fn new(outages: &'a Outages, dependency: Dependency, what: &'a str, patience: Patience<'a>) -> Self {
        Tries { outages, dependency, what, patience, backoff: Backoff::for_services(), count: 0 }
    }

    fn after<T, E: Display>(&mut self, result: Result<T, E>, classify: &impl Fn(&E) -> Fault) -> Step<T, E> {
        match result {
            Ok(value) => {
                self.outages.succeeded(self.dependency);
                Step::Done(Ok(value))
            }
            Err(error) => {
                self.count += 1;
                if classify(&error) != Fault::Transient || self.patience.gives_up(self.count) {
                    return Step::Done(Err(error));
                }
                self.outages.failed(self.dependency, self.what, &error);
                Step::Wait(self.backoff.next_pause())
            }
        }
    }
}

const SLICE: Duration = Duration::from_millis(100);

async fn pause(duration: Duration, patience: Patience<'_>) {
    let deadline = tokio::time::Instant::now() + duration;
    while tokio::time::Instant::now() < deadline && !patience.gives_up(0) {
        tokio::time::sleep(SLICE.min(deadline.saturating_duration_since(tokio::time::Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn classify(error: &&str) -> Fault {
        match *error {
            "down" => Fault::Transient,
            "bad row" => Fault::Refused,
            _ => Fault::Fatal,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_waited_out_and_reported_once() {
        let outages = Outages::default();
        let tries = Cell::new(0);
        let result =
            wait_out(&outages, Dependency::Kafka, "test", Patience::Forever { stop: None }, classify, || {
                tries.set(tries.get() + 1);
                let outcome = if tries.get() < 6 { Err("down") } else { Ok(tries.get()) };
                async move { outcome }
            })
            .await;
        assert_eq!(result, Ok(6));
        assert!(!outages.any(), "the success ends the outage");
    }

    #[tokio::test(start_paused = true)]
    async fn refused_and_fatal_errors_are_not_retried_and_attempts_are_bounded() {
        let outages = Outages::default();
        for error in ["bad row", "no such table"] {
            let tries = Cell::new(0);
            let result: Result<(), &str> =
                wait_out(&outages, Dependency::Cassandra, "test", Patience::Attempts(5), classify, || {
                    tries.set(tries.get() + 1);
                    async move { Err(error) }
                })
                .await;
            assert_eq!((result, tries.get()), (Err(error), 1));
        }
        let tries = Cell::new(0);
        let result: Result<(), &str> =
            wait_out(&outages, Dependency::Cassandra, "test", Patience::Attempts(5), classify, || {
                tries.set(tries.get() + 1);
                async move { Err("down") }
            })
            .await;
        assert_eq!((result, tries.get()), (Err("down"), 5));
        assert!(outages.is_down(Dependency::Cassandra), "it gave up during the outage");
    }

    #[test]
    fn a_stop_request_ends_the_wait() {
        let outages = Outages::default();
        let stop = AtomicBool::new(false);
        let tries = Cell::new(0);
        let result: Result<(), &str> = wait_out_blocking(
            &outages,
            Dependency::Kafka,
            "test",
            Patience::Forever { stop: Some(&stop) },
            classify,
            || {
                tries.set(tries.get() + 1);
                if tries.get() == 3 {
                    stop.store(true, Ordering::Relaxed);
                }
                Err("down")
            },
        );
        assert_eq!((result, tries.get()), (Err("down"), 3));
    }
}
