//! [`Environment`]: which Paya Connect host a client talks to.

use shoal_core::{Error, Result, Url};

/// The Paya Connect host. Every path this crate sends starts with `/v2/`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Environment {
    /// `https://api.sandbox.payaconnect.com`: for development and certification.
    Sandbox,
    /// `https://api.payaconnect.com`: live money (credentials issued after certification).
    Production,
    /// Another host (an emulator, a proxy). A path prefix is kept; a trailing `/v2` is dropped
    /// because every request path already carries it.
    Custom(Url),
}

impl Environment {
    /// The host URL requests are joined to (`…/v2/contacts` is added per request).
    pub fn base_url(&self) -> Result<Url> {
        let url = match self {
            Environment::Sandbox => Url::parse("https://api.sandbox.payaconnect.com/"),
            Environment::Production => Url::parse("https://api.payaconnect.com/"),
            Environment::Custom(url) => {
                if url.cannot_be_a_base() {
                    return Err(Error::Config(format!("{url} cannot be a base URL")));
                }
                let mut url = url.clone();
                let path = url.path().trim_end_matches('/');
                let path = path.strip_suffix("/v2").unwrap_or(path).to_string();
                url.set_path(&format!("{path}/"));
                url.set_query(None);
                Ok(url)
            }
        };
        url.map_err(|e| Error::Config(format!("base URL: {e}")))
    }

    /// A custom host from text.
    pub fn custom(url: &str) -> Result<Self> {
        Url::parse(url)
            .map(Self::Custom)
            .map_err(|e| Error::Config(format!("Paya base URL {url:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_custom_prefixes() {
        assert_eq!(
            Environment::Sandbox.base_url().unwrap().as_str(),
            "https://api.sandbox.payaconnect.com/"
        );
        assert_eq!(
            Environment::Production.base_url().unwrap().as_str(),
            "https://api.payaconnect.com/"
        );
        for given in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/v2",
            "http://127.0.0.1:8080/v2/",
        ] {
            assert_eq!(
                Environment::custom(given)
                    .unwrap()
                    .base_url()
                    .unwrap()
                    .as_str(),
                "http://127.0.0.1:8080/"
            );
        }
        let proxy = Environment::custom("https://proxy.example.test/paya").unwrap();
        assert_eq!(
            proxy.base_url().unwrap().as_str(),
            "https://proxy.example.test/paya/"
        );
        assert!(matches!(
            Environment::custom("not a url"),
            Err(Error::Config(_))
        ));
    }
}
