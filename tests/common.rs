//! What every binary test needs: the repository root, and `headroom` run from it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `headroom` binary with `args` in the repository root.
pub fn headroom(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("headroom runs")
}

/// Runs `headroom` twice with `args`; asserts both succeed and print the same bytes, and
/// returns that output.
pub fn headroom_twice_identical(args: &[&str]) -> Vec<u8> {
    let (a, b) = (headroom(args), headroom(args));
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout, "two runs of {args:?} differ");
    a.stdout
}
