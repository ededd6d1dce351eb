//! A fault-injecting HTTP proxy on 127.0.0.1 for the storage tests.
//!
//! Each client connection carries one request, which the proxy forwards to the upstream
//! server on a new connection, and responds with `Connection: close`. The plan decides, by
//! request number and method, which requests fail:
//! - the first `failures` requests get a 503 or 500 response without reaching the server;
//! - the first upload with a body is cut off halfway: half the body reaches the server,
//!   then both connections are dropped;
//! - the response to the next upload is held back until `stall` has passed, then dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which faults to inject.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Requests that get a 503 (even numbers) or 500 (odd numbers) response before any other fault.
    pub failures: usize,
    /// Cut off the first upload halfway.
    pub drop_upload: bool,
    /// Hold back the response to the next upload this long, then drop it.
    pub stall: Option<Duration>,
}

/// A fault that happened, for the test's assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A request that got a response with this status.
    Status(u16),
    /// An upload cut off halfway.
    DroppedUpload,
    /// A response held back and dropped.
    Stalled,
}

/// A running proxy; it stops accepting when the test binary ends.
pub struct FaultProxy {
    /// The proxy's port on 127.0.0.1.
    pub port: u16,
    faults: Arc<Mutex<Vec<Fault>>>,
    requests: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts a proxy in front of 127.0.0.1:`upstream`.
    pub fn start(upstream: u16, plan: FaultPlan) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let faults = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(State {
            plan,
            upstream,
            faults: faults.clone(),
            requests: requests.clone(),
            dropped_upload: Mutex::new(false),
            stalled: Mutex::new(false),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || state.serve(stream));
            }
        });
        FaultProxy {
            port,
            faults,
            requests,
        }
    }

    /// Returns the faults injected so far, in order.
    pub fn faults(&self) -> Vec<Fault> {
        self.faults.lock().expect("faults").clone()
    }

    /// Returns the number of requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

struct State {
    plan: FaultPlan,
    upstream: u16,
    faults: Arc<Mutex<Vec<Fault>>>,
    requests: Arc<AtomicUsize>,
    dropped_upload: Mutex<bool>,
    stalled: Mutex<bool>,
}

impl State {
    fn record(&self, fault: Fault) {
        self.faults.lock().expect("faults").push(fault);
    }

    fn serve(&self, client: TcpStream) {
        let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
        let mut reader = BufReader::new(client.try_clone().expect("clone client stream"));

        // The request head, with `Connection` replaced so the upstream closes after its response.
        let mut head = Vec::new();
        let mut length = 0usize;
        let mut method = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if method.is_empty() {
                method = line
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if line == "\r\n" || line == "\n" {
                head.extend_from_slice(b"Connection: close\r\n\r\n");
                break;
            }
            if !lower.starts_with("connection:") {
                head.extend_from_slice(line.as_bytes());
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let number = self.requests.fetch_add(1, Ordering::SeqCst);
        let is_upload = matches!(method.as_str(), "PUT" | "POST") && length > 0;

        if number < self.plan.failures {
            let status = if number.is_multiple_of(2) { 503 } else { 500 };
            self.record(Fault::Status(status));
            let reason = if status == 503 {
                "Service Unavailable"
            } else {
                "Internal Server Error"
            };
            let mut client = client;
            let _ = write!(
                client,
                "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }

        let mut upstream = match TcpStream::connect(("127.0.0.1", self.upstream)) {
            Ok(stream) => stream,
            Err(_) => return,
        };
        if is_upload && self.plan.drop_upload && self.take(&self.dropped_upload) {
            self.record(Fault::DroppedUpload);
            let _ = upstream.write_all(&head);
            let _ = upstream.write_all(&body[..length / 2]);
            let _ = upstream.flush();
            std::thread::sleep(Duration::from_millis(100));
            let _ = upstream.shutdown(Shutdown::Both);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        if upstream.write_all(&head).is_err() || upstream.write_all(&body).is_err() {
            return;
        }
        let mut response = Vec::new();
        let _ = upstream.read_to_end(&mut response);

        if is_upload && self.plan.stall.is_some() && self.take(&self.stalled) {
            self.record(Fault::Stalled);
            std::thread::sleep(self.plan.stall.unwrap_or_default());
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let mut client = client;
        let _ = client.write_all(&with_connection_close(&response));
        let _ = client.shutdown(Shutdown::Write);
    }

    /// Returns true the first time, marking the fault as used.
    fn take(&self, used: &Mutex<bool>) -> bool {
        let mut used = used.lock().expect("fault flag");
        !std::mem::replace(&mut *used, true)
    }
}

/// Replaces any `Connection` header of a response with `Connection: close`.
fn with_connection_close(response: &[u8]) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[end + 4..]);
    bytes
}
