//! [`Record`] — one person in an audience — with its [`Phone`], [`Address`] and [`Company`].

use serde_with::{DisplayFromStr, PickFirst};

use super::datetime::LenientDateTime;
use super::session::Session;

model! {
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
    pub struct Record {
        /// The record's identifier.
        pub id: Option<String>,
        /// Given name.
        pub first_name: Option<String>,
        /// Family name.
        pub last_name: Option<String>,
        /// E-mail address.
        pub email: Option<String>,
        /// Phone numbers.
        pub phones: Option<Vec<Phone>>,
        /// Postal addresses.
        pub addresses: Option<Vec<Address>>,
        /// The person's employer.
        pub company: Option<Company>,
        /// Website sessions.
        pub sessions: Option<Vec<Session>>,
    }
}

model! {
    /// A phone number.
    pub struct Phone {
        /// Kind of phone (`mobile`, `landline`, …).
        pub phone_type: Option<String>,
        /// The number as the vendor formats it.
        pub number: Option<String>,
        /// Whether the vendor validated the number.
        pub validation_status: Option<String>,
        /// When the number was last seen.
        pub last_seen: Option<LenientDateTime>,
        /// Extension.
        pub extension: Option<String>,
        /// Rank among the person's phones (an integer; a numeric string is accepted too).
        #[serde_as(as = "Option<PickFirst<(_, DisplayFromStr)>>")]
        pub order: Option<i64>,
    }
}

model! {
    /// A postal address (US only: the vendor identifies US visitors).
    pub struct Address {
        /// Kind of address (`home`, `work`, …).
        pub address_type: Option<String>,
        /// First line.
        pub address1: Option<String>,
        /// Second line.
        pub address2: Option<String>,
        /// City.
        pub city: Option<String>,
        /// State.
        pub state: Option<String>,
        /// ZIP code.
        pub zip: Option<String>,
        /// ZIP+4 suffix.
        pub zip4: Option<String>,
    }
}

model! {
    /// A company.
    pub struct Company {
        /// Company name.
        pub name: Option<String>,
        /// Web domain.
        pub domain: Option<String>,
        /// Industry.
        pub industry: Option<String>,
        /// Primary SIC code.
        pub sic1: Option<String>,
        /// Secondary SIC code.
        pub sic2: Option<String>,
        /// Tertiary SIC code.
        pub sic3: Option<String>,
        /// Number of companies matched (an integer; a numeric string is accepted too).
        #[serde_as(as = "Option<PickFirst<(_, DisplayFromStr)>>")]
        pub company_count: Option<i64>,
        /// LinkedIn page.
        pub linked_in: Option<String>,
        /// Revenue band, as text.
        pub revenue: Option<String>,
        /// Employee count band — a string on the wire (`"50-100"`), and kept one.
        pub employee_count: Option<String>,
    }
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
