//! Grade records. PebblePad names the `Grade` property (the one `Update` changes); the rest is
//! *assumed* (PascalCase, `shared/api/pebblepad.md` "Version 1.1 resources") and kept as sent.

use super::lenient_string;

keyed_record! {
    /// A grade on a user's submission. Beyond `Id`, `CustomId` and `Grade`, its body is *assumed*
    /// (`shared/api/pebblepad.md` "Version 1.1 resources"): PascalCase, every field kept.
    ///
    /// ```
    /// use shoal_pebblepad::Grade;
    /// let grade = Grade::for_user_custom_id("S1234567", "Merit").field("AssessmentId", "A-7");
    /// let json = serde_json::to_value(&grade)?;
    /// assert_eq!(json["Grade"], "Merit");
    /// assert_eq!(json["CustomUserId"], "S1234567");
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    #[derive(PartialEq)]
    pub struct Grade {
        /// The graded user's PebblePad id *(assumed field name)*.
        pub user_id: Option<String>,
        /// The graded user's custom id *(assumed field name)*.
        pub custom_user_id: Option<String>,
        /// The grade itself; a number on the wire is read as its text.
        #[serde(deserialize_with = "lenient_string")]
        pub grade: Option<String>,
        ..
    }
}

impl Grade {
    /// A grade for a user addressed by PebblePad id (for `Import`).
    pub fn for_user_id(user_id: impl Into<String>, grade: impl Into<String>) -> Self {
        Self {
            user_id: Some(user_id.into()),
            ..Self::value(grade)
        }
    }

    /// A grade for a user addressed by custom id (for `ImportOnCustomUserId`).
    pub fn for_user_custom_id(custom_user_id: impl Into<String>, grade: impl Into<String>) -> Self {
        Self {
            custom_user_id: Some(custom_user_id.into()),
            ..Self::value(grade)
        }
    }

    /// A record carrying only a new `Grade` value (the body of `Update`).
    pub fn value(grade: impl Into<String>) -> Self {
        Self {
            grade: Some(grade.into()),
            ..Self::default()
        }
    }
}

setters!(Grade {
    /// Sets any other field.
    field: extra,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_grades_read_as_text() {
        let g: Grade = serde_json::from_str(r#"{"Id":"x","Grade":72.5,"Rubric":[1,2]}"#).unwrap();
        assert_eq!(g.grade.as_deref(), Some("72.5"));
        assert_eq!(g.extra["Rubric"], serde_json::json!([1, 2]));
        let none: Grade = serde_json::from_str(r#"{"Grade":null}"#).unwrap();
        assert!(none.grade.is_none());
    }
}
