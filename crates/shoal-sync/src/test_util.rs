//! [`PostgresServer`] (feature `test-util`): a throwaway Postgres cluster — `initdb` and
//! `pg_ctl` in a temporary directory, on a free loopback port — for tests and benchmarks.
//!
//! Tests never skip because Postgres is missing: [`PostgresServer::start`] panics with the
//! install command (`apt-get install postgresql`). `initdb` refuses to run as root, so when the
//! process is root (CI) the cluster runs as the `postgres` system user (`runuser`), its
//! directory handed to that user.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// How to get Postgres when it is missing.
pub const INSTALL_HINT: &str = "Postgres is required by the shoal-sync tests: install Debian's \
     package (`apt-get install postgresql`, which `cargo xtask ci` does) so that \
     /usr/lib/postgresql/*/bin/initdb or `initdb` on the PATH exists";

/// A Postgres cluster on `127.0.0.1` with trust authentication for user `postgres`, fsync off.
/// Stopped (immediately) and removed on drop.
///
/// ```no_run
/// use shoal_sync::test_util::PostgresServer;
///
/// let server = PostgresServer::start();
/// let url = server.create_database("sync_test"); // postgres://postgres@127.0.0.1:PORT/sync_test
/// # drop(url);
/// ```
#[derive(Debug)]
pub struct PostgresServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

static NEXT_DB: AtomicU64 = AtomicU64::new(0);

impl PostgresServer {
    /// Starts a cluster and waits until it accepts connections.
    ///
    /// # Panics
    /// When Postgres is not installed (the message says how to install it) or does not start.
    pub fn start() -> Self {
        match Self::try_start() {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    /// Starts a cluster, or says why it could not.
    pub fn try_start() -> io::Result<Self> {
        Self::try_start_with(&[])
    }

    /// Starts a cluster with extra server settings (`("shared_buffers", "1GB")`), or says why
    /// it could not.
    pub fn try_start_with(settings: &[(&str, &str)]) -> io::Result<Self> {
        let bin = find_bin()?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("shoal-pg-").tempdir()?;
        if as_postgres {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        let mut init = command(&bin, "initdb", as_postgres);
        init.arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale", "C"]);
        run(&mut init)?;
        let mut last = None;
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..5 {
            let port = free_port()?;
            match pg_ctl_start(&bin, dir.path(), port, as_postgres, settings) {
                Ok(()) => {
                    return Ok(Self {
                        bin,
                        dir,
                        port,
                        as_postgres,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("postgres did not start")))
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A client program of this installation, pointed at this server as `postgres`.
    fn client(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string());
        cmd
    }

    /// Creates a database named `prefix` plus a process-unique number and returns its URL.
    ///
    /// # Panics
    /// When `createdb` fails.
    pub fn create_database(&self, prefix: &str) -> String {
        let name = format!("{prefix}_{}", NEXT_DB.fetch_add(1, Ordering::Relaxed));
        let mut create = self.client("createdb");
        create.arg(&name);
        if let Err(e) = run(&mut create) {
            panic!("createdb {name}: {e}");
        }
        self.url_of(&name)
    }

    /// Runs SQL through `psql` on database `db` and returns its unaligned output.
    ///
    /// # Panics
    /// When `psql` fails.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = self
            .client("psql")
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => panic!("psql failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => panic!("psql: {e}"),
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let mut stop = command(&self.bin, "pg_ctl", self.as_postgres);
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = run(&mut stop);
    }
}

fn pg_ctl_start(
    bin: &Path,
    dir: &Path,
    port: u16,
    as_postgres: bool,
    settings: &[(&str, &str)],
) -> io::Result<()> {
    let mut opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -F -c max_connections=200",
        dir.display()
    );
    for (name, value) in settings {
        opts.push_str(&format!(" -c {name}={value}"));
    }
    let log = dir.join("server.log");
    let mut ctl = command(bin, "pg_ctl", as_postgres);
    ctl.arg("-D")
        .arg(dir.join("data"))
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "30", "-o", &opts, "start"]);
    run(&mut ctl).map_err(|e| {
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        io::Error::other(format!("{e}\n{log}"))
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Debian's newest `/usr/lib/postgresql/N/bin`, else the directory of `initdb` on the PATH.
fn find_bin() -> io::Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .find(|d| d.join("initdb").exists() && d.join("pg_ctl").exists())
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, INSTALL_HINT))
}

fn command(bin: &Path, program: &str, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("{cmd:?}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
