//! Dev mode (`stratus serve --app DIR`): a polling watcher of the project directory.
//!
//! A background thread takes a fingerprint of the directory every `interval` (relative path,
//! size and modification time of every file, recursively; no extra crate, no OS watcher). When
//! the fingerprint differs from the last one it waits until it has been stable for one more
//! interval (debounce: an editor saving several files, or writing a file in steps, yields one
//! change), then loads the definition and calls the callback once with the result.
//!
//! Invariants: the callback runs on the watcher thread, never concurrently with itself, once
//! per change burst; a broken definition is reported as `Err(errors)` and watching continues;
//! a directory that disappears is watched for its return. Dropping (or [`WatchHandle::stop`])
//! stops the thread within one interval.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::project::{self, DefError, Loaded};

/// Directory entries the watcher skips (editor and VCS noise).
pub const IGNORED_NAMES: &[&str] = &[".git", ".DS_Store", "node_modules", "target"];

/// At most this many files are fingerprinted (a guard against watching a huge tree by mistake).
pub const MAX_WATCHED_FILES: usize = 10_000;

/// Fingerprint of one file: size and modification time.
type FileStamp = (u64, Option<SystemTime>);

/// Fingerprint of a directory: relative path → stamp.
type Fingerprint = BTreeMap<PathBuf, FileStamp>;

/// Whether a file name is editor noise (swap/backup files) the watcher ignores.
fn is_noise(name: &str) -> bool {
    IGNORED_NAMES.contains(&name)
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
}

fn walk(root: &Path, dir: &Path, out: &mut Fingerprint) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if out.len() >= MAX_WATCHED_FILES {
            return;
        }
        let name = entry.file_name();
        if is_noise(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            out.insert(rel, (meta.len(), meta.modified().ok()));
        }
    }
}

/// The current fingerprint of `dir` (empty when it does not exist).
fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Fingerprint::new();
    walk(dir, dir, &mut out);
    out
}

/// A running watcher; stops when dropped.
#[derive(Debug)]
pub struct WatchHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl WatchHandle {
    /// Stops the watcher and waits for its thread (at most about one interval).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sleeps `total` in small steps, returning early (false) when asked to stop.
fn nap(stop: &AtomicBool, total: Duration) -> bool {
    let step = Duration::from_millis(20).min(total);
    let mut slept = Duration::ZERO;
    while slept < total {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(step);
        slept += step;
    }
    !stop.load(Ordering::SeqCst)
}

/// Watches `dir` with any loader: on each settled change, `on_change(load(&dir))`. The first
/// state is the baseline (no call at start: the caller deploys it itself).
pub fn spawn_watcher_with<T, L, F>(
    dir: PathBuf,
    interval: Duration,
    load: L,
    on_change: F,
) -> WatchHandle
where
    T: 'static,
    L: Fn(&Path) -> T + Send + 'static,
    F: Fn(T) + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::Builder::new()
        .name("stratus-devmode".into())
        .spawn(move || {
            let mut last = fingerprint(&dir);
            while nap(&flag, interval) {
                let now = fingerprint(&dir);
                if now == last {
                    continue;
                }
                // Debounce: wait until the tree stops changing for one interval.
                let mut settled = now;
                loop {
                    if !nap(&flag, interval) {
                        return;
                    }
                    let again = fingerprint(&dir);
                    if again == settled {
                        break;
                    }
                    settled = again;
                }
                last = settled;
                on_change(load(&dir));
            }
        });
    match thread {
        Ok(t) => WatchHandle {
            stop,
            thread: Some(t),
        },
        Err(e) => {
            tracing::error!(error = %e, "dev mode: cannot start the watcher thread");
            WatchHandle { stop, thread: None }
        }
    }
}

