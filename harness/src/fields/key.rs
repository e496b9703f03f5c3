//! The key of a map read by hand (a type whose keys are shared with another, as `logs` takes
//! the clauses of a text match among its own): checked against the known names while it is
//! read, so that an unknown key is an error at the key, named in the error's field path, as
//! serde's derived readers do it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer};

/// A key that must be one of these names.
pub struct Key(pub &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl de::Visitor<'_> for Key {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.0.join(", "))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        self.0
            .iter()
            .find(|k| **k == v)
            .copied()
            .ok_or_else(|| E::unknown_field(v, self.0))
    }
}
