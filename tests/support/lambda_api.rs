//! A Lambda runtime API on 127.0.0.1 for one invocation, so a test can start the function's
//! executable exactly as Lambda's `provided.al2023` runtime does (`AWS_LAMBDA_RUNTIME_API`) and
//! read what it answers. It implements the documented calls
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>): `GET
//! /2018-06-01/runtime/invocation/next` hands out the event once (later calls wait, as Lambda's do
//! between invocations), `POST …/invocation/{id}/response` and `…/error` and `…/init/error` are
//! recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

/// What the function posted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `POST /2018-06-01/runtime/invocation/{id}/response`.
    Response(String),
    /// `POST /2018-06-01/runtime/invocation/{id}/error`.
    Error(String),
    /// `POST /2018-06-01/runtime/init/error`.
    InitError(String),
}

/// One invocation's runtime API.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    answers: mpsc::Receiver<Answer>,
}

/// The request id of the one invocation.
pub const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

impl RuntimeApi {
    /// Serves `event` to the first `next` call, as the function `function_arn`, with 15 minutes
    /// to go.
    pub fn start(event: String, function_arn: String) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = listener.local_addr().expect("bound").to_string();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            let mut served = false;
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                let first = !served;
                served = true;
                let (event, arn) = (event.clone(), function_arn.clone());
                std::thread::spawn(move || connection(stream, first, &event, &arn, &tx));
            }
        });
        RuntimeApi { address, answers }
    }

    /// The function's first answer, waiting at most `timeout`.
    pub fn answer(&self, timeout: Duration) -> Option<Answer> {
        self.answers.recv_timeout(timeout).ok()
    }
}

/// One keep-alive connection: requests until the client closes it.
fn connection(
    stream: TcpStream,
    mut hand_out: bool,
    event: &str,
    arn: &str,
    tx: &mpsc::Sender<Answer>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("socket clones"));
    let mut writer = stream;
    while let Some((method, path, body)) = request(&mut reader) {
        if method == "GET" && path.ends_with("/runtime/invocation/next") {
            if !hand_out {
                // No second invocation: hold the call, as Lambda does with an idle container.
                std::thread::sleep(Duration::from_secs(3600));
                return;
            }
            hand_out = false;
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_millis()
                + 900_000;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: {arn}\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\r\n",
                event.len()
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(event.as_bytes());
            continue;
        }
        let answer = if path.ends_with("/response") {
            Answer::Response(body)
        } else if path.ends_with("/init/error") {
            Answer::InitError(body)
        } else {
            Answer::Error(body)
        };
        let _ = tx.send(answer);
        let _ = writer.write_all(
            b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n",
        );
    }
}

/// `(method, path, body)` of the next request, `None` once the connection closes. Bodies come
/// with a `Content-Length` or chunked.
fn request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}
