//! One small newtype per kind of secret, over `secrecy`: `Debug` says `Kind([redacted])`, there is
//! no `Display` and no `PartialEq`, and the value comes out only through [`ExposeSecret`].

use std::fmt;

pub use secrecy::ExposeSecret;
use secrecy::SecretString;

macro_rules! secret_kind {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret value (the plain `String` is moved in, not copied).
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::from(value.into()))
            }
        }

        impl ExposeSecret<str> for $name {
            fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_kind!(
    /// An OAuth client secret.
    ClientSecret
);
secret_kind!(
    /// An OAuth access token (sent as `Authorization: Bearer …`).
    AccessToken
);
secret_kind!(
    /// An OAuth refresh token.
    RefreshToken
);
secret_kind!(
    /// An OAuth authorization code from the redirect.
    AuthorizationCode
);
secret_kind!(
    /// A PKCE code verifier (RFC 7636).
    PkceVerifier
);
secret_kind!(
    /// The single-use `state` value of an authorization request (CSRF protection).
    CsrfState
);
secret_kind!(
    /// An API key (Paya's `user-api-key`).
    ApiKey
);
secret_kind!(
    /// A password for a session login.
    Password
);
secret_kind!(
    /// A session token (Paya's `access-token`).
    SessionToken
);

/// Compares two secrets without stopping at the first difference, so timing says nothing about
/// how much of a guess was right.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = ClientSecret::new("CANARY-1");
        assert_eq!(format!("{s:?}"), "ClientSecret([redacted])");
        assert_eq!(
            format!("{:?}", RefreshToken::from("CANARY-2")),
            "RefreshToken([redacted])"
        );
        assert_eq!(s.expose_secret(), "CANARY-1");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
