//! Wire-protocol load benchmark: point `find` by `_id` and single-document `insert` from 32
//! concurrent connections, through (a) pymongo (a real driver; 32 threads, one client and
//! connection each — Python's GIL makes this the driver's ceiling more than the server's),
//! (b) a minimal Rust OP_MSG client (32 tokio tasks, 32 connections; shows the server-side
//! cost of the wire path), (d) with `--features driver-bench`, the official Rust driver
//! (`mongodb` crate; one client, a pool of 32 connections, 32 tasks), next to (c) the same
//! operations called in-process on the `Store` from 32 threads, all in one run. Besides ops/s and latency it reports the CPU time per
//! operation: of the 32 threads for in-process calls, of the server's threads (its own tokio
//! runtime, workers and blocking pool, named [`SERVER_THREADS`]) for the wire rows — the load
//! generators run on other threads ([`CLIENT_THREADS`], or the Python process) and are not
//! counted there. CPU time comes from `/proc/<tid>/schedstat` (nanoseconds on CPU, kernel work
//! done in the thread's context included). Prints a table and writes it to
//! `docs/benchmarks.md` under "## Wire protocol" (replacing only that section).
//!
//! Run: `cargo bench -p stratus-server --bench wire [--features driver-bench]` (env
//! `WIRE_BENCH_SECONDS`, default 3).

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use stratus_docstore::{Store, StoreOptions};
use stratus_server::wire::{self, DatabaseAccess, StaticCredentials, WireState, message};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The allocator the `stratus` binary ships with (crates/cli/src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The section's explanatory text (after the table and the computed goal line).
const EXPLANATION: &str = "
How to read it: *throughput cost* is the issue's measure (in-process ops/s ÷ wire ops/s, both with 32 concurrent callers on the same two cores). The load generators run on those cores too, so a wire row's throughput also pays for its client: building and encoding each request, decoding each reply, and both ends of every loopback TCP round trip in the kernel. *CPU µs per op, serving side* separates the server's share: for in-process rows the CPU time of the 32 calling threads, for wire rows the CPU time of the server's runtime threads (tokio workers and blocking pool: reading and parsing the request, authorisation, the store call, building the reply, and the `send`, whose loopback delivery the kernel does in the sender's context). The raw in-process row (`find_one_raw`, the stored bytes without decoding) is what the wire server itself calls for; the decoded row is what a Rust caller of the store gets, and the comparison the goal column uses, since the wire client decodes the reply as any driver does. The store's writer thread (`docstore-writer`, which commits every write) is counted on neither side. Inserts wait for the group-committed fsync, so both paths are bound by the disk and the wire adds little to their throughput. Since 2026-11-28 20:40 the wire `insert` awaits its commit as a future completed by the store's writer (`Store::insert_many_pending`) instead of parking a blocking thread on a condition variable; before that, about half of the server threads' time on the insert row was context switches and the server CPU per insert was 2.9–4.9× the in-process call's. Figures vary by tens of percent between runs on this shared machine.

Where a wire point find's server time goes (perf profile of this bench's server threads, `perf record -e cpu-clock --call-graph dwarf`, after the changes of 2026-11-28): about 43% in the `send` of the reply and 9% in the `recv` of the request (loopback TCP; the kernel runs the receiving side's TCP processing and wake-up in the sender's context), 8–14% in tokio's `epoll` and parking, 23% in the store's own lookup (the same `find_one_raw` the raw in-process row calls), and about 12% in the fast path itself (reading the undecoded request, building the filter and the reply). The kernel's share alone is larger than the whole in-process call, which is why the server's CPU cost stays above 2× the in-process call and why the throughput cost (which also pays for the client) is higher still: with one TCP round trip per operation, the transport costs more than the point read it carries.

The official Rust driver (`mongodb` crate 3.9, SCRAM-SHA-256, one client with a pool of 32 connections and 32 tasks) runs when the bench is built with `--features driver-bench` (`cargo bench -p stratus-server --bench wire --features driver-bench`); the feature is off by default because the driver's dependency tree takes minutes to build on this 2-core machine (2 min 49 s for the bench with it, the server's own crates included). Its requests take the same point-find fast path as the minimal client's (checked by logging any `find` that missed it: none). It spends more client CPU per operation than the minimal client, which on two shared cores lowers its throughput; the server's CPU per operation is higher with it as well. A profile of the server threads during both find rows (2026-11-29, `perf record -e cpu-clock --call-graph dwarf`, samples per 1,000 operations: 3.3 with the minimal client, 4.4 with the driver) puts the difference in parking and waking the idler server workers at the driver's lower request rate (futex wait and wake 8.1% of the server's samples against 1.3%, context switches 6.5% against 3.3%), not in handling the requests: both go through the same fast path and the same `send`. pymongo (GIL-bound: its throughput measures the Python driver as much as the server — its CPU column is still the server's) and the minimal Rust OP_MSG client (same protocol, no driver overhead) complete the picture.
";

/// Heading of the hand-written subsection that [`replace_section`] keeps.
const EARLIER_RUNS: &str = "### Earlier runs";

const CONNECTIONS: usize = 32;
const KEYS: i64 = 10_000;
/// Thread-name prefix of the server's runtime (workers and blocking pool).
const SERVER_THREADS: &str = "wire-server";
/// Thread-name prefix of the Rust load generator's runtime.
const CLIENT_THREADS: &str = "wire-client";

struct Cell {
    ops_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    /// CPU time per operation (µs) of the side that serves it, when measured.
    cpu_us_per_op: Option<f64>,
}

fn summarize(mut lat: Vec<Duration>, elapsed: Duration, cpu_ns: Option<u64>) -> Cell {
    lat.sort();
    let n = lat.len().max(1);
    Cell {
        ops_per_s: lat.len() as f64 / elapsed.as_secs_f64(),
        p50_us: lat.get(n / 2).map_or(0.0, |d| d.as_secs_f64() * 1e6),
        p99_us: lat
            .get((n * 99 / 100).min(n - 1))
            .map_or(0.0, |d| d.as_secs_f64() * 1e6),
        cpu_us_per_op: cpu_ns.map(|ns| ns as f64 / 1e3 / n as f64),
    }
}

/// Nanoseconds a thread has spent on a CPU (first field of a `schedstat` file).
fn schedstat_ns(path: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of the calling thread so far.
fn own_cpu_ns() -> Option<u64> {
    schedstat_ns(std::path::Path::new("/proc/thread-self/schedstat"))
}

/// Summed CPU time of this process's threads whose name starts with `prefix`.
fn threads_cpu_ns(prefix: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix) {
            total += schedstat_ns(&entry.path().join("schedstat")).unwrap_or(0);
        }
    }
    Some(total)
}

