//! The tokio runtime that network backends run on.
//!
//! The [`Storage`](super::Storage) trait is synchronous: the transfer engine calls it from
//! its own worker threads, which enter this runtime with [`Handle::block_on`]. One runtime
//! serves every storage of the process; it starts on first use.

use std::io;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Threads that drive the network I/O; the engine's worker threads do the blocking waits.
const IO_THREADS: usize = 2;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Returns a handle to the shared runtime, starting it on the first call.
pub(crate) fn handle() -> io::Result<Handle> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime.handle().clone());
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(IO_THREADS)
        .thread_name("git-exp-io")
        .enable_all()
        .build()?;
    // Another thread may have won the race; its runtime is used and this one is dropped.
    let runtime = RUNTIME.get_or_init(|| runtime);
    Ok(runtime.handle().clone())
}
