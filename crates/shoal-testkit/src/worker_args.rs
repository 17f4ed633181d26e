//! [`FlagArgs`]: the `--flag value` arguments of the worker binaries that multi-process tests
//! spawn (`fleet-worker`, `sync-worker`).

use std::collections::HashMap;
use std::time::Duration;

/// An error reading a worker's arguments.
pub type ArgError = Box<dyn std::error::Error + Send + Sync>;

/// `--name value` pairs, each flag taking exactly one value.
#[derive(Clone, Debug, Default)]
pub struct FlagArgs(HashMap<String, String>);

impl FlagArgs {
    /// The process's arguments.
    pub fn from_env() -> Result<Self, ArgError> {
        Self::parse(std::env::args().skip(1))
    }

    /// Reads `--name value` pairs; a word that is not a flag, or a flag without a value, is an
    /// error.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgError> {
        let mut map = HashMap::new();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --flag, got {flag}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_string(), value);
        }
        Ok(Self(map))
    }

    /// A flag that may be absent.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A flag that must be present.
    pub fn get(&self, name: &str) -> Result<&str, ArgError> {
        self.opt(name)
            .ok_or_else(|| format!("missing --{name}").into())
    }

    /// A number, or `default` when absent.
    pub fn num(&self, name: &str, default: u64) -> Result<u64, ArgError> {
        match self.opt(name) {
            Some(v) => Ok(v.parse()?),
            None => Ok(default),
        }
    }

    /// Milliseconds, or `default` ms when absent.
    pub fn ms(&self, name: &str, default: u64) -> Result<Duration, ArgError> {
        Ok(Duration::from_millis(self.num(name, default)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_take_one_value_and_errors_name_the_flag() {
        let a = FlagArgs::parse(words("--db x --tasks 4")).unwrap();
        assert_eq!(a.get("db").unwrap(), "x");
        assert_eq!(a.num("tasks", 1).unwrap(), 4);
        assert_eq!(a.ms("pause-ms", 20).unwrap(), Duration::from_millis(20));
        assert_eq!(a.opt("lock"), None);
        assert!(a.get("lock").unwrap_err().to_string().contains("--lock"));
        let e = FlagArgs::parse(words("db x")).unwrap_err();
        assert!(e.to_string().contains("expected --flag"), "{e}");
        let e = FlagArgs::parse(words("--db")).unwrap_err();
        assert!(e.to_string().contains("--db needs a value"), "{e}");
        assert!(
            FlagArgs::parse(words("--n x"))
                .unwrap()
                .num("n", 0)
                .is_err()
        );
    }
}
