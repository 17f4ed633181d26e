//! What the test suite needs beyond Rust — `redis-server` for shoal-redis, PostgreSQL for
//! shoal-sync — found, or installed from Debian's packages before anything is built.

use std::path::{Path, PathBuf};
use std::process::Command;

/// One server the tests start themselves.
struct Need {
    /// The Debian package that provides it.
    package: &'static str,
    /// Which tests start it.
    for_tests: &'static str,
    /// Whether it is installed.
    present: fn() -> bool,
}

const NEEDS: &[Need] = &[
    Need {
        package: "redis-server",
        for_tests: "shoal-redis",
        present: || on_path("redis-server"),
    },
    Need {
        package: "postgresql",
        for_tests: "shoal-sync",
        present: || postgres_bin("initdb").is_some() && postgres_bin("pg_ctl").is_some(),
    },
    Need {
        package: "bsdutils",
        for_tests: "shoal-cli's progress bars (util-linux `script` gives them a terminal)",
        present: || on_path("script"),
    },
];

/// Whether `name` is an executable on the `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| is_file(&dir.join(name))))
}

fn is_file(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file())
}

/// A PostgreSQL server program: on the `PATH`, or in Debian's versioned directory
/// (`/usr/lib/postgresql/<version>/bin`, which is not on the `PATH`), newest version first.
pub fn postgres_bin(name: &str) -> Option<PathBuf> {
    if on_path(name) {
        return Some(PathBuf::from(name));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .filter(|p| is_file(p))
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn can_sudo() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure every server the tests start is installed: installs what is missing with
/// `apt-get` (as root, or through password-less sudo), or says in one line what to run.
pub fn ensure() -> Result<(), String> {
    let missing: Vec<&Need> = NEEDS.iter().filter(|n| !(n.present)()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|n| n.package).collect();
    let command = format!(
        "sudo apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    let what = missing
        .iter()
        .map(|n| format!("{} (for the {} tests)", n.package, n.for_tests))
        .collect::<Vec<_>>()
        .join(" and ");
    let sudo = if is_root() {
        None
    } else if can_sudo() {
        Some("sudo")
    } else {
        return Err(format!(
            "the tests need {what}, and installing it needs root: run `{command}`, then `cargo xtask ci` again"
        ));
    };
    if !on_path("apt-get") {
        return Err(format!(
            "the tests need {what}; this machine has no apt-get: install {} with your package manager, then run `cargo xtask ci` again",
            packages.join(" and ")
        ));
    }
    eprintln!("==> installing {what}");
    let apt = |args: &[&str]| {
        let mut cmd = match sudo {
            Some(sudo) => {
                let mut c = Command::new(sudo);
                c.arg("apt-get");
                c
            }
            None => Command::new("apt-get"),
        };
        // dpkg's progress goes nowhere; its errors still reach stderr.
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(std::process::Stdio::null());
        cmd.status().is_ok_and(|s| s.success())
    };
    let installed = apt(&["update", "-qq"])
        && apt(&[
            &["install", "-y", "-qq", "--no-install-recommends"][..],
            &packages[..],
        ]
        .concat());
    let still: Vec<&str> = missing
        .iter()
        .filter(|n| !(n.present)())
        .map(|n| n.package)
        .collect();
    if !installed || !still.is_empty() {
        return Err(format!(
            "installing {} failed: run `{command}` yourself, then `cargo xtask ci` again",
            packages.join(" and ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_path_finds_a_shell_and_not_nonsense() {
        assert!(on_path("sh"));
        assert!(!on_path("shoal-no-such-program-xyz"));
    }
}
