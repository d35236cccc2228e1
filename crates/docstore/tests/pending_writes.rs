//! Non-blocking writes ([`Store::insert_one_pending`]): many writes in flight from ONE thread
//! share group commits, each resolves with its own result once durable, and errors resolve
//! the future instead of blocking or panicking.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use bson::{Bson, doc};
use stratus_docstore::{DocstoreError, Store, StoreOptions};

/// Wakes the thread that parked on it.
struct Unpark(std::thread::Thread);
impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Minimal executor: polls `f` on this thread, parking between wake-ups.
fn block_on<F: Future>(f: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn many_pending_inserts_from_one_thread_share_commits_and_all_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.redb");
    {
        let store = Store::open(&path, StoreOptions::default()).expect("open");
        let before = store.writer_stats();
        let pending: Vec<_> = (0..200i64)
            .map(|i| store.insert_one_pending("db", "c", doc! {"_id": i, "v": i * 2}))
            .collect();
        for (i, p) in pending.into_iter().enumerate() {
            assert_eq!(block_on(p).expect("insert"), Bson::Int64(i as i64));
        }
        let after = store.writer_stats();
        let ops = after.operations - before.operations;
        let commits = after.commits - before.commits;
        assert_eq!(ops, 200);
        assert!(
            commits < ops,
            "{commits} commits for {ops} writes: no grouping"
        );
        // A duplicate resolves with the error; nothing else changes.
        let dup = block_on(store.insert_one_pending("db", "c", doc! {"_id": 5}));
        assert!(
            matches!(dup, Err(DocstoreError::DuplicateKey { .. })),
            "{dup:?}"
        );
        // Argument errors resolve at once.
        let bad = block_on(store.insert_one_pending("db", "", doc! {"_id": 1}));
        assert!(bad.is_err());
    }
    // Acknowledged means durable: everything is there after reopening.
    let store = Store::open(&path, StoreOptions::default()).expect("reopen");
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {}, 0, 0)
            .expect("count"),
        200
    );
}
