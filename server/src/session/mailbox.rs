//! Results of a session's background work (authorization, replays) on their way back into
//! its loop: a `Vec` under a mutex and the session's waker. Unbounded like the channel it
//! replaces, but bounded in practice by the work the session itself started; empty, it
//! holds no allocation.

use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;

/// Both ends of a session's mailbox: clone it to send from a task, [`Mailbox::take`] in the loop.
#[derive(Debug)]
pub(crate) struct Mailbox<T> {
    inner: Arc<Inner<T>>,
}

#[derive(Debug)]
struct Inner<T> {
    items: Mutex<Vec<T>>,
    waker: AtomicWaker,
}

/// The session has ended: nobody will take the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Mailbox { inner: self.inner.clone() }
    }
}

impl<T> Mailbox<T> {
    /// An empty mailbox.
    pub(crate) fn new() -> Self {
        Mailbox { inner: Arc::new(Inner { items: Mutex::new(Vec::new()), waker: AtomicWaker::new() }) }
    }

    /// Delivers `item` and wakes the session.
    ///
    /// # Errors
    /// [`Closed`] when the session's loop has ended.
    pub(crate) fn send(&self, item: T) -> Result<(), Closed> {
        if Arc::strong_count(&self.inner) == 1 {
            return Err(Closed);
        }
        self.inner.items.lock().unwrap_or_else(|p| p.into_inner()).push(item);
        self.inner.waker.wake();
        Ok(())
    }

    /// Makes `waker` the one a delivery wakes (before [`Mailbox::take`]).
    pub(crate) fn register(&self, waker: &Waker) {
        self.inner.waker.register(waker);
    }

    /// Everything delivered so far, oldest first.
    pub(crate) fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.inner.items.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
