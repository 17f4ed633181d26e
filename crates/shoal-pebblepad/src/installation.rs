//! [`Installation`]: the PebblePad region an organisation lives on, and the OAuth2 and API base
//! URLs that derive from its host.

use std::fmt;
use std::str::FromStr;

use shoal_core::{Error, Result};
use url::Url;

/// The path of the OAuth2 endpoints under an installation's host.
const OAUTH_PATH: &str = "login/OAuth2/";
/// The path of the API under an installation's host.
const API_PATH: &str = "api/";

/// A PebblePad installation (region). Every URL the client uses derives from its host.
///
/// ```
/// use shoal_pebblepad::Installation;
/// let uk = Installation::UnitedKingdom;
/// assert_eq!(uk.api_base().as_str(), "https://v3.pebblepad.co.uk/api/");
/// assert_eq!(
///     uk.token_endpoint().as_str(),
///     "https://v3.pebblepad.co.uk/login/OAuth2/TokenEndpoint"
/// );
/// let emulator = Installation::custom("http://127.0.0.1:8080")?;
/// assert_eq!(emulator.oauth_base().as_str(), "http://127.0.0.1:8080/login/OAuth2/");
/// # Ok::<_, shoal_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Installation {
    /// `v3.pebblepad.co.uk`
    UnitedKingdom,
    /// `pebblepad.com`
    UnitedStates,
    /// `v3.pebblepad.com.au`
    Australia,
    /// `pebblepad.ca`
    Canada,
    /// TAQAS, PebblePad's testing installation: `v3test.pebblepad.com`.
    Taqas,
    /// Another host (an emulator, a new installation): the URL of the host root, under which
    /// `login/OAuth2/` and `api/` live. A path is kept (`https://proxy.test/pp/` →
    /// `https://proxy.test/pp/api/`).
    Custom(Url),
}

impl Installation {
    /// Every named installation, for listings and tests.
    pub const NAMED: [Installation; 5] = [
        Installation::UnitedKingdom,
        Installation::UnitedStates,
        Installation::Australia,
        Installation::Canada,
        Installation::Taqas,
    ];

    /// A custom host from a URL string; only `http` and `https` are accepted.
    pub fn custom(host_url: &str) -> Result<Self> {
        let url = Url::parse(host_url)
            .map_err(|e| Error::invalid("installation", format!("`{host_url}`: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(Error::invalid(
                "installation",
                format!("`{host_url}` is not an http(s) host URL"),
            ));
        }
        Ok(Self::Custom(url))
    }

    /// A short name: `uk`, `us`, `au`, `ca`, `taqas`, or the custom host URL.
    pub fn name(&self) -> String {
        match self {
            Self::UnitedKingdom => "uk".into(),
            Self::UnitedStates => "us".into(),
            Self::Australia => "au".into(),
            Self::Canada => "ca".into(),
            Self::Taqas => "taqas".into(),
            Self::Custom(url) => url.to_string(),
        }
    }

    /// The host root every URL derives from, ending in `/`.
    pub fn host(&self) -> Url {
        let fixed = match self {
            Self::UnitedKingdom => "https://v3.pebblepad.co.uk/",
            Self::UnitedStates => "https://pebblepad.com/",
            Self::Australia => "https://v3.pebblepad.com.au/",
            Self::Canada => "https://pebblepad.ca/",
            Self::Taqas => "https://v3test.pebblepad.com/",
            Self::Custom(url) => return with_trailing_slash(url),
        };
        #[allow(clippy::expect_used)]
        Url::parse(fixed).expect("the installation hosts are valid URL literals")
    }

    /// The OAuth2 base, e.g. `https://v3.pebblepad.co.uk/login/OAuth2/`.
    pub fn oauth_base(&self) -> Url {
        join(&self.host(), OAUTH_PATH)
    }

    /// The API base, e.g. `https://v3.pebblepad.co.uk/api/`.
    pub fn api_base(&self) -> Url {
        join(&self.host(), API_PATH)
    }

    /// `{oauth}/AuthorisationEndpoint` (British spelling, as PebblePad names it).
    pub fn authorisation_endpoint(&self) -> Url {
        join(&self.oauth_base(), "AuthorisationEndpoint")
    }

    /// `{oauth}/TokenEndpoint`.
    pub fn token_endpoint(&self) -> Url {
        join(&self.oauth_base(), "TokenEndpoint")
    }
}

impl fmt::Display for Installation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Installation {
    type Err = Error;

    /// `uk`, `us`, `au`, `ca`, `taqas` (any case, also the long names), or an http(s) URL.
    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase().replace([' ', '-', '_'], "");
        Ok(match key.as_str() {
            "uk" | "gb" | "unitedkingdom" => Self::UnitedKingdom,
            "us" | "usa" | "unitedstates" => Self::UnitedStates,
            "au" | "australia" => Self::Australia,
            "ca" | "canada" => Self::Canada,
            "taqas" | "test" => Self::Taqas,
            _ => Self::custom(s.trim())?,
        })
    }
}

fn with_trailing_slash(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn join(base: &Url, path: &str) -> Url {
    base.join(path).unwrap_or_else(|_| base.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_installations_follow_the_table() {
        let table = [
            (Installation::UnitedKingdom, "https://v3.pebblepad.co.uk/"),
            (Installation::UnitedStates, "https://pebblepad.com/"),
            (Installation::Australia, "https://v3.pebblepad.com.au/"),
            (Installation::Canada, "https://pebblepad.ca/"),
            (Installation::Taqas, "https://v3test.pebblepad.com/"),
        ];
        for (inst, host) in table {
            assert_eq!(inst.oauth_base().as_str(), format!("{host}login/OAuth2/"));
            assert_eq!(inst.api_base().as_str(), format!("{host}api/"));
        }
    }

    #[test]
    fn custom_hosts_keep_their_path_and_drop_query() {
        let inst = Installation::custom("https://proxy.test/pp?x=1").unwrap();
        assert_eq!(inst.api_base().as_str(), "https://proxy.test/pp/api/");
        assert!(Installation::custom("ftp://x").is_err());
        assert!(Installation::custom("not a url").is_err());
    }

    #[test]
    fn names_parse_back() {
        for inst in Installation::NAMED {
            assert_eq!(inst.name().parse::<Installation>().unwrap(), inst);
        }
        assert_eq!(
            "United Kingdom".parse::<Installation>().unwrap(),
            Installation::UnitedKingdom
        );
        let custom: Installation = "http://127.0.0.1:9/".parse().unwrap();
        assert_eq!(custom.host().as_str(), "http://127.0.0.1:9/");
    }
}
