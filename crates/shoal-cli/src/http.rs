//! A plain-HTTP GET for loopback servers only: how `demo` and `sandbox` play the user's browser
//! against an emulator's auto-approving authorize page (follow the redirect to the callback).

use shoal::core::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::exit::{CliError, CliResult, Failure};

/// A response's status and `Location` header.
#[derive(Debug)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
}

fn failed(what: impl std::fmt::Display) -> CliError {
    CliError::new(Failure::Service, format!("browser step failed: {what}"))
}

/// Sends `GET url` over plain HTTP and reads the status line and headers.
pub async fn get(url: &Url) -> CliResult<Answer> {
    if url.scheme() != "http" {
        return Err(failed(format!(
            "{} is not a plain-HTTP URL",
            url.origin().ascii_serialization()
        )));
    }
    let host = url.host_str().ok_or_else(|| failed("URL without a host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut stream = TcpStream::connect((host, port)).await.map_err(failed)?;
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(failed)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.map_err(failed)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> CliResult<Answer> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| failed("no HTTP status line in the answer"))?;
    let location = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("location")
            .then(|| value.trim().to_string())
    });
    Ok(Answer { status, location })
}

/// Plays the browser: opens the authorize URL, follows its redirect to the loopback callback.
pub async fn follow_authorize(authorize: &Url) -> CliResult<()> {
    let answer = get(authorize).await?;
    let location = match (answer.status, answer.location) {
        (300..=399, Some(location)) => location,
        (status, _) => {
            return Err(failed(format!(
                "the authorize page answered {status}, not a redirect"
            )));
        }
    };
    let callback = authorize.join(&location).map_err(failed)?;
    let answer = get(&callback).await?;
    if !(200..300).contains(&answer.status) {
        return Err(failed(format!(
            "the loopback callback answered {}",
            answer.status
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_location() {
        let a =
            parse(b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/cb?code=x\r\n\r\n").unwrap();
        assert_eq!(a.status, 302);
        assert_eq!(a.location.as_deref(), Some("http://127.0.0.1:9/cb?code=x"));
        assert!(parse(b"garbage").is_err());
    }
}
