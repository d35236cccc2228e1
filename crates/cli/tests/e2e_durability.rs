//! End-to-end durability and shutdown tests of the real binary.
//!
//! - `kill -9` during inserts: client threads insert documents with unique names and record
//!   every acknowledged (201) id; the server is SIGKILLed mid-stream and restarted on the same
//!   data dir; every acknowledged document must be readable (GET by id with the same content)
//!   and the list total must be at least the acknowledged count.
//! - SIGTERM with slow requests in flight (a `pbkdf2HmacHash` flow calibrated to take a few
//!   hundred milliseconds, plus inserts): every request that was in flight when the signal was
//!   sent completes with 2xx, the process exits 0, and the acknowledged inserts survive a
//!   restart.

mod e2e_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use e2e_support::{Server, request, shop_project, write_project};
use serde_json::{Value, json};

const API: &str = "/shop/development/api";

fn project() -> Value {
    let mut p = shop_project();
    p["apis"].as_array_mut().expect("apis").push(json!({
        "name": "slow", "method": "GET", "endpoint": "/slow",
        "queryParams": {"n": {"type": "int", "required": true}},
        "flow": [
            {"type": "pbkdf2HmacHash", "name": "hash", "password": "pw", "salt": "salt",
             "iterations": "$.request.queryParams.n"},
            {"type": "httpResponse", "status": 200, "body": {"hash": "$.hash.result"}}
        ]
    }));
    p
}

/// Inserts from `threads` threads until `stop`; returns the acknowledged (id, name) pairs.
/// Names are `p-{tag}-{thread}-{n}`, unique across calls with distinct tags.
fn insert_until(
    base: &str,
    tag: &str,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<(String, String)>>> {
    (0..threads)
        .map(|t| {
            let base = base.to_string();
            let tag = tag.to_string();
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let name = format!("p-{tag}-{t}-{n}");
                    let body = serde_json::to_vec(&json!({"name": name, "price": n, "stock": t}))
                        .expect("json");
                    let r = request(
                        "POST",
                        &format!("{base}{API}/products"),
                        &[("content-type", "application/json")],
                        Some(&body),
                    );
                    match r {
                        Ok(r) if r.status == 201 => {
                            let id = r.json()["id"].as_str().expect("id").to_string();
                            acked.push((id, name));
                        }
                        // Once the server is gone, requests fail: that is expected, stop.
                        Ok(_) | Err(_) if stop.load(Ordering::Relaxed) => break,
                        Ok(r) => panic!("insert {name} answered {} {}", r.status, r.text()),
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

fn verify_acknowledged(s: &Server, acked: &[(String, String)]) {
    let mut lost = Vec::new();
    for (id, name) in acked {
        let r = s
            .get(&format!("{API}/products/{id}"))
            .expect("GET after restart");
        if r.status != 200 || r.json()["name"] != json!(name) {
            lost.push(format!("{id} ({name}): {} {}", r.status, r.text()));
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let total = s
        .get(&format!("{API}/products?limit=1"))
        .expect("list")
        .json()["page"]["total"]
        .as_u64()
        .expect("page.total");
    assert!(
        total >= acked.len() as u64,
        "list total {total} < acknowledged {}",
        acked.len()
    );
}

#[test]
fn kill9_during_inserts_loses_no_acknowledged_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let app = tmp.path().join("app");
    write_project(&app, &project());
    let mut acked = Vec::new();
    // Two rounds: kill, restart, insert more, kill again.
    for round in 0..2 {
        let s = Server::start(&data, Some(&app));
        if round > 0 {
            verify_acknowledged(&s, &acked);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let handles = insert_until(&s.base, &format!("round{round}"), 6, &stop);
        std::thread::sleep(Duration::from_millis(1500));
        // SIGKILL while the clients are still inserting; only then tell them to stop.
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        let before = acked.len();
        for h in handles {
            acked.extend(h.join().expect("client thread"));
        }
        assert!(
            acked.len() - before > 20,
            "round {round}: too few inserts acknowledged to test anything"
        );
    }
    let s = Server::start(&data, Some(&app));
    verify_acknowledged(&s, &acked);
    s.stop();
}

/// Finds an iteration count for which one `/slow` call takes at least `target`.
fn calibrate(s: &Server, target: Duration) -> u64 {
    let mut n: u64 = 20_000;
    loop {
        let t = Instant::now();
        let r = s.get(&format!("{API}/slow?n={n}")).expect("slow");
        assert_eq!(r.status, 200, "{}", r.text());
        if t.elapsed() >= target || n >= 5_000_000 {
            return n;
        }
        n *= 2;
    }
}

#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let app = tmp.path().join("app");
    write_project(&app, &project());
    let s = Server::start(&data, Some(&app));
    let n = calibrate(&s, Duration::from_millis(400));

    // Slow requests, each started before SIGTERM.
    let results = Arc::new(Mutex::new(Vec::new()));
    let started = Arc::new(std::sync::Barrier::new(9));
    let slow: Vec<_> = (0..8)
        .map(|_| {
            let (url, results, started) = (
                s.url(&format!("{API}/slow?n={n}")),
                Arc::clone(&results),
                Arc::clone(&started),
            );
            std::thread::spawn(move || {
                started.wait();
                let r = request("GET", &url, &[], None);
                results
                    .lock()
                    .expect("lock")
                    .push(r.map(|r| (r.status, r.text())).map_err(|e| e.to_string()));
            })
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let inserters = insert_until(&s.base, "term", 2, &stop);
    started.wait();
    // Let the slow requests reach the server and start hashing.
    std::thread::sleep(Duration::from_millis(150));
    let t = Instant::now();
    // The inserters finish the request they have in flight (sent before the signal) and stop.
    stop.store(true, Ordering::Relaxed);
    let status = s.terminate();
    for h in slow {
        h.join().expect("slow client");
    }
    let acked: Vec<(String, String)> = inserters
        .into_iter()
        .flat_map(|h| h.join().expect("inserter"))
        .collect();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let results = results.lock().expect("lock");
    assert_eq!(results.len(), 8);
    for r in results.iter() {
        match r {
            Ok((200, _)) => {}
            other => panic!("in-flight request did not complete: {other:?}"),
        }
    }
    assert!(
        t.elapsed() >= Duration::from_millis(100),
        "exited before the in-flight work could finish"
    );
    let s = Server::start(&data, Some(&app));
    verify_acknowledged(&s, &acked);
    s.stop();
}
