//! Helpers: the built binary, a sandbox child process killed on every path, its env file, and a
//! plain HTTP/1.1 client for requests written the way the vendor docs write them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The built `shoal` binary with an empty environment (PATH only).
pub fn shoal() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shoal"));
    c.env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        c.env("PATH", path);
    }
    c
}

/// Polls `ready` every 2 ms for up to `secs` seconds; false when it never became true.
pub fn poll_for(secs: u64, mut ready: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 500 {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// [`poll_for`] with the 30 s that starting a process may take on a loaded machine.
pub fn poll(ready: impl FnMut() -> bool) -> bool {
    poll_for(30, ready)
}

/// A child process killed and reaped when dropped, whatever the test's outcome.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (polling, 30 s at most) for the child to exit; its exit code.
pub fn wait_exit(guard: &mut Guard) -> i32 {
    let mut code = None;
    assert!(
        poll(|| {
            code = guard.0.try_wait().unwrap().map(|s| s.code().unwrap_or(-1));
            code.is_some()
        }),
        "the child did not exit within 30 s"
    );
    code.unwrap()
}

/// Runs a `login --no-browser` command and plays the browser for the authorize URL it prints
/// on stderr, once `check_url` has looked at it; the command's exit code.
pub fn login_no_browser(mut command: Command, check_url: impl FnOnce(&str)) -> i32 {
    let mut child = Guard(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let urls = read_url_line(child.0.stderr.take().unwrap());
    let url = urls
        .recv_timeout(Duration::from_secs(30))
        .expect("an authorize URL on stderr");
    check_url(&url);
    let callback = follow_authorize(&url);
    assert_eq!(callback.status, 200, "{}", callback.body);
    wait_exit(&mut child)
}

/// `shoal sandbox --env-file` running as a child process, with its variables parsed.
pub struct Sandbox {
    /// The variables the sandbox wrote.
    pub env: Vec<(String, String)>,
    /// The env file.
    pub env_file: PathBuf,
    /// A scratch directory (holds the env file and token files).
    pub dir: tempfile::TempDir,
    _child: Guard,
}

impl Sandbox {
    /// Starts a sandbox whose largest audience holds `records` records; returns once its env file
    /// exists.
    pub fn start(records: u64) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let env_file = dir.path().join("sandbox.env");
        let log = std::fs::File::create(dir.path().join("sandbox.log")).unwrap();
        let mut child = Guard(
            shoal()
                .args(["sandbox", "--records", &records.to_string(), "--env-file"])
                .arg(&env_file)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let ready = poll(|| env_file.exists() || child.0.try_wait().unwrap().is_some());
        let log = std::fs::read_to_string(dir.path().join("sandbox.log")).unwrap_or_default();
        assert!(
            ready && env_file.exists(),
            "the sandbox did not write its env file: {log}"
        );
        let env = parse_env(&std::fs::read_to_string(&env_file).unwrap());
        Sandbox {
            env,
            env_file,
            dir,
            _child: child,
        }
    }

    /// A variable the sandbox wrote.
    pub fn var(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{name} is not in the env file"))
    }

    /// `shoal` with exactly the sandbox's variables.
    pub fn shoal(&self) -> Command {
        let mut c = shoal();
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Runs `shoal ARGS` with the sandbox's variables.
    pub fn run(&self, args: &[&str]) -> Output {
        self.shoal().args(args).output().unwrap()
    }

    /// A copy of the sandbox's Pearl Diver token file, for tests that rotate or break tokens.
    pub fn token_copy(&self, name: &str) -> PathBuf {
        let copy = self.dir.path().join(name);
        std::fs::copy(self.var("SHOAL_PEARLDIVER_TOKEN_FILE"), &copy).unwrap();
        copy
    }
}

/// `NAME='value'` lines (POSIX single quoting) into pairs; comments skipped.
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap();
            (k.to_string(), v.replace(r"'\''", "'"))
        })
        .collect()
}

/// One plain HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// Sends one HTTP/1.1 request to a `http://127.0.0.1:…` URL, as curl would.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let rest = url.strip_prefix("http://").expect("plain http");
    let (authority, target) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let target = if target.is_empty() { "/" } else { target };
    let mut stream = TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&raw[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 2 + size + 2..];
    }
}

/// Percent-encodes a form or query value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `name` in a URL's query.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Plays the browser for a printed authorize URL: the emulator answers with a redirect to the
/// loopback callback, which is then opened.
pub fn follow_authorize(url: &str) -> Answer {
    let answer = http("GET", url, &[], "");
    assert!(
        (300..400).contains(&answer.status),
        "authorize answered {}: {}",
        answer.status,
        answer.body
    );
    let location = answer.header("location").unwrap().to_string();
    http("GET", &location, &[], "")
}

/// Reads a child's stderr line by line on a thread until one starts with `http`; the URL.
pub fn read_url_line(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("http") {
                let _ = tx.send(line);
            }
        }
    });
    rx
}

/// The file's Unix permission bits.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// The JSON on the stdout of a run that must have succeeded.
pub fn success_json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}
