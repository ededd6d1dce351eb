//! The library behind `git-remote-exp` and `git-exp`: DVC's object model, metafiles, config,
//! cache and storage layouts, the transfer engine, and the Git side of experiment sharing.
//!
//! The library neither prints nor exits. Binaries turn its errors into messages and its
//! progress callbacks into bars.

#![deny(missing_docs)]

mod atomic_write;
pub mod cache;
pub mod checkout;
pub mod collect;
pub mod config;
pub mod git;
pub mod git_remote;
pub mod helper;
pub mod hooks;
pub mod link;
pub mod manifest;
pub mod metafile;
pub mod metrics;
pub mod object;
mod pool;
pub mod progress;
pub mod project;
pub mod publish;
pub mod pull;
pub mod push;
pub mod redact;
pub mod refs;
pub mod resolve;
pub mod share;
pub mod storage;
pub mod transfer;
pub mod verify;
pub mod workspace;

#[cfg(test)]
mod test_support;