/// `a / b` as "1.0×", or empty when either is unknown.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.1}×", b / a),
        _ => String::new(),
    }
}

fn in_process(store: &Store, op: &str, secs: f64) -> Cell {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let store = store.clone();
            let op = op.to_string();
            std::thread::Builder::new()
                .name(format!("in-process-{i}"))
                .spawn(move || {
                    let cpu0 = own_cpu_ns();
                    let mut lat = Vec::new();
                    let mut n: i64 = 0;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let k = (i as i64 * 7919 + n) % KEYS;
                        match op.as_str() {
                            "find_id" => {
                                let d = store
                                    .find_one("bench", "wire", doc! {"_id": k})
                                    .expect("find");
                                assert!(d.is_some());
                            }
                            "find_id_raw" => {
                                let d = store
                                    .find_one_raw("bench", "wire", doc! {"_id": k})
                                    .expect("find");
                                assert!(d.is_some());
                            }
                            _ => {
                                store
                                    .insert_one(
                                        "bench",
                                        "wire",
                                        doc! {"_id": format!("ip-{i}-{n}"), "v": n},
                                    )
                                    .expect("insert");
                            }
                        }
                        lat.push(t.elapsed());
                        n += 1;
                    }
                    let cpu = own_cpu_ns().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
                    (lat, cpu)
                })
                .expect("spawn")
        })
        .collect();
    let mut lat = Vec::new();
    let mut cpu = Some(0u64);
    for h in handles {
        let (l, c) = h.join().expect("thread");
        lat.extend(l);
        cpu = cpu.zip(c).map(|(a, b)| a + b);
    }
    summarize(lat, start.elapsed(), cpu)
}

async fn read_reply(s: &mut BufReader<TcpStream>) -> Document {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.expect("len");
    let mut rest = vec![0u8; i32::from_le_bytes(len) as usize - 4];
    s.read_exact(&mut rest).await.expect("body");
    Document::from_reader(&rest[17..]).expect("doc")
}

