//! A market-data API of the Twelve Data shape, served on loopback by a test: each request line
//! gets the status and body the test's `answer` gives it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The request lines the API received, in order.
pub type RequestLog = Arc<Mutex<Vec<String>>>;

/// Serves `requests` requests on a free loopback port, in the background; returns the port
/// and the log of request lines.
pub fn serve(
    requests: usize,
    answer: impl Fn(&str) -> (&'static str, String) + Send + 'static,
) -> anyhow::Result<(u16, RequestLog)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let log = RequestLog::default();
    let log_in = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut buffer = [0u8; 8192];
            let read = stream.read(&mut buffer).unwrap_or(0);
            let request =
                String::from_utf8_lossy(&buffer[..read]).lines().next().unwrap_or_default().to_owned();
            if let Ok(mut log) = log_in.lock() {
                log.push(request.clone());
            }
            let (status, body) = answer(&request);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Ok((port, log))
}

/// The extractor's `[twelve_data]` section for the API on `port`, its key read from
/// `key_env`, with short backoffs.
pub fn config(port: u16, key_env: &str) -> String {
    format!(
        "[twelve_data]\nbase_url = \"http://127.0.0.1:{port}\"\napi_key_env = \"{key_env}\"\n\
         backoff_initial_ms = 50\nbackoff_max_ms = 200\nrequests_per_minute = 600\n"
    )
}
