//! A short crash soak: 20 trials of push, fetch and checkout killed at random moments.

use exp_integration_tests::{soak, Sandbox};

#[test]
fn killed_commands_lose_nothing() {
    let sandbox = Sandbox::new();
    let seed = std::env::var("EXP_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_204);
    let summary = soak::run(&sandbox, seed, 20);
    assert_eq!(summary.trials, 20);
    assert!(summary.objects_verified > 0);
    assert!(
        summary.violations.is_empty(),
        "seed {seed}:\n{}",
        summary.violations.join("\n")
    );
}
