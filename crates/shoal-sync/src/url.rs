//! [`DbUrl`]: where a sync writes — `sqlite:PATH` or `postgres://…` — printed without its
//! password everywhere (`Display`, `Debug`, errors).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::SyncError;

/// The file name of the default SQLite database, under the user's data directory.
pub const DEFAULT_DB_FILE: &str = "pearldiver.db";

/// A destination database.
///
/// ```
/// use shoal_sync::DbUrl;
///
/// let pg: DbUrl = "postgres://sync:hunter2@db.internal:5432/crm".parse()?;
/// assert_eq!(pg.to_string(), "postgres://sync:***@db.internal:5432/crm");
/// assert!(!format!("{pg:?}").contains("hunter2"));
///
/// let file: DbUrl = "sqlite:/var/lib/shoal/pd.db".parse()?;
/// assert_eq!(file.sqlite_path().unwrap().to_str(), Some("/var/lib/shoal/pd.db"));
/// # Ok::<_, shoal_sync::SyncError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    /// The file, and whether its directory may be created (the default location only).
    Sqlite(PathBuf, bool),
    Postgres {
        /// The URL as given (it may hold a password: never printed).
        full: String,
        /// The URL with its password replaced by `***`.
        redacted: String,
        /// The password, to scrub from driver messages.
        password: Option<String>,
    },
}

impl DbUrl {
    /// A SQLite database file.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self(Kind::Sqlite(path.into(), false))
    }

    /// The embedded default: `pearldiver.db` under the user's data directory
    /// (`~/.local/share/shoal/` on Linux), or `None` when the platform has none.
    pub fn default_sqlite() -> Option<Self> {
        dirs::data_dir().map(|d| Self(Kind::Sqlite(d.join("shoal").join(DEFAULT_DB_FILE), true)))
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.0 {
            Kind::Sqlite(p, _) => Some(p),
            Kind::Postgres { .. } => None,
        }
    }

    /// Whether the SQLite file's directory is created when missing (only for
    /// [`default_sqlite`](Self::default_sqlite): a path the user typed must exist).
    pub fn create_parent(&self) -> bool {
        matches!(self.0, Kind::Sqlite(_, true))
    }

    /// Whether this is a Postgres URL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.0, Kind::Postgres { .. })
    }

    /// The full Postgres URL, password included (for the driver only).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn postgres_url(&self) -> Option<&str> {
        match &self.0 {
            Kind::Postgres { full, .. } => Some(full),
            Kind::Sqlite(..) => None,
        }
    }

    /// `text` with this URL's password (if any) replaced by `***`.
    pub fn redact_text(&self, text: &str) -> String {
        match &self.0 {
            Kind::Postgres {
                password: Some(p), ..
            } if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text.to_owned(),
        }
    }
}

impl FromStr for DbUrl {
    type Err = SyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(SyncError::InvalidDbUrl {
                    url: s.into(),
                    reason: "`sqlite:` needs a file path, e.g. sqlite:./pearldiver.db".into(),
                });
            }
            return Ok(Self::sqlite(path));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let parsed = url::Url::parse(s).map_err(|e| SyncError::InvalidDbUrl {
                url: scrub_unparsed(s),
                reason: e.to_string(),
            })?;
            let mut redacted = parsed.clone();
            let mut password = parsed
                .password()
                .map(|p| percent_decode(p).unwrap_or_else(|| p.to_owned()));
            if parsed.password().is_some() {
                let _ = redacted.set_password(Some("***"));
            }
            let pairs: Vec<(String, String)> = parsed
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if pairs.iter().any(|(k, _)| k == "password") {
                let mut q = redacted.query_pairs_mut();
                q.clear();
                for (k, v) in &pairs {
                    if k == "password" {
                        password = Some(v.clone());
                        q.append_pair(k, "***");
                    } else {
                        q.append_pair(k, v);
                    }
                }
            }
            return Ok(Self(Kind::Postgres {
                full: s.to_owned(),
                redacted: redacted.to_string(),
                password,
            }));
        }
        Err(SyncError::InvalidDbUrl {
            url: scrub_unparsed(s),
            reason: "expected sqlite:PATH or postgres://USER@HOST/DATABASE".into(),
        })
    }
}

/// A value that did not parse as a URL, with anything between `://` and `@` hidden.
fn scrub_unparsed(s: &str) -> String {
    match (s.find("://"), s.rfind('@')) {
        (Some(start), Some(at)) if at > start + 3 => format!("{}***{}", &s[..start + 3], &s[at..]),
        _ => s.to_owned(),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Sqlite(p, _) => write!(f, "sqlite:{}", p.display()),
            Kind::Postgres { redacted, .. } => f.write_str(redacted),
        }
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn passwords_never_print() {
        for url in [
            "postgres://u:s3cr%2Ft@h/db",
            "postgresql://u:s3cr%2Ft@h:5433/db?sslmode=disable",
            "postgres://u@h/db?password=s3cr%2Ft",
        ] {
            let parsed: DbUrl = url.parse().unwrap();
            for shown in [parsed.to_string(), format!("{parsed:?}")] {
                assert!(!shown.contains("s3cr"), "{shown}");
                assert!(shown.contains("***"), "{shown}");
            }
            assert_eq!(
                parsed.redact_text("bad password s3cr/t"),
                "bad password ***"
            );
        }
    }

    #[test]
    fn sqlite_forms_and_refusals() {
        let a: DbUrl = "sqlite:rel/x.db".parse().unwrap();
        assert_eq!(a.sqlite_path(), Some(Path::new("rel/x.db")));
        let b: DbUrl = "sqlite:///abs/x.db".parse().unwrap();
        assert_eq!(b.sqlite_path(), Some(Path::new("/abs/x.db")));
        assert!("sqlite:".parse::<DbUrl>().is_err());
        let err = "mysql://root:pw@h/db".parse::<DbUrl>().unwrap_err();
        assert!(err.to_string().contains("expected sqlite:PATH"), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
        let p = DbUrl::default_sqlite();
        if let Some(p) = p {
            assert!(p.to_string().ends_with("shoal/pearldiver.db"), "{p}");
        }
    }

    proptest! {
        #[test]
        fn any_password_is_redacted(pw in "\\PC{1,24}") {
            let enc: String = pw
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect();
            let raw = format!("postgres://user:{enc}@127.0.0.1:5432/db");
            if let Ok(parsed) = raw.parse::<DbUrl>() {
                let shown = format!("{parsed} {parsed:?}");
                // Short passwords can occur in the rest of the URL by chance.
                if pw.chars().count() >= 4 && !"postgres://user:***@127.0.0.1:5432/db".contains(&pw) {
                    prop_assert!(!shown.contains(&pw), "{}", shown);
                }
                prop_assert_eq!(parsed.redact_text(&pw), "***");
            }
        }
    }
}