/// One command: one write of the encoded request, buffered reads of the reply (as drivers
/// do), and the reply decoded into a `Document`.
async fn cmd(s: &mut BufReader<TcpStream>, body: &Document) -> Document {
    let bytes = message::encode_op_msg_request(1, body, &[], 0, false).expect("encode");
    s.get_mut().write_all(&bytes).await.expect("write");
    read_reply(s).await
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn bin(b: &[u8]) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: b.to_vec(),
    })
}

async fn login(s: &mut BufReader<TcpStream>) {
    let first_bare = "n=user,r=benchnonce";
    let r = cmd(s, &doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(format!("n,,{first_bare}").as_bytes()), "$db": "admin"}).await;
    let Some(Bson::Binary(p)) = r.get("payload") else {
        panic!("saslStart: {r}")
    };
    let server_first = String::from_utf8(p.bytes.clone()).expect("utf8");
    let (mut nonce, mut salt, mut iters) = ("", Vec::new(), 0u32);
    for part in server_first.split(',') {
        match part.split_at(2) {
            ("r=", v) => nonce = v,
            ("s=", v) => salt = B64.decode(v).expect("salt"),
            ("i=", v) => iters = v.parse().expect("iters"),
            _ => {}
        }
    }
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(b"pass", &salt, iters, &mut salted);
    let client_key = hmac256(&salted, b"Client Key");
    let without_proof = format!("c=biws,r={nonce}");
    let auth = format!("{first_bare},{server_first},{without_proof}");
    let sig = hmac256(&Sha256::digest(&client_key), auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let fin = format!("{without_proof},p={}", B64.encode(proof));
    let mut r = cmd(s, &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(fin.as_bytes()), "$db": "admin"}).await;
    while r.get_f64("ok").expect("ok") == 1.0 && !r.get_bool("done").unwrap_or(true) {
        r = cmd(
            s,
            &doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(b""), "$db": "admin"},
        )
        .await;
    }
    assert_eq!(r.get_f64("ok").expect("ok"), 1.0, "login: {r}");
}

async fn raw_client(addr: std::net::SocketAddr, op: &str, secs: f64) -> Cell {
    let counter = Arc::new(AtomicU64::new(0));
    let mut conns = Vec::new();
    for _ in 0..CONNECTIONS {
        let s = TcpStream::connect(addr).await.expect("connect");
        s.set_nodelay(true).expect("nodelay");
        let mut s = BufReader::new(s);
        login(&mut s).await;
        conns.push(s);
    }
    let server_cpu0 = threads_cpu_ns(SERVER_THREADS);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            let op = op.to_string();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut n: i64 = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let body = if op == "find_id" {
                        doc! {"find": "wire", "filter": {"_id": (i as i64 * 7919 + n) % KEYS}, "limit": 1, "singleBatch": true, "$db": "bench"}
                    } else {
                        let uid = counter.fetch_add(1, Ordering::Relaxed);
                        doc! {"insert": "wire", "documents": [{"_id": format!("rw-{uid}"), "v": n}], "$db": "bench"}
                    };
                    let r = cmd(&mut s, &body).await;
                    assert_eq!(r.get_f64("ok").expect("ok"), 1.0, "{r}");
                    lat.push(t.elapsed());
                    n += 1;
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    let elapsed = start.elapsed();
    let server_cpu = threads_cpu_ns(SERVER_THREADS)
        .zip(server_cpu0)
        .map(|(b, a)| b.saturating_sub(a));
    summarize(lat, elapsed, server_cpu)
}

