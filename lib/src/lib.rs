//! The library behind `git-remote-exp` and `git-exp`: DVC's object model, metafiles, config,
//! cache and storage layouts, the transfer engine, and the Git side of experiment sharing.
//!
//! The library neither prints nor exits. Binaries turn its errors into messages and its
//! progress callbacks into bars.

#![deny(missing_docs)]

pub mod manifest;
pub mod object;
pub mod link;
pub mod progress;
pub mod cache;
pub mod storage;
pub mod transfer;
pub mod checkout;

mod atomic_write;

#[cfg(test)]
mod test_support;
