//! `exp-soak`: kills push, fetch and checkout at random moments and checks that nothing
//! is lost or corrupt.
//!
//! ```text
//! cargo run --release -p exp-integration-tests --bin exp-soak -- [--trials N] [--seed S]
//! ```
//!
//! Prints the seed first, so any run can be replayed, then the counts and every violation;
//! exits 1 when an invariant was violated.

use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use exp_integration_tests::{soak, Sandbox};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let trials = value("--trials").unwrap_or(200) as usize;
    let seed = value("--seed").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("seed: {seed}");
    println!("trials: {trials}");

    let sandbox = Sandbox::new();
    let start = Instant::now();
    let summary = soak::run(&sandbox, seed, trials);
    println!(
        "ran {} trials in {:.1} s: {} push, {} fetch, {} checkout; {} killed mid-run",
        summary.trials,
        start.elapsed().as_secs_f64(),
        summary.per_operation[0],
        summary.per_operation[1],
        summary.per_operation[2],
        summary.killed
    );
    println!(
        "verified {} objects; {} leftover temporary files (never under a final name)",
        summary.objects_verified, summary.leftover_temp_files
    );
    println!(
        "stale git lock files removed before reruns: {}",
        summary.stale_git_locks
    );
    println!("violations: {}", summary.violations.len());
    for violation in &summary.violations {
        println!("  {violation}");
    }
    if summary.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
