//! Data Island application references: the one PebblePad body with lower-case keys.

record! {
    /// An application reference (`1.1/di/ApplicationReference`). The caller supplies `id`.
    ///
    /// ```
    /// use shoal_pebblepad::ApplicationReference;
    /// let r = ApplicationReference::new("ref-1", "app-9")
    ///     .name("Dr A. Referee")
    ///     .organisation("Uni");
    /// let json = serde_json::to_value(&r)?;
    /// assert_eq!(json["applicationid"], "app-9");
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    #[derive(PartialEq)]
    #[serde(rename_all = "lowercase")]
    pub struct ApplicationReference {
        /// The caller's id for the reference.
        pub id: String,
        /// The application it belongs to.
        pub applicationid: Option<String>,
        /// The referee's name.
        pub name: Option<String>,
        /// The referee's organisation.
        pub organisation: Option<String>,
        /// The referee's post.
        pub post: Option<String>,
        /// The reference text.
        pub statement: Option<String>,
        ..
    }
}

impl ApplicationReference {
    /// A reference with the caller's id, for an application.
    pub fn new(id: impl Into<String>, application_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            applicationid: Some(application_id.into()),
            ..Self::default()
        }
    }
}

setters!(ApplicationReference {
    /// Sets the referee's name.
    name: text,
    /// Sets the referee's organisation.
    organisation: text,
    /// Sets the referee's post.
    post: text,
    /// Sets the statement.
    statement: text,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_lower_case_and_unknown_ones_kept() {
        let r: ApplicationReference = serde_json::from_str(
            r#"{"id":"r","applicationid":"a","statement":"Good","created":"2026-01-01"}"#,
        )
        .unwrap();
        assert_eq!(r.statement.as_deref(), Some("Good"));
        assert_eq!(r.extra["created"], "2026-01-01");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["applicationid"], "a");
    }
}