/// Watches the project directory `dir` (polling every `interval`) and, once per settled change
/// burst, calls `on_change` with the freshly loaded definition ([`project::load_dir`]) or its
/// errors. The lead wires the callback to deploy environment `development`.
pub fn spawn_watcher(
    dir: PathBuf,
    interval: Duration,
    on_change: impl Fn(Result<Loaded, Vec<DefError>>) + Send + 'static,
) -> WatchHandle {
    spawn_watcher_with(dir, interval, project::load_dir, on_change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A toy loader: every `*.json` file must parse; the result is the sorted file names.
    fn load(dir: &Path) -> Result<Vec<String>, Vec<String>> {
        let fp = fingerprint(dir);
        let mut names = Vec::new();
        let mut errors = Vec::new();
        for rel in fp.keys() {
            let text = std::fs::read_to_string(dir.join(rel)).unwrap_or_default();
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                errors.push(rel.display().to_string());
            }
            names.push(rel.display().to_string());
        }
        if errors.is_empty() {
            Ok(names)
        } else {
            Err(errors)
        }
    }

    type Seen = Arc<Mutex<Vec<Result<Vec<String>, Vec<String>>>>>;

    fn wait_for(seen: &Seen, n: usize) -> Vec<Result<Vec<String>, Vec<String>>> {
        for _ in 0..200 {
            if seen.lock().expect("lock").len() >= n {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let a wrongly repeated callback show up before checking the count.
        std::thread::sleep(Duration::from_millis(250));
        seen.lock().expect("lock").clone()
    }

    #[test]
    fn fires_once_per_burst_and_reports_errors() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("project.json"), r#"{"name":"p"}"#).expect("write");
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        let h = spawn_watcher_with(dir.clone(), Duration::from_millis(50), load, move |r| {
            s2.lock().expect("lock").push(r);
        });
        // Nothing changed: no call.
        assert!(wait_for(&seen, 1).is_empty());

        // A burst: add two files and modify one → one call.
        std::fs::create_dir_all(dir.join("models")).expect("mkdir");
        std::fs::write(dir.join("models/a.json"), "{}").expect("write");
        std::fs::write(dir.join("models/b.json"), "{}").expect("write");
        std::fs::write(dir.join("project.json"), r#"{"name":"p2"}"#).expect("write");
        let got = wait_for(&seen, 1);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].as_ref().expect("ok").len(),
            3,
            "sees all three files"
        );

        // A syntax error → an error list, and the watcher keeps going.
        std::fs::write(dir.join("models/a.json"), "{ nope").expect("write");
        let got = wait_for(&seen, 2);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1], Err(vec!["models/a.json".to_string()]));

        // Removing a file → another call.
        std::fs::remove_file(dir.join("models/a.json")).expect("rm");
        let got = wait_for(&seen, 3);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[2].as_ref().expect("ok").len(), 2);

        // Editor noise is ignored.
        std::fs::write(dir.join(".project.json.swp"), "x").expect("write");
        std::fs::write(dir.join("project.json~"), "x").expect("write");
        assert_eq!(wait_for(&seen, 4).len(), 3);
        h.stop();
    }

    #[test]
    fn project_watcher_reloads_definitions_and_reports_errors() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().to_path_buf();
        std::fs::write(dir.join("project.json"), r#"{"name": "p"}"#).expect("write");
        type Got = Arc<Mutex<Vec<Result<serde_json::Value, Vec<String>>>>>;
        let seen: Got = Arc::default();
        let s2 = seen.clone();
        let h = spawn_watcher(dir.clone(), Duration::from_millis(50), move |r| {
            let r = r
                .map(|l| l.definition)
                .map_err(|e| e.iter().map(ToString::to_string).collect());
            s2.lock().expect("lock").push(r);
        });
        std::thread::sleep(Duration::from_millis(120));
        std::fs::create_dir_all(dir.join("models")).expect("mkdir");
        std::fs::write(
            dir.join("models/m.json"),
            r#"{"name": "m", "collection": "m", "fields": {}}"#,
        )
        .expect("write");
        let wait = |n: usize| {
            for _ in 0..200 {
                if seen.lock().expect("lock").len() >= n {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(250));
            seen.lock().expect("lock").clone()
        };
        let got = wait(1);
        assert_eq!(got.len(), 1, "{got:?}");
        let def = got[0].as_ref().expect("loads");
        assert_eq!(def["models"][0]["name"], "m");
        std::fs::write(dir.join("models/m.json"), "{ broken").expect("write");
        let got = wait(2);
        assert_eq!(got.len(), 2, "{got:?}");
        let errs = got[1].as_ref().expect_err("syntax error");
        assert!(errs.iter().any(|e| e.contains("m.json")), "{errs:?}");
        h.stop();
    }

    #[test]
    fn stops_promptly_and_survives_a_missing_directory() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("later");
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        let h = spawn_watcher_with(dir.clone(), Duration::from_millis(50), load, move |r| {
            s2.lock().expect("lock").push(r);
        });
        std::thread::sleep(Duration::from_millis(120));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("project.json"), "{}").expect("write");
        assert_eq!(wait_for(&seen, 1).len(), 1);
        let t0 = std::time::Instant::now();
        drop(h);
        assert!(t0.elapsed() < Duration::from_secs(1));
    }
}
