//! [`RedisServer`] (feature `test-util`): a throwaway `redis-server` on a free loopback port.
//!
//! Tests never skip because Redis is missing: [`RedisServer::start`] panics with a message that
//! says how to install it (`cargo xtask ci` does, or `apt-get install redis-server`).

use std::io;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How to get `redis-server` when it is missing.
pub const INSTALL_HINT: &str = "redis-server is required by the shoal-redis tests: run `cargo xtask ci` \
     (it installs it) or `sudo apt-get install redis-server`, so that `redis-server` is on the PATH";

/// A `redis-server` child process bound to `127.0.0.1` on a free port, with a temporary working
/// directory and no persistence. Killed (and its directory removed) on drop.
///
/// ```no_run
/// use shoal_redis::RedisServer;
///
/// let server = RedisServer::start();
/// let client = redis::Client::open(server.url()).expect("url");
/// # drop(client);
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING`.
    ///
    /// # Panics
    /// When `redis-server` cannot be found or does not come up; the message says how to install
    /// it.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts a server and waits until it answers `PING`, or says why it could not.
    pub fn try_start() -> io::Result<Self> {
        let mut last = None;
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..5 {
            match Self::start_once() {
                Ok(server) => return Ok(server),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    fn start_once() -> io::Result<Self> {
        let port = free_port()?;
        let dir = tempfile::tempdir()?;
        let child = spawn("redis-server", port, dir.path())?;
        let mut server = Self {
            child,
            port,
            _dir: dir,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A client for this server.
    pub fn client(&self) -> redis::Client {
        match redis::Client::open(self.url()) {
            Ok(c) => c,
            Err(e) => panic!("a loopback redis URL is always valid: {e}"),
        }
    }

    fn wait_ready(&mut self) -> io::Result<()> {
        let client = redis::Client::open(self.url()).map_err(io::Error::other)?;
        // About 10 s in 25 ms steps, counted in attempts: no clock needed.
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "redis-server on port {} exited early ({status})",
                    self.port
                )));
            }
            if let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_millis(200)) {
                let pong: redis::RedisResult<String> = redis::cmd("PING").query(&mut conn);
                if pong.is_ok_and(|p| p == "PONG") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("redis-server on port {} did not answer PING", self.port),
        ))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

fn spawn(program: &str, port: u16, dir: &Path) -> io::Result<Child> {
    Command::new(program)
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT)
            } else {
                io::Error::new(e.kind(), format!("could not start redis-server: {e}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops_on_drop() {
        let server = RedisServer::start();
        let mut conn = server.client().get_connection().unwrap();
        let pong: String = redis::cmd("PING").query(&mut conn).unwrap();
        assert_eq!(pong, "PONG");
        let port = server.port();
        drop(server);
        let gone = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection_with_timeout(Duration::from_millis(200));
        assert!(gone.is_err(), "the server must be gone after drop");
    }

    #[test]
    fn a_missing_binary_says_how_to_install() {
        let dir = tempfile::tempdir().unwrap();
        let err = spawn("redis-server-that-does-not-exist", 1, dir.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("cargo xtask ci"), "{err}");
        assert!(
            err.to_string().contains("apt-get install redis-server"),
            "{err}"
        );
    }
}
