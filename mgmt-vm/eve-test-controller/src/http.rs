//! Just enough HTTP/1.1 for the test controller, over any stream (plain or
//! TLS): one request a connection, its head parsed with `httparse`, its
//! body read by `Content-Length`; one answer, then the connection closes.

use std::fmt;
use std::io::{self, Read, Write};

use crate::handlers::Answer;

/// Most bytes of a request head.
const MAX_HEAD_BYTES: usize = 16 << 10;
/// Most bytes of a request body.
const MAX_BODY_BYTES: usize = 16 << 20;
/// Most headers in a request.
const MAX_HEADERS: usize = 32;
/// Bytes read at a time.
const READ_CHUNK: usize = 4096;
/// What ends a request head.
const HEAD_END: &[u8] = b"\r\n\r\n";

/// A request: method, path, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum HttpError {
    Io(io::Error),
    /// The head is not HTTP/1.x or is too long.
    BadHead(String),
    /// The body is larger than the controller takes.
    BodyTooLarge(usize),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(error) => write!(f, "connection failed: {error}"),
            Self::BadHead(error) => write!(f, "request head is not HTTP/1.1: {error}"),
            Self::BodyTooLarge(length) => {
                write!(f, "request body of {length} bytes is over {MAX_BODY_BYTES}")
            }
        }
    }
}

impl std::error::Error for HttpError {}

impl From<io::Error> for HttpError {
    fn from(error: io::Error) -> Self {
        Self::Io(error)
    }
}

/// Reads one request from `stream`.
pub fn read_request(stream: &mut impl Read) -> Result<Request, HttpError> {
    let mut buffer = Vec::new();
    let head_len = loop {
        if let Some(end) = buffer
            .windows(HEAD_END.len())
            .position(|window| window == HEAD_END)
        {
            break end + HEAD_END.len();
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(HttpError::BadHead(format!(
                "longer than {MAX_HEAD_BYTES} bytes"
            )));
        }
        let mut chunk = [0; READ_CHUNK];
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(HttpError::BadHead(
                "connection closed in the head".to_owned(),
            ));
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    parsed
        .parse(&buffer[..head_len])
        .map_err(|error| HttpError::BadHead(error.to_string()))?;
    let content_length = parsed
        .headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case("content-length"))
        .map(|header| {
            std::str::from_utf8(header.value)
                .ok()
                .and_then(|value| value.trim().parse::<usize>().ok())
                .ok_or_else(|| HttpError::BadHead("Content-Length is not a number".to_owned()))
        })
        .transpose()?
        .unwrap_or(0);
    if content_length > MAX_BODY_BYTES {
        return Err(HttpError::BodyTooLarge(content_length));
    }
    let method = parsed.method.unwrap_or_default().to_owned();
    let path = parsed.path.unwrap_or_default().to_owned();
    let mut body = buffer.split_off(head_len);
    if body.len() < content_length {
        let missing = content_length - body.len();
        stream.take(missing as u64).read_to_end(&mut body)?;
    }
    body.truncate(content_length);
    Ok(Request { method, path, body })
}

/// Writes `answer` to `stream`.
pub fn write_answer(stream: &mut impl Write, answer: &Answer) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {} \r\nContent-Type: application/x-proto-binary\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        answer.body.len()
    )?;
    stream.write_all(&answer.body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_with_body_is_read_whole() {
        let text =
            b"POST /api/v2/edgedevice/register HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
        let request = read_request(&mut text.as_slice()).expect("request");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/api/v2/edgedevice/register");
        assert_eq!(request.body, b"abc");
    }

    #[test]
    fn request_cut_in_its_head_is_refused() {
        let result = read_request(&mut b"GET / HTTP/1.1\r\nHost".as_slice());
        assert!(matches!(result, Err(HttpError::BadHead(_))), "{result:?}");
    }

    #[test]
    fn oversized_body_is_refused() {
        let text = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            MAX_BODY_BYTES + 1
        );
        let result = read_request(&mut text.as_bytes());
        assert!(
            matches!(result, Err(HttpError::BodyTooLarge(_))),
            "{result:?}"
        );
    }

    #[test]
    fn answer_carries_status_and_length() {
        let mut out = Vec::new();
        let answer = Answer {
            status: 304,
            body: Vec::new(),
        };
        write_answer(&mut out, &answer).expect("write");
        let text = String::from_utf8(out).expect("text");
        assert!(text.starts_with("HTTP/1.1 304 \r\n"), "{text}");
        assert!(text.contains("Content-Length: 0\r\n"), "{text}");
    }
}
