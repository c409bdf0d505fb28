//! Waiting for a condition instead of sleeping: a test that needs another
//! process, task or the database to reach a state polls for exactly that
//! state, with a deadline, and says what it waited for when it gives up.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a condition is checked.
const POLL: Duration = Duration::from_millis(20);

/// Waits until `check` gives `Some`, and returns what it gave. Panics after
/// `within`, naming `what` was awaited and the last thing seen.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("gave up after {within:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// As [`until`], for a condition that is a plain yes or no.
pub async fn until_true<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until(what, within, || {
        let checked = check();
        async move { checked.await.then_some(()) }
    })
    .await
}

/// The blocking form, for tests that drive child processes from a plain
/// thread.
pub fn blocking_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        if Instant::now() >= deadline {
            panic!("gave up after {within:?} waiting for {what}");
        }
        std::thread::sleep(POLL.max(Duration::from_millis(50)));
    }
}
