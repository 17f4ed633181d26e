//! Group records and group members. PebblePad publishes only `Id` and `CustomId` for these, so
//! the models name the likely fields and keep everything else *(assumed: PascalCase objects,
//! unknown fields kept — `shared/api/pebblepad.md` "Version 1.1 resources")*.

keyed_record! {
    /// A group (a cohort, a course, a workspace's members). Beyond `Id` and `CustomId` its body is
    /// *assumed* (`shared/api/pebblepad.md` "Version 1.1 resources"): PascalCase, every field kept.
    ///
    /// ```
    /// use shoal_pebblepad::Group;
    /// let group = Group::new("Nursing 2026").custom_id("NUR-2026");
    /// let json = serde_json::to_value(&group)?;
    /// assert_eq!(json["Name"], "Nursing 2026");
    /// assert_eq!(json["CustomId"], "NUR-2026");
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    #[derive(PartialEq)]
    pub struct Group {
        /// The group's name *(assumed field name)*.
        pub name: Option<String>,
        ..
    }
}

impl Group {
    /// A group to create, by name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

setters!(Group {
    /// Sets the institution's id.
    custom_id: text,
    /// Sets any other field.
    field: extra,
});

keyed_record! {
    /// A member of a group, as `GetMembers` lists it and `AddMembers` / `RemoveMembers` take it (a
    /// JSON array of these). The vendor documents none of the three bodies: the shape is *assumed*
    /// (`shared/api/pebblepad.md` "Version 1.1 resources") — a user addressed by `Id` or
    /// `CustomId`, PascalCase, unknown fields kept.
    ///
    /// ```
    /// use shoal_pebblepad::GroupMember;
    /// let by_custom_id = GroupMember::custom_id("S1234567");
    /// assert_eq!(serde_json::to_value(&by_custom_id)?["CustomId"], "S1234567");
    /// # Ok::<_, serde_json::Error>(())
    /// ```
    #[derive(PartialEq)]
    pub struct GroupMember {
        /// The user's username *(assumed field name)*.
        pub username: Option<String>,
        /// The member's role in the group *(assumed field name)*.
        pub role: Option<String>,
        ..
    }
}

impl GroupMember {
    /// A member by PebblePad user id.
    pub fn id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }

    /// A member by the user's custom id.
    pub fn custom_id(custom_id: impl Into<String>) -> Self {
        Self {
            custom_id: Some(custom_id.into()),
            ..Self::default()
        }
    }
}

setters!(GroupMember {
    /// Sets the role.
    role: text,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let raw = r#"{"Id":"g","CustomId":"c","Name":"n","Owner":{"Id":"u"},"Size":3}"#;
        let group: Group = serde_json::from_str(raw).unwrap();
        assert_eq!(group.extra.len(), 2);
        let back: serde_json::Value = serde_json::to_value(&group).unwrap();
        let want: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(back, want);
    }

    #[test]
    fn members_read_with_missing_fields() {
        let m: GroupMember = serde_json::from_str(r#"{"Username":"jb"}"#).unwrap();
        assert_eq!(m.username.as_deref(), Some("jb"));
        assert!(m.id.is_none() && m.extra.is_empty());
    }
}
