//! Errors as one clear line, and the exit codes the README documents.

use std::fmt;
use std::process::ExitCode;

use shoal::core::{AuthErrorKind, Error};

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
}

impl CliError {
    /// A failure with a message.
    pub fn new(kind: Failure, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
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
        let message = self.message.replace('\n', " ");
        match &self.hint {
            Some(hint) => write!(f, "{message} — {hint}"),
            None => f.write_str(&message),
        }
    }
}

impl From<Error> for CliError {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        let status = err.status().map(|s| s.as_u16());
        match &err {
            Error::InvalidInput { .. } | Error::Config(_) => CliError::usage(message),
            Error::Auth(a) => {
                let hint = match a.kind {
                    AuthErrorKind::ReauthenticationRequired => {
                        "run the vendor's `login` command again"
                    }
                    AuthErrorKind::OAuth(_) => "check the client id, client secret and endpoints",
                    AuthErrorKind::TokenStore => "check the token file's path and permissions",
                    _ => "check the credentials",
                };
                CliError::new(Failure::Auth, message).hint(hint)
            }
            _ if matches!(status, Some(401 | 403)) => {
                CliError::new(Failure::Auth, message).hint("check the credentials, or log in again")
            }
            _ if status == Some(404) => CliError::new(Failure::NotFound, message),
            Error::RateLimited { .. } => CliError::new(Failure::Service, message)
                .hint("wait for the limit window to pass, then retry"),
            Error::MaybeProcessed { .. } => CliError::new(Failure::Service, message),
            Error::Transport { .. } | Error::Timeout { .. } => {
                CliError::new(Failure::Service, message)
                    .hint("check the URL and your connection, then retry")
            }
            _ if status.is_some_and(|s| (400..500).contains(&s)) => CliError::usage(message),
            _ => CliError::new(Failure::Service, message),
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
    fn display_is_one_line_with_a_hint() {
        let e = CliError::usage("bad\nthing").hint("fix it");
        assert_eq!(e.to_string(), "bad thing — fix it");
    }
}
