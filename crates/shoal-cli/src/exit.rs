//! Errors as one clear line, and the exit codes the README documents.

use std::fmt;
use std::process::ExitCode;

use shoal::core::{AuthErrorKind, Error, ErrorKind, OAuthErrorCode};

/// What kind of failure ended the command; each has its own exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Something unexpected (exit 1).
    Internal,
    /// Bad flags, arguments or input (exit 2).
    Usage,
    /// Credentials refused or missing; log in again (exit 3).
    Auth,
    /// The thing asked for does not exist (exit 4).
    NotFound,
    /// The service failed, limited us or could not be reached (exit 5).
    Service,
    /// A local file could not be read or written (exit 6).
    Io,
}

impl Failure {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Failure::Internal => 1,
            Failure::Usage => 2,
            Failure::Auth => 3,
            Failure::NotFound => 4,
            Failure::Service => 5,
            Failure::Io => 6,
        }
    }
}

/// A command's failure: what failed and what to do next.
#[derive(Debug)]
pub struct CliError {
    /// The kind (exit code).
    pub kind: Failure,
    /// What failed.
    pub message: String,
    /// What to do next.
    pub hint: Option<String>,
    /// The grant is gone: the only way on is a new login (see [`CliError::for_vendor`]).
    pub relogin: bool,
    /// The command already printed its result (`--json` included); only the exit code and the
    /// one stderr line are left.
    pub reported: bool,
}

impl CliError {
    /// A failure with a message.
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            relogin: false,
            reported: false,
        }
    }

    /// Names the vendor's login command in the hint when a new login is what is needed — one
    /// message everywhere, whichever command found out.
    pub fn for_vendor(mut self, vendor: &str) -> Self {
        if self.relogin {
            self.hint = Some(format!(
                "the grant is gone: run `shoal {vendor} login`, then the command again"
            ));
        }
        self
    }
    /// Bad input.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Failure::Usage, message)
    }
    /// A local file problem.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(Failure::Io, format!("{what}: {err}"))
    }
    /// Adds what to do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever a server put in the message (newlines, terminal escapes).
        let message = shoal::core::OneLine(&self.message);
        match &self.hint {
            Some(hint) => write!(f, "{message} — {}", shoal::core::OneLine(hint)),
            None => write!(f, "{message}"),
        }
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        let relogin = matches!(
            err.auth_error().map(|a| &a.kind),
            Some(AuthErrorKind::ReauthenticationRequired)
                | Some(AuthErrorKind::OAuth(OAuthErrorCode::InvalidGrant))
        );
        let mut cli = match err.kind() {
            ErrorKind::InvalidInput | ErrorKind::Config => CliError::usage(message),
            ErrorKind::Auth => {
                let hint = match err.auth_error().map(|a| &a.kind) {
                    Some(AuthErrorKind::OAuth(OAuthErrorCode::InvalidClient)) => {
                        "check the client id and client secret"
                    }
                    Some(AuthErrorKind::OAuth(_)) => "check the client id, secret and endpoints",
                    Some(AuthErrorKind::TokenStore) => "check the token file's path and permissions",
                    _ => "check the credentials",
                };
                CliError::new(Failure::Auth, message).hint(hint)
            }
            ErrorKind::Unauthorized | ErrorKind::Forbidden => {
                CliError::new(Failure::Auth, message).hint("check the credentials, or log in again")
            }
            ErrorKind::NotFound | ErrorKind::Gone => CliError::new(Failure::NotFound, message),
            ErrorKind::RateLimited => CliError::new(Failure::Service, message)
                .hint("wait for the limit window to pass, then retry"),
            ErrorKind::MaybeProcessed => CliError::new(Failure::Service, message),
            ErrorKind::Transport | ErrorKind::Timeout => CliError::new(Failure::Service, message)
                .hint("check the URL and your connection, then retry (--timeout sets how long a call may take)"),
            ErrorKind::BadRequest | ErrorKind::Validation | ErrorKind::MethodNotAllowed => {
                CliError::usage(message)
            }
            _ => CliError::new(Failure::Service, message),
        };
        cli.relogin = relogin;
        cli
    }
}

impl From<shoal_sync::SyncError> for CliError {
    fn from(err: shoal_sync::SyncError) -> Self {
        use shoal_sync::SyncError as S;
        match err {
            S::Api(api) => CliError::from(api),
            S::InvalidDbUrl { .. } | S::InvalidInput(_) | S::InvalidState { .. } => {
                CliError::usage(err.to_string())
            }
            S::UnknownAudience(_) => CliError::new(Failure::NotFound, err.to_string()),
            S::ReadOnly { .. } | S::Io { .. } => CliError::new(Failure::Io, err.to_string()),
            S::SchemaTooNew { .. } | S::Corrupt { .. } | S::BackendNotCompiled { .. } => {
                CliError::usage(err.to_string())
            }
            // Connect, Database, Superseded and whatever comes next: the destination failed.
            _ => CliError::new(Failure::Service, err.to_string()).hint(
                "check --db and that the database is up; a rerun continues where this one stopped",
            ),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::new(Failure::Io, err.to_string())
    }
}

/// A command's result.
pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_map_to_distinct_exit_codes() {
        assert_eq!(
            CliError::from(Error::invalid("days", "must be 1..=90"))
                .kind
                .code(),
            2
        );
        assert_eq!(
            CliError::from(Error::auth(AuthErrorKind::ReauthenticationRequired, "x"))
                .kind
                .code(),
            3
        );
        let io = CliError::from(std::io::Error::other("disk full"));
        assert_eq!(io.kind.code(), 6);
        assert_eq!(Failure::NotFound.code(), 4);
        assert_eq!(Failure::Service.code(), 5);
    }

    #[test]
    fn a_lost_grant_says_the_same_everywhere() {
        for err in [
            Error::auth(
                AuthErrorKind::ReauthenticationRequired,
                "refresh token refused",
            ),
            Error::auth(AuthErrorKind::OAuth(OAuthErrorCode::InvalidGrant), "reused"),
        ] {
            let cli = CliError::from(err).for_vendor("pearldiver");
            assert_eq!(cli.kind.code(), 3);
            assert_eq!(
                cli.hint.as_deref(),
                Some("the grant is gone: run `shoal pearldiver login`, then the command again")
            );
        }
        let other =
            CliError::from(Error::auth(AuthErrorKind::TokenStore, "x")).for_vendor("pebblepad");
        assert!(!other.to_string().contains("login"), "{other}");
    }

    #[test]
    fn display_is_one_line_with_a_hint() {
        let e = CliError::usage("bad\nthing").hint("fix it");
        assert_eq!(e.to_string(), "bad thing — fix it");
    }
}