/// The official MongoDB Rust driver (`mongodb` crate, feature `driver-bench`): one client
/// with a pool of [`CONNECTIONS`] connections, authenticated with SCRAM-SHA-256, and
/// [`CONNECTIONS`] tasks calling `find_one({_id})` or `insert_one` in a loop.
#[cfg(feature = "driver-bench")]
async fn mongodb_driver(addr: std::net::SocketAddr, op: &str, secs: f64) -> Result<Cell, String> {
    use mongodb::options::{AuthMechanism, ClientOptions, Credential, ServerAddress};
    let options = ClientOptions::builder()
        .hosts(vec![ServerAddress::Tcp {
            host: addr.ip().to_string(),
            port: Some(addr.port()),
        }])
        .direct_connection(true)
        .max_pool_size(CONNECTIONS as u32)
        .min_pool_size(CONNECTIONS as u32)
        .credential(
            Credential::builder()
                .username("user".to_string())
                .password("pass".to_string())
                .source("admin".to_string())
                .mechanism(AuthMechanism::ScramSha256)
                .build(),
        )
        .build();
    let client = mongodb::Client::with_options(options).map_err(|e| e.to_string())?;
    let coll = client.database("bench").collection::<Document>("wire");
    // Connect and authenticate the whole pool before measuring.
    let warm: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let coll = coll.clone();
            tokio::spawn(async move { coll.find_one(doc! {"_id": i as i64}).await })
        })
        .collect();
    for w in warm {
        w.await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
    }
    let counter = Arc::new(AtomicU64::new(0));
    let server_cpu0 = threads_cpu_ns(SERVER_THREADS);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| {
            let coll = coll.clone();
            let op = op.to_string();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut n: i64 = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if op == "find_id" {
                        let found = coll
                            .find_one(doc! {"_id": (i as i64 * 7919 + n) % KEYS})
                            .await
                            .map_err(|e| e.to_string())?;
                        if found.is_none() {
                            return Err("find_one found nothing".to_string());
                        }
                    } else {
                        let uid = counter.fetch_add(1, Ordering::Relaxed);
                        coll.insert_one(doc! {"_id": format!("md-{uid}"), "v": n})
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    lat.push(t.elapsed());
                    n += 1;
                }
                Ok::<_, String>(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(|e| e.to_string())??);
    }
    let elapsed = start.elapsed();
    let server_cpu = threads_cpu_ns(SERVER_THREADS)
        .zip(server_cpu0)
        .map(|(b, a)| b.saturating_sub(a));
    Ok(summarize(lat, elapsed, server_cpu))
}

