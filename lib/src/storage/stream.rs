//! Blocking readers over the async byte streams of network backends.

use std::io::{self, Read};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use tokio::runtime::Handle;

/// A [`Read`] over a stream of byte chunks, pulled on the runtime one chunk at a time.
///
/// A chunk that takes longer than the inactivity timeout to arrive fails the read with
/// [`io::ErrorKind::TimedOut`], however long the whole transfer has been running.
pub(crate) struct BlockingStream {
    handle: Handle,
    stream: BoxStream<'static, io::Result<Bytes>>,
    current: Bytes,
    inactivity: Duration,
    finished: bool,
}

impl BlockingStream {
    /// Wraps `stream`, whose errors must already be free of secrets.
    pub(crate) fn new(
        handle: Handle,
        stream: BoxStream<'static, io::Result<Bytes>>,
        inactivity: Duration,
    ) -> BlockingStream {
        BlockingStream {
            handle,
            stream,
            current: Bytes::new(),
            inactivity,
            finished: false,
        }
    }
}

impl Read for BlockingStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            let inactivity = self.inactivity;
            let stream = &mut self.stream;
            let next = self
                .handle
                .block_on(async { tokio::time::timeout(inactivity, stream.next()).await });
            match next {
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no data received for {} s", inactivity.as_secs_f64()),
                    ))
                }
                Ok(None) => self.finished = true,
                Ok(Some(Err(error))) => return Err(error),
                Ok(Some(Ok(chunk))) => self.current = chunk,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Chooses the I/O error kind for a failed network read, so that the transfer engine
/// retries dropped connections and timeouts but not other failures.
pub(crate) fn read_error_kind(timed_out: bool, connection_lost: bool) -> io::ErrorKind {
    if timed_out {
        io::ErrorKind::TimedOut
    } else if connection_lost {
        io::ErrorKind::ConnectionAborted
    } else {
        io::ErrorKind::Other
    }
}
