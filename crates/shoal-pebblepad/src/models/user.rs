//! User records: [`BasicUserInfo`] (PascalCase, documented), [`UserStatus`] with an unknown-value
//! fallback, and the tolerant [`UserDetails`] bodies of the contact / other details actions.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shoal_auth::{ExposeSecret as _, Password};
use time::OffsetDateTime;

use super::{Extra, datetime};

/// A user's status.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// `Active`
    Active,
    /// `Dormant`
    Dormant,
    /// `MarkedForDeletion` (what `User/Delete` does).
    MarkedForDeletion,
    /// A value this version does not know, kept as sent.
    Unknown(String),
}

impl UserStatus {
    /// The value on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "Active",
            Self::Dormant => "Dormant",
            Self::MarkedForDeletion => "MarkedForDeletion",
            Self::Unknown(s) => s,
        }
    }

    /// Reads a wire value (case-insensitively).
    pub fn parse(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "active" => Self::Active,
            "dormant" => Self::Dormant,
            "markedfordeletion" => Self::MarkedForDeletion,
            _ => Self::Unknown(value.to_string()),
        }
    }
}

impl Serialize for UserStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for UserStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Self::parse(&s),
            other => Self::Unknown(other.to_string()),
        })
    }
}

keyed_record! {
    /// PebblePad's `BasicUserInfo`: the body of `User/Create` and the user records the API returns.
    ///
    /// `Password` is write-only: sent when set, never read from a response (a server that echoes it
    /// is ignored), and never shown by `Debug`.
    ///
    /// ```
    /// use shoal_pebblepad::{BasicUserInfo, Password};
    /// let user = BasicUserInfo::new("jbloggs")
    ///     .custom_id("S1234567")
    ///     .name("Jo", "Bloggs")
    ///     .email("jo@example.ac.uk")
    ///     .password(Password::new("correct horse"));
    /// let json = serde_json::to_value(&user)?;
    /// assert_eq!(json["Username"], "jbloggs");
    /// assert!(!format!("{user:?}").contains("correct horse"));
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    pub struct BasicUserInfo {
        /// The unique username.
        pub username: Option<String>,
        /// First name.
        pub forename: Option<String>,
        /// Last name.
        pub surname: Option<String>,
        /// Email address.
        pub email: Option<String>,
        /// When the account expires.
        #[serde(with = "datetime::option")]
        pub expiry: Option<OffsetDateTime>,
        /// Free-text notes.
        pub notes: Option<String>,
        /// Write-only password.
        #[serde(skip_deserializing, serialize_with = "write_password")]
        pub password: Option<Password>,
        /// Active, dormant or marked for deletion.
        pub status: Option<UserStatus>,
        /// Fields this version does not name (a `Password` the server sent is dropped, not kept).
        #[serde(flatten, deserialize_with = "extra_without_secrets")]
        pub extra: Extra,
    }
}

fn write_password<S: Serializer>(password: &Option<Password>, s: S) -> Result<S::Ok, S::Error> {
    match password {
        Some(p) => s.serialize_str(p.expose_secret()),
        None => s.serialize_none(),
    }
}

fn extra_without_secrets<'de, D: Deserializer<'de>>(d: D) -> Result<Extra, D::Error> {
    let mut extra = Extra::deserialize(d)?;
    extra.retain(|k, _| !k.eq_ignore_ascii_case("password"));
    Ok(extra)
}

impl BasicUserInfo {
    /// A user to create, with its unique username.
    pub fn new(username: impl Into<String>) -> Self {
        Self {
            username: Some(username.into()),
            ..Self::default()
        }
    }

    /// Sets forename and surname.
    pub fn name(mut self, forename: impl Into<String>, surname: impl Into<String>) -> Self {
        self.forename = Some(forename.into());
        self.surname = Some(surname.into());
        self
    }
}

setters!(BasicUserInfo {
    /// Sets the institution's id.
    custom_id: text,
    /// Sets the email address.
    email: text,
    /// Sets the expiry.
    expiry: (OffsetDateTime),
    /// Sets the notes.
    notes: text,
    /// Sets the (write-only) password.
    password: (Password),
    /// Sets the status.
    status: (UserStatus),
});

/// The body of `AddContactDetails` and `AddOtherDetails`. PebblePad does not publish these
/// shapes, so this is a PascalCase object of whatever fields the caller sets *(assumed:
/// `shared/api/pebblepad.md` "Version 1.1 resources" names the actions only)*; the `Delete…`
/// twins take an array of the names instead.
///
/// ```
/// use shoal_pebblepad::UserDetails;
/// let details = UserDetails::new().set("Telephone", "01632 960000").set("Town", "Leeds");
/// assert_eq!(serde_json::to_value(&details)?["Town"], "Leeds");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UserDetails {
    /// The fields, by PascalCase name.
    #[serde(flatten)]
    pub fields: Extra,
}

impl UserDetails {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_documented_fields_and_keeps_unknown_ones() {
        let user: BasicUserInfo = serde_json::from_str(
            r#"{"Id":"g-1","CustomId":"S1","Username":"jb","Expiry":"2014-09-28T08:00:00Z",
                "Status":"MarkedForDeletion","Password":"echoed-secret","Faculty":"Arts"}"#,
        )
        .unwrap();
        assert_eq!(user.status, Some(UserStatus::MarkedForDeletion));
        assert!(user.password.is_none());
        assert_eq!(user.extra.len(), 1, "{:?}", user.extra);
        assert_eq!(user.extra["Faculty"], "Arts");
        assert!(!format!("{user:?}").contains("echoed-secret"));
        let back = serde_json::to_value(&user).unwrap();
        assert_eq!(back["Faculty"], "Arts");
        assert_eq!(back["Expiry"], "2014-09-28T08:00:00Z");
        assert!(back.get("Password").is_none());
    }

    #[test]
    fn unknown_status_values_are_kept() {
        let s: UserStatus = serde_json::from_str(r#""Suspended""#).unwrap();
        assert_eq!(s, UserStatus::Unknown("Suspended".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#""Suspended""#);
        let n: UserStatus = serde_json::from_str("2").unwrap();
        assert_eq!(n, UserStatus::Unknown("2".into()));
        assert_eq!(UserStatus::parse("dormant"), UserStatus::Dormant);
    }

    #[test]
    fn password_is_written_but_never_shown() {
        let user = BasicUserInfo::new("jb").password(Password::new("CANARY-PW"));
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(json["Password"], "CANARY-PW");
        assert!(!format!("{user:?}").contains("CANARY-PW"));
    }
}