fn pymongo(port: u16, op: &str, secs: f64) -> Option<Cell> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wire_py/bench_pymongo.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .args([
            port.to_string(),
            op.to_string(),
            CONNECTIONS.to_string(),
            secs.to_string(),
            KEYS.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let (mut cpu0, mut cpu1, mut json) = (None, None, None);
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match line.as_str() {
            "START" => cpu0 = threads_cpu_ns(SERVER_THREADS),
            "END" => cpu1 = threads_cpu_ns(SERVER_THREADS),
            _ => json = Some(line),
        }
    }
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        eprintln!(
            "pymongo bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&json?).ok()?;
    let ops = v["ops"].as_f64()?.max(1.0);
    Some(Cell {
        ops_per_s: v["ops_per_s"].as_f64()?,
        p50_us: v["p50_us"].as_f64()?,
        p99_us: v["p99_us"].as_f64()?,
        cpu_us_per_op: cpu1
            .zip(cpu0)
            .map(|(b, a)| b.saturating_sub(a) as f64 / 1e3 / ops),
    })
}

fn main() {
    let secs: f64 = std::env::var("WIRE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("bench.db"), StoreOptions::default()).expect("store");
    let docs: Vec<Document> = (0..KEYS)
        .map(|i| doc! {"_id": i, "name": format!("user-{i}"), "n": i})
        .collect();
    store
        .insert_many("bench", "wire", docs, true)
        .expect("seed");
    let mut creds = StaticCredentials::new();
    creds.add_user("user", "pass", DatabaseAccess::All);
    let state = WireState::new(store.clone(), Arc::new(creds));
    // The server and the Rust load generator run on separate runtimes (separately named
    // threads) so the server's CPU time can be told apart; both share the same cores.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(SERVER_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = server_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(wire::serve(listener, state, std::future::pending()));
        addr
    });
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: String = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let mut rows: Vec<(&str, &str, Result<Cell, String>)> = Vec::new();
    for op in ["find_id", "insert"] {
        let name = if op == "find_id" {
            "find by `_id`"
        } else {
            "insert one"
        };
        rows.push((
            name,
            "in-process `Store` (32 threads)",
            Ok(in_process(&store, op, secs)),
        ));
        if op == "find_id" {
            rows.push((
                name,
                "in-process `Store`, raw (`find_one_raw`, 32 threads)",
                Ok(in_process(&store, "find_id_raw", secs)),
            ));
        }
        rows.push((
            name,
            "wire, Rust OP_MSG client (32 conns)",
            Ok(client_rt.block_on(raw_client(addr, op, secs))),
        ));
        #[cfg(feature = "driver-bench")]
        let driver = client_rt
            .block_on(mongodb_driver(addr, op, secs))
            .map_err(|e| format!("failed: {e}"));
        #[cfg(not(feature = "driver-bench"))]
        let driver = Err("not run (needs `--features driver-bench`)".to_string());
        rows.push((name, "wire, `mongodb` crate 3.9 (32 conns)", driver));
        rows.push((
            name,
            "wire, pymongo (32 threads/conns)",
            pymongo(addr.port(), op, secs)
                .ok_or_else(|| "not run (python3/pymongo missing)".to_string()),
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut table = String::new();
    table.push_str("## Wire protocol\n\n");
    table.push_str(&format!(
        "Command: `cargo bench -p stratus-server --bench wire{}` ({secs} s per cell, {CONNECTIONS} concurrent connections/threads, {KEYS} seeded documents, on-disk store, mimalloc, {cores} cores shared with other work; load average {load} at the start; run on {}).\n\n",
        if cfg!(feature = "driver-bench") { " --features driver-bench" } else { "" },
        bson::DateTime::now().try_to_rfc3339_string().unwrap_or_default()
    ));
    table.push_str("| operation | path | ops/s | p50 µs | p99 µs | throughput cost (in-process ops/s ÷ ops/s) | ≤ 2× | CPU µs per op, serving side | CPU cost (÷ in-process) |\n|---|---|---:|---:|---:|---:|---|---:|---:|\n");
    let mut verdicts = Vec::new();
    let mut reference: Option<(f64, Option<f64>)> = None;
    for (name, path, cell) in &rows {
        let c = match cell {
            Ok(c) => c,
            Err(why) => {
                table.push_str(&format!("| {name} | {path} | {why} | | | | | | |\n"));
                continue;
            }
        };
        if path.starts_with("in-process `Store` (") {
            reference = Some((c.ops_per_s, c.cpu_us_per_op));
        }
        let Some((ref_ops, ref_cpu)) = reference else {
            continue;
        };
        let cost = ref_ops / c.ops_per_s.max(0.001);
        let is_wire = path.starts_with("wire");
        let met = if !is_wire {
            ""
        } else if cost <= 2.0 {
            "yes"
        } else {
            "no"
        };
        let cpu = c.cpu_us_per_op.map_or(String::new(), |v| format!("{v:.1}"));
        let cpu_cost = ratio(ref_cpu, c.cpu_us_per_op);
        table.push_str(&format!(
            "| {name} | {path} | {:.0} | {:.0} | {:.0} | {cost:.1}× | {met} | {cpu} | {cpu_cost} |\n",
            c.ops_per_s, c.p50_us, c.p99_us
        ));
        if path.starts_with("wire, Rust") || path.starts_with("wire, `mongodb`") {
            verdicts.push(format!(
                "{name} ({path}): throughput cost {cost:.1}× — {}; server CPU per operation {} the in-process call's",
                if cost <= 2.0 { "met" } else { "not met" },
                if cpu_cost.is_empty() { "not measured vs".to_string() } else { cpu_cost.clone() }
            ));
        }
    }
    table.push_str(&format!(
        "\nGoal (wire path ≤ 2× the in-process cost per operation, judged on the Rust client rows (the minimal OP_MSG client and, when built with `--features driver-bench`, the `mongodb` crate) against the decoded `find_one`/`insert_one` rows) in this run: {}.\n",
        verdicts.join("; ")
    ));
    table.push_str(&format!("\n{}\n", EXPLANATION.trim()));
    println!("{table}");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/benchmarks.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    let updated = replace_section(&existing, &table);
    if let Err(e) = std::fs::write(&path, updated) {
        eprintln!("could not write {}: {e}", path.display());
    }
}

/// Replaces the `## Wire protocol` section of `doc` (up to the next `## `) with `section`, or
/// appends it; a `### Earlier runs` subsection at its end is kept.
fn replace_section(doc: &str, section: &str) -> String {
    let Some(start) = doc.find("## Wire protocol") else {
        let mut out = doc.to_string();
        if out.is_empty() {
            out.push_str("# Benchmarks\n\n");
        } else if !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(section);
        return out;
    };
    let after = &doc[start + 3..];
    let end = after.find("\n## ").map_or(doc.len(), |i| start + 3 + i + 1);
    // Hand-written notes on earlier runs survive a new run.
    let kept = doc[start..end]
        .find(EARLIER_RUNS)
        .map_or("", |i| &doc[start + i..end]);
    let separator = if kept.is_empty() { "" } else { "\n" };
    format!(
        "{}{}{separator}{}{}",
        &doc[..start],
        section,
        kept,
        &doc[end..]
    )
}
