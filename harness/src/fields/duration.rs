//! Durations as suites write them: `30s`, `2m`, `1m30s`, `500ms` (humantime's syntax, which
//! covers Go's and Kubernetes' spelling of the common cases).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// A typed duration field. Bare numbers are refused on purpose: `timeout: 30` could mean
/// seconds or milliseconds, and a suite should say which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Self {
        Dur(Duration::from_secs(s))
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for Dur {
    fn from(d: Duration) -> Self {
        Dur(d)
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // humantime prints `1m 30s`; suites write `1m30s`.
        let s = humantime::format_duration(self.0).to_string();
        f.write_str(&s.replace(' ', ""))
    }
}

impl std::str::FromStr for Dur {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() || t.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "invalid duration `{s}`: give a unit, e.g. `30s`, `2m`, `1m30s`, `500ms`"
            ));
        }
        humantime::parse_duration(t).map(Dur).map_err(|e| {
            format!("invalid duration `{s}`: {e} (expected e.g. `30s`, `2m`, `1m30s`, `500ms`)")
        })
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as `30s`, `2m` or `1m30s`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}`: give a unit, e.g. `{v}s`"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "invalid duration `{v}`: give a unit, e.g. `{v}s`"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case("30s", 30_000)]
    #[case("2m", 120_000)]
    #[case("1m30s", 90_000)]
    #[case("500ms", 500)]
    #[case(" 1h ", 3_600_000)]
    fn parses_the_usual_spellings(#[case] text: &str, #[case] millis: u64) {
        assert_eq!(
            text.parse::<Dur>().unwrap(),
            Dur(Duration::from_millis(millis))
        );
    }

    #[test]
    fn refuses_bare_numbers_and_garbage() {
        assert!("30".parse::<Dur>().unwrap_err().contains("give a unit"));
        assert!(
            "soon"
                .parse::<Dur>()
                .unwrap_err()
                .contains("invalid duration `soon`")
        );
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(Dur::secs(90).to_string(), "1m30s");
    }
}
