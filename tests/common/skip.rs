//! A test that skips because a tool is missing says so, and leaves a marker
//! file so that the run's closing line can count it (`.ci/run`): cargo
//! captures what a passing test prints, so a printed line alone would never
//! reach the end of the run.

use std::path::PathBuf;

/// Fail when `var=1` (the tool is required here), else mark this test as
/// skipped because of `why`. The caller then returns.
pub fn unless_required(var: &str, why: &str) {
    assert!(
        std::env::var(var).as_deref() != Ok("1"),
        "{var}=1 but {why}"
    );
    skipped(why);
}

/// Print `SKIPPED: <test> (<why>)` and write the marker file `<test>` into
/// [`dir`].
pub fn skipped(why: &str) {
    // libtest runs each test on a thread named after it; a tokio test's
    // body runs on that thread too.
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("unknown-test");
    println!("SKIPPED: {test} ({why})");
    let dir = dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(test.replace("::", ".")), format!("{why}\n")).unwrap();
}

/// `RONDA_SKIPPED_DIR` (`.ci/run` sets a fresh one per run), else
/// `skipped/` beside this test executable's `deps/` folder.
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("RONDA_SKIPPED_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("skipped")
}
