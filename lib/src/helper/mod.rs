//! The remote helper behind `exp::<url>` remotes: git talks to it over stdin and stdout,
//! it runs the user's git against the inner URL and moves experiment data around that.

pub mod protocol;
pub mod session;
