//! The seeded synthetic-data generator shared by every emulator and by the fixtures.
//!
//! Every value is a pure function of `(seed, index)`, so record 999,999 of an audience costs the
//! same as record 0 and nothing has to be kept in memory. No real personal data: names are
//! placeholders (`Ava Example`), domains end in `.test`, phone numbers are in the fictional
//! 555-01xx block.

use std::fmt::Write as _;

const FIRST: &[&str] = &[
    "Ava", "Ben", "Cora", "Dev", "Eli", "Fay", "Gus", "Hana", "Ian", "Jo", "Kai", "Lena", "Max",
    "Nia", "Oli", "Pia",
];
const LAST: &[&str] = &[
    "Example",
    "Sample",
    "Testwell",
    "Placeholder",
    "Mockley",
    "Fixture",
    "Dummy",
    "Specimen",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Boston", "MA", "02101", "617"),
    ("Springfield", "IL", "62701", "217"),
    ("Portland", "OR", "97201", "503"),
    ("Austin", "TX", "73301", "512"),
    ("Denver", "CO", "80201", "303"),
    ("Madison", "WI", "53701", "608"),
];
const STREETS: &[&str] = &[
    "Example Street",
    "Sample Avenue",
    "Test Road",
    "Fixture Lane",
];
const COMPANIES: &[(&str, &str, &str, &str)] = &[
    ("Example Labs", "examplelabs", "Software", "7372"),
    ("Sample Freight", "samplefreight", "Logistics", "4213"),
    ("Testwell Health", "testwellhealth", "Healthcare", "8011"),
    ("Placeholder Foods", "placeholderfoods", "Food", "2099"),
];

/// A deterministic source of synthetic people, keyed by a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synth {
    seed: u64,
}

/// One synthetic person; every field is a function of the generator's seed and the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Index the person was made from.
    pub index: u64,
    /// Given name, e.g. `Ava`.
    pub first_name: &'static str,
    /// Family name, e.g. `Example`.
    pub last_name: &'static str,
    /// `ava.example42@example.test`.
    pub email: String,
    /// Ten digits in the 555-01xx block, e.g. `6175550142`.
    pub phone: String,
    /// Street address line.
    pub street: String,
    /// City.
    pub city: &'static str,
    /// Two-letter state.
    pub state: &'static str,
    /// Five-digit zip.
    pub zip: &'static str,
    /// Employer name.
    pub company: &'static str,
    /// Employer domain under `.example.test`.
    pub company_domain: String,
    /// Employer industry.
    pub industry: &'static str,
    /// Employer SIC code.
    pub sic: &'static str,
}

/// SplitMix64: a cheap, well-mixed hash of one word.
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Synth {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A well-mixed word for `(stream, index)`: different streams give unrelated values.
    pub fn word(&self, stream: u64, index: u64) -> u64 {
        mix64(self.seed ^ mix64(stream.wrapping_mul(0xA24B_AED4_963E_E407) ^ index))
    }

    /// The person at `index`.
    pub fn person(&self, index: u64) -> Person {
        let w = self.word(1, index);
        let first_name = FIRST[(w % FIRST.len() as u64) as usize];
        let last_name = LAST[((w >> 8) % LAST.len() as u64) as usize];
        let (city, state, zip, area) = CITIES[((w >> 16) % CITIES.len() as u64) as usize];
        let (company, slug, industry, sic) =
            COMPANIES[((w >> 24) % COMPANIES.len() as u64) as usize];
        let mut email = String::with_capacity(40);
        let _ = write!(email, "{}.{}{}@example.test", first_name, last_name, index);
        email.make_ascii_lowercase();
        let phone = format!("{area}55501{:02}", (w >> 32) % 100);
        let street = format!(
            "{} {}",
            1 + (w >> 40) % 999,
            STREETS[((w >> 50) % STREETS.len() as u64) as usize]
        );
        Person {
            index,
            first_name,
            last_name,
            email,
            phone,
            street,
            city,
            state,
            zip,
            company,
            company_domain: format!("{slug}.example.test"),
            industry,
            sic,
        }
    }

    /// A GUID (8-4-4-4-12 lowercase hex) for `(stream, index)`, as PebblePad's `Id`s look.
    pub fn guid(&self, stream: u64, index: u64) -> String {
        let h = self.hex(stream, index, 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    /// `len` lowercase hex characters for `(stream, index)`, e.g. for ids and tokens.
    pub fn hex(&self, stream: u64, index: u64, len: usize) -> String {
        let mut out = String::with_capacity(len);
        let mut i = 0u64;
        while out.len() < len {
            let _ = write!(
                out,
                "{:016x}",
                self.word(stream, index.wrapping_mul(31).wrapping_add(i))
            );
            i += 1;
        }
        out.truncate(len);
        out
    }
}

/// Writes a Unix timestamp as RFC 3339 UTC (`2026-01-01T00:00:00Z`) without allocating.
pub fn write_rfc3339(out: &mut String, unix: i64) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
}

/// A Unix timestamp as RFC 3339 UTC.
pub fn rfc3339(unix: i64) -> String {
    let mut s = String::with_capacity(20);
    write_rfc3339(&mut s, unix);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_deterministic_and_synthetic() {
        let a = Synth::new(7).person(42);
        assert_eq!(a, Synth::new(7).person(42));
        assert!(a.email.ends_with("@example.test"));
        assert_eq!(a.phone.len(), 10);
        assert_eq!(&a.phone[3..8], "55501");
        assert_ne!(Synth::new(8).word(1, 42), Synth::new(7).word(1, 42));
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_825_600), "2000-02-29T12:00:00Z");
    }

    #[test]
    fn hex_has_requested_length() {
        assert_eq!(Synth::new(1).hex(3, 9, 24).len(), 24);
        assert_eq!(Synth::new(1).hex(3, 9, 36).len(), 36);
    }
}
