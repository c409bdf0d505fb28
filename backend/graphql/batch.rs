//! Request-scoped batching for the loaders.
//!
//! async-graphql's DataLoader collects keys for a fixed delay (1 ms by
//! default) and then loads them on a spawned task. Under load, or in a debug
//! build, resolving a page of siblings can take longer than the delay, and a
//! batch splits in two: the statement count then depends on timing and on
//! the number of rows. Instead, loads are queued here and started by the
//! request's own future only once the resolvers have nothing left to do but
//! wait — after every sibling has asked for its keys. One round of
//! resolution, one statement per relation, however many rows.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;

#[derive(Clone, Default)]
pub struct BatchQueue(Arc<Mutex<Vec<BoxFuture<'static, ()>>>>);

impl BatchQueue {
    /// The "spawner" given to the DataLoader: it only queues the load.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let queue = self.0.clone();
        move |load| queue.lock().expect("batch queue").push(load)
    }

    /// Runs `request` to completion, starting queued loads whenever it
    /// stalls, and polling them alongside it.
    ///
    /// "Stalls" means it returned `Pending` without waking itself: lists of
    /// many items yield part-way through a round (cooperative scheduling) and
    /// wake themselves to go on; starting the loads then would split the batch.
    pub async fn drive<F: Future>(&self, request: F) -> F::Output {
        let mut request = pin!(request);
        let mut loads: FuturesUnordered<BoxFuture<'static, ()>> = FuturesUnordered::new();
        std::future::poll_fn(|cx| {
            loop {
                let signal = Arc::new(SelfWake {
                    woken: AtomicBool::new(false),
                    outer: cx.waker().clone(),
                });
                let waker = Waker::from(signal.clone());
                let mut request_cx = Context::from_waker(&waker);
                if let Poll::Ready(output) = request.as_mut().poll(&mut request_cx) {
                    return Poll::Ready(output);
                }
                if signal.woken.load(Ordering::SeqCst) {
                    continue;
                }
                let queued = std::mem::take(&mut *self.0.lock().expect("batch queue"));
                let started = !queued.is_empty();
                loads.extend(queued);
                let mut finished = false;
                while let Poll::Ready(Some(())) = loads.poll_next_unpin(cx) {
                    finished = true;
                }
                // Nothing new to start and nothing finished: wait for a wake.
                if !started && !finished {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}

/// Remembers whether the request woke itself, and passes every wake on.
struct SelfWake {
    woken: AtomicBool,
    outer: Waker,
}

impl Wake for SelfWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn loads_queued_in_one_round_start_together_after_it() {
        let queue = BatchQueue::default();
        let spawn = queue.spawner();
        let started = Arc::new(AtomicUsize::new(0));
        let seen_at_start = Arc::new(Mutex::new(Vec::new()));
        let request = {
            let started = started.clone();
            let seen = seen_at_start.clone();
            async move {
                let mut receivers = Vec::new();
                for _ in 0..3 {
                    let (tx, rx) = futures::channel::oneshot::channel::<()>();
                    let started = started.clone();
                    let seen = seen.clone();
                    spawn(Box::pin(async move {
                        seen.lock()
                            .unwrap()
                            .push(started.fetch_add(1, Ordering::SeqCst));
                        let _ = tx.send(());
                    }));
                    receivers.push(rx);
                }
                // None has run while the round was still queuing.
                assert_eq!(started.load(Ordering::SeqCst), 0);
                futures::future::join_all(receivers).await;
                started.load(Ordering::SeqCst)
            }
        };
        assert_eq!(queue.drive(request).await, 3);
        assert_eq!(*seen_at_start.lock().unwrap(), [0, 1, 2]);
    }
}
