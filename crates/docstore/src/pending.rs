//! [`Pending`]: the result of a write handed to the writer without blocking the caller.
//!
//! A blocking write ([`crate::writer::Writer::submit`]) parks its thread until the group
//! commit is durable, so concurrent writes need as many threads. A pending write is a future
//! instead: the writer completes it after the commit (or with the operation's error), and the
//! async caller's task is woken; no thread waits meanwhile. The store stays free of any async
//! runtime: the future only uses `std::task`.
//!
//! Invariant: the result is delivered exactly once; a `Pending` dropped before completion
//! simply discards it (the write itself still happens, like a blocking write whose caller
//! went away).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::error::{DocstoreError, Result};

struct Slot<R> {
    result: Option<Result<R>>,
    waker: Option<Waker>,
}

/// A write in flight; resolves with its result once durable.
pub struct Pending<R> {
    slot: Arc<Mutex<Slot<R>>>,
}

impl<R> std::fmt::Debug for Pending<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// The writer's side of a [`Pending`].
pub(crate) struct Completer<R> {
    slot: Arc<Mutex<Slot<R>>>,
}

impl<R> Pending<R> {
    /// A pending result and the handle that completes it.
    pub(crate) fn new() -> (Pending<R>, Completer<R>) {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        (Pending { slot: slot.clone() }, Completer { slot })
    }

    /// An already known result (e.g. an argument error found before queuing).
    pub fn ready(result: Result<R>) -> Pending<R> {
        let (p, c) = Pending::new();
        c.complete(result);
        p
    }
}

impl<R> Completer<R> {
    /// Delivers the result and wakes the waiting task, if any.
    pub(crate) fn complete(self, result: Result<R>) {
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            slot.result = Some(result);
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<R> Future for Pending<R> {
    type Output = Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<R> Drop for Completer<R> {
    fn drop(&mut self) {
        // A completer dropped without a result (the writer stopped): fail the waiter rather
        // than leave it pending forever.
        let waker = {
            let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
            if slot.result.is_none() {
                slot.result = Some(Err(DocstoreError::WriterStopped));
            }
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll<R>(p: &mut Pending<R>, w: &Waker) -> Poll<Result<R>> {
        Pin::new(p).poll(&mut Context::from_waker(w))
    }

    #[test]
    fn completes_once_and_wakes_the_waiter() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let (mut p, c) = Pending::<u32>::new();
        assert!(poll(&mut p, &waker).is_pending());
        c.complete(Ok(7));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(poll(&mut p, &waker), Poll::Ready(Ok(7))));
        assert!(matches!(
            poll(&mut Pending::ready(Ok(1u8)), &waker),
            Poll::Ready(Ok(1))
        ));
    }

    #[test]
    fn a_dropped_completer_fails_the_waiter() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let (mut p, c) = Pending::<u32>::new();
        assert!(poll(&mut p, &waker).is_pending());
        drop(c);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(matches!(
            poll(&mut p, &waker),
            Poll::Ready(Err(DocstoreError::WriterStopped))
        ));
    }
}
