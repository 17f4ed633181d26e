//! [`Record`] — one person in an audience — with its [`Phone`], [`Address`] and [`Company`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_with::{DisplayFromStr, PickFirst, serde_as};

use super::datetime::LenientDateTime;
use super::session::Session;

/// One person in an audience.
///
/// What a record is — a person carrying the documented sub-models — is *assumed*
/// (`shared/api/pearldiver.md` "Record"). So every field is optional, and fields this version
/// does not know are kept in [`extra`](Self::extra): serializing a decoded record gives back the
/// JSON object that was received.
///
/// ```
/// use shoal_pearldiver::Record;
/// let json = serde_json::json!({
///     "id": "r-1", "firstName": "Ada", "email": "ada@example.test",
///     "phones": [{"number": "555-0100", "order": "2"}],
///     "score": 0.93
/// });
/// let record: Record = serde_json::from_value(json)?;
/// assert_eq!(record.first_name.as_deref(), Some("Ada"));
/// assert_eq!(record.phones.as_ref().and_then(|p| p[0].order), Some(2));
/// assert_eq!(record.extra["score"], 0.93);
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The record's identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Given name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<Vec<Phone>>,
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<Address>>,
    /// The person's employer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
    /// Website sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<Session>>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A phone number.
#[serde_as]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Phone {
    /// Kind of phone (`mobile`, `landline`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_type: Option<String>,
    /// The number as the vendor formats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Whether the vendor validated the number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_status: Option<String>,
    /// When the number was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<LenientDateTime>,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Rank among the person's phones (an integer; a numeric string is accepted too).
    #[serde_as(as = "Option<PickFirst<(_, DisplayFromStr)>>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A postal address (US only: the vendor identifies US visitors).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Kind of address (`home`, `work`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
    /// First line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address1: Option<String>,
    /// Second line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// ZIP+4 suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip4: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A company.
#[serde_as]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Company {
    /// Company name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Web domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Industry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    /// Primary SIC code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sic1: Option<String>,
    /// Secondary SIC code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sic2: Option<String>,
    /// Tertiary SIC code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sic3: Option<String>,
    /// Number of companies matched (an integer; a numeric string is accepted too).
    #[serde_as(as = "Option<PickFirst<(_, DisplayFromStr)>>")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_count: Option<i64>,
    /// LinkedIn page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_in: Option<String>,
    /// Revenue band, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<String>,
    /// Employee count band — a string on the wire (`"50-100"`), and kept one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_count: Option<String>,
    /// Fields this version does not know, kept as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numeric_strings_are_read_as_integers() {
        let phone: Phone = serde_json::from_value(json!({"order": "3"})).unwrap();
        assert_eq!(phone.order, Some(3));
        let company: Company = serde_json::from_value(json!({"companyCount": 12})).unwrap();
        assert_eq!(company.company_count, Some(12));
        let company: Company = serde_json::from_value(json!({"companyCount": "12"})).unwrap();
        assert_eq!(company.company_count, Some(12));
        assert!(serde_json::from_value::<Company>(json!({"companyCount": "many"})).is_err());
    }

    #[test]
    fn employee_count_stays_a_string() {
        let company: Company = serde_json::from_value(json!({"employeeCount": "50-100"})).unwrap();
        assert_eq!(company.employee_count.as_deref(), Some("50-100"));
        assert_eq!(
            serde_json::to_value(&company).unwrap(),
            json!({"employeeCount": "50-100"})
        );
    }

    #[test]
    fn nulls_and_absences_decode_to_none() {
        let record: Record =
            serde_json::from_value(json!({"email": null, "phones": null})).unwrap();
        assert_eq!(record, Record::default());
        assert_eq!(serde_json::to_value(&record).unwrap(), json!({}));
    }

    #[test]
    fn unknown_fields_survive_at_every_level() {
        let json = json!({
            "id": "r1",
            "segment": {"tier": 2},
            "company": {"name": "Acme", "naics": "5112"},
            "phones": [{"number": "1", "carrier": "X", "order": 1}],
            "addresses": [{"zip": "02134", "geo": [42.3, -71.1]}],
        });
        let record: Record = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(record.extra["segment"], json!({"tier": 2}));
        assert_eq!(record.company.as_ref().unwrap().extra["naics"], "5112");
        assert_eq!(serde_json::to_value(&record).unwrap(), json);
    }
}
