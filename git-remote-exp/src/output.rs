//! User-facing output of the binaries: logs, progress bars and the one error message.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use exp_lib::progress::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Sends `tracing` output to stderr, filtered by `GIT_EXP_LOG` (for example `debug`),
/// or at `debug` when `GIT_TRACE` is set to a true value as git users expect.
pub fn init_logging() {
    let filter = match std::env::var("GIT_EXP_LOG") {
        Ok(value) => value,
        Err(_) if git_trace_enabled() => "debug".to_owned(),
        Err(_) => "warn".to_owned(),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubbedStderr)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Writes log lines to stderr with every registered secret replaced, including secrets that a
/// dependency or a server echoes back.
struct ScrubbedStderr;

impl Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(exp_lib::redact::scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn git_trace_enabled() -> bool {
    matches!(
        std::env::var("GIT_TRACE").as_deref(),
        Ok("1") | Ok("2") | Ok("true") | Ok("yes") | Ok("on")
    )
}

/// Prints an error and its causes on one line, then any hints, as `prefix: message`.
pub fn print_error(prefix: &str, error: &anyhow::Error, hints: &[&str]) {
    let message = exp_lib::redact::scrub(&format!("{error:#}"));
    eprintln!("{prefix}: {message}");
    for hint in hints {
        eprintln!("hint: {hint}");
    }
}

/// A progress bar on stderr showing objects, bytes and rate; hidden when stderr is not a terminal.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
}

impl Bar {
    /// Creates a bar that draws only when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Bar {
        Bar {
            bar: Mutex::new(None),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }
}

impl Progress for Bar {
    fn begin(&self, phase: &str, objects: u64, bytes: u64) {
        if !self.enabled {
            return;
        }
        let bar =
            ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(
            "{prefix} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(phase.to_owned());
        bar.set_message(format!("0/{objects} objects"));
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
        if let Ok(mut count) = COUNTS.lock() {
            *count = (0, objects);
        }
    }

    fn advance(&self, objects: u64, bytes: u64) {
        let Ok(slot) = self.bar.lock() else { return };
        let Some(bar) = slot.as_ref() else { return };
        bar.inc(bytes);
        if let Ok(mut count) = COUNTS.lock() {
            count.0 += objects;
            bar.set_message(format!("{}/{} objects", count.0, count.1));
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Objects done and total of the phase being drawn.
static COUNTS: Mutex<(u64, u64)> = Mutex::new((0, 0));
