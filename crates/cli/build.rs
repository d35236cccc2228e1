//! Records the git commit (short hash) for `stratus --version`, when git is available.

fn main() {
    let hash = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let full = if hash.is_empty() {
        version
    } else {
        format!("{version} ({hash})")
    };
    println!("cargo:rustc-env=STRATUS_VERSION={full}");
}
