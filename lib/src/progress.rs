//! Progress callbacks: the library reports counts, the binaries decide how to draw them.

/// Receives progress of a long operation. Implementations must be cheap and thread-safe,
/// because transfer workers call `advance` once per object.
pub trait Progress: Send + Sync {
    /// Starts a phase such as "upload" with the totals known so far.
    fn begin(&self, _phase: &str, _objects: u64, _bytes: u64) {}

    /// Adds finished objects and bytes to the current phase.
    fn advance(&self, _objects: u64, _bytes: u64) {}

    /// Ends the current phase.
    fn finish(&self) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
