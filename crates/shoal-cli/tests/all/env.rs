//! Every flag can come from its `SHOAL_<VENDOR>_<FLAG>` variable, the import flags included.

use crate::support::shoal;

#[test]
fn import_flags_come_from_the_vendors_variables() {
    for (vendor, args) in [
        ("PEBBLEPAD", vec!["pebblepad", "users", "import"]),
        ("PAYA", vec!["paya", "contacts", "import"]),
    ] {
        let file = format!("/nonexistent/{}-rows.csv", vendor.to_lowercase());
        let out = shoal()
            .args(&args)
            .env(format!("SHOAL_{vendor}_IMPORT_FILE"), &file)
            .env("SHOAL_PEBBLEPAD_HOST", "http://127.0.0.1:9")
            .env("SHOAL_PEBBLEPAD_ACCESS_TOKEN", "a")
            .env("SHOAL_PEBBLEPAD_REFRESH_TOKEN", "b")
            .env("SHOAL_PEBBLEPAD_CLIENT_ID", "c")
            .env("SHOAL_PEBBLEPAD_CLIENT_SECRET", "d")
            .env("SHOAL_PAYA_BASE_URL", "http://127.0.0.1:9")
            .env("SHOAL_PAYA_DEVELOPER_ID", "dev")
            .env("SHOAL_PAYA_USER_ID", "user")
            .env("SHOAL_PAYA_API_KEY", "key")
            .env("SHOAL_PAYA_LOCATION_ID", "11e95f8ec39de8fbdb0a4f1a")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{vendor}: {stderr}");
        assert!(stderr.contains(&file), "{vendor}: {stderr}");
    }
}
