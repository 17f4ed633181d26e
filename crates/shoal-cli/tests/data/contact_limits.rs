// One table of the documented Paya contact field limits, `include!`d by the unit test of the
// import's plan (src/bulk/contacts.rs) and by its process test (tests/all/bulk_import.rs), so
// that the two cannot drift apart.

/// For every documented contact field limit, a value that breaks it.
fn contact_limit_breakers() -> Vec<(&'static str, String)> {
    let long = |n: usize| "x".repeat(n);
    vec![
        ("last_name", long(65)),
        ("first_name", long(65)),
        ("company_name", long(65)),
        ("account_number", long(33)),
        ("contact_api_id", long(37)),
        ("email", "a@b".into()),
        ("address", long(256)),
        ("city", long(101)),
        ("state", "NYC".into()),
        ("zip", "12".into()),
        ("home_phone", "555123".into()),
        ("cell_phone", "55512345678".into()),
        ("office_phone", "phone".into()),
        ("office_ext_phone", long(11)),
        ("contact_balance", long(13)),
        ("contact_c1", long(129)),
        ("contact_c2", long(129)),
        ("contact_c3", long(129)),
        ("date_of_birth", "1990/01/02".into()),
        ("email_trx_receipt", "maybe".into()),
        ("header_message", long(251)),
        ("header_message_type", "5".into()),
    ]
}

/// A contacts CSV under `columns` with a row per `(field, value)`: that field set to that
/// value, and where it is not, `contact_api_id` `crm-N` (N the row's index) and `last_name`
/// `Smith`.
fn contacts_csv_setting(columns: &[&str], rows: &[(&str, String)]) -> String {
    let mut text = columns.join(",") + "\n";
    for (i, (field, value)) in rows.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match *c {
                c if c == *field => value.clone(),
                "contact_api_id" => format!("crm-{i}"),
                "last_name" => "Smith".into(),
                _ => String::new(),
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text
}
