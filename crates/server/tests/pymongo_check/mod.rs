//! Whether the real-client tests can run: `python3` with `pymongo` importable. Without it a
//! test prints why it is skipped and passes, unless `STRATUS_REQUIRE_REAL_CLIENTS=1` (set by
//! `scripts/test` after installing pymongo), which turns a missing client into a failure.

use std::process::Command;

/// `true` when `python3 -c "import pymongo"` succeeds; otherwise prints a skip reason naming
/// `test` (or panics under `STRATUS_REQUIRE_REAL_CLIENTS=1`).
pub(crate) fn pymongo_available(test: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pymongo"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("STRATUS_REQUIRE_REAL_CLIENTS").as_deref() != Ok("1"),
            "STRATUS_REQUIRE_REAL_CLIENTS=1 but python3/pymongo is missing (pip install pymongo)"
        );
        eprintln!("SKIP {test}: python3 with pymongo not found (pip install pymongo)");
    }
    ok
}
