//! A kind's typed config: a `#[serde(deny_unknown_fields, default)]` struct over the
//! registration's `details`, parsed with [`typed`]. Its field types take any JSON and
//! keep what was written (absent, a value of the right shape, or a wrong one), so that
//! parsing never stops at the first mistake: `config`'s checks then report every
//! problem, each naming its key, and every unknown key is listed.

use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, Visitor};
use serde::{Deserialize, forward_to_deserialize_any};
use serde_json::{Map, Value};

use super::config::Problems;

/// A string detail as written.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Text {
    /// Absent or `null`.
    #[default]
    Absent,
    Given(String),
    /// Written, but not as a string.
    NotText,
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Text::Absent,
            Value::String(s) => Text::Given(s),
            _ => Text::NotText,
        })
    }
}

impl Text {
    /// The trimmed string, when a non-empty one was given.
    pub fn get(&self) -> Option<&str> {
        match self {
            Text::Given(s) => Some(s.trim()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }
    /// Written at all (even empty or of the wrong shape).
    pub fn is_written(&self) -> bool {
        !matches!(self, Text::Absent)
    }
}

/// A boolean detail: a JSON boolean or the strings `"true"` / `"false"` (any case).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Flag {
    #[default]
    Absent,
    Given(bool),
    Invalid,
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Flag::Absent,
            Value::Bool(b) => Flag::Given(b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Flag::Given(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Flag::Given(false),
            _ => Flag::Invalid,
        })
    }
}

/// A list of strings: a JSON array, or one string separated by spaces or commas.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Words {
    #[default]
    Absent,
    Given(Vec<String>),
    Invalid,
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Words::Absent,
            Value::String(s) => Words::Given(s.split([' ', ',']).map(str::to_owned).collect()),
            Value::Array(list) if list.iter().all(Value::is_string) => Words::Given(
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => Words::Invalid,
        })
    }
}

/// A whole-number detail.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Number {
    #[default]
    Absent,
    Given(i64),
    Invalid,
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Number::Absent,
            v => v.as_i64().map_or(Number::Invalid, Number::Given),
        })
    }
}

/// A detail accepted and not used (a key Cognito describes that is no setting here).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Ignored;

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Ignored)
    }
}

/// A nested table of details (`details.endpoints`), typed as `T`, with the keys `T`
/// does not know kept for the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Table<T> {
    #[default]
    Absent,
    Given {
        value: T,
        unknown: Vec<String>,
    },
    NotTable,
}

impl<'de, T: DeserializeOwned + Default> Deserialize<'de> for Table<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Null => Table::Absent,
            Value::Object(map) => {
                let (known, unknown) = split_known::<T>(&map);
                match serde_json::from_value(Value::Object(known)) {
                    Ok(value) => Table::Given { value, unknown },
                    Err(_) => Table::NotTable,
                }
            }
            _ => Table::NotTable,
        })
    }
}

/// Parses `details` into the kind's config `T`: each key `T` does not know is
/// reported (`details.<key>: is not a known detail for this provider type`) and left
/// out, so one typo does not hide the other problems.
pub fn typed<T: DeserializeOwned + Default>(details: &Map<String, Value>, p: &mut Problems) -> T {
    let (known, unknown) = split_known::<T>(details);
    for key in unknown {
        p.add(&key, "is not a known detail for this provider type");
    }
    serde_json::from_value(Value::Object(known)).unwrap_or_else(|e| {
        p.0.push(format!("details: {e}"));
        T::default()
    })
}

/// The keys of `map` that `T` declares, and the names of the others.
fn split_known<T: DeserializeOwned>(map: &Map<String, Value>) -> (Map<String, Value>, Vec<String>) {
    let fields = field_names::<T>();
    let mut known = Map::new();
    let mut unknown = Vec::new();
    for (k, v) in map {
        if fields.contains(&k.as_str()) {
            known.insert(k.clone(), v.clone());
        } else {
            unknown.push(k.clone());
        }
    }
    (known, unknown)
}

/// The field names a derived `Deserialize` of a struct declares (its `FIELDS`, as
/// serde hands them to `deserialize_struct`).
pub fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut out: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut out));
    out
}

/// A deserializer that only records the fields a struct asks for.
struct Probe<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields read"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        name: Text,
        on: Flag,
        ids: Words,
        skew: Number,
        #[serde(rename = "CognitoOnly")]
        _cognito_only: Ignored,
        nested: Table<Inner>,
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        url: Text,
    }

    #[test]
    fn every_unknown_key_is_reported_and_the_rest_still_parses() {
        let d = json!({
            "name": " n ", "on": "TRUE", "ids": "a, b", "skew": 5, "CognitoOnly": {"x": 1},
            "typo1": 1, "typo2": "x",
            "nested": {"url": "https://e", "extra": 1},
        });
        let mut p = Problems::default();
        let s: Sample = typed(d.as_object().unwrap_or(&Map::new()), &mut p);
        assert_eq!(p.0.len(), 2, "{:?}", p.0);
        assert!(
            p.0.iter().any(|m| m.starts_with("details.typo1: ")),
            "{:?}",
            p.0
        );
        assert!(
            p.0.iter().any(|m| m.starts_with("details.typo2: ")),
            "{:?}",
            p.0
        );
        assert_eq!(s.name.get(), Some("n"));
        assert_eq!(s.on, Flag::Given(true));
        assert_eq!(s.ids, Words::Given(vec!["a".into(), "".into(), "b".into()]));
        assert_eq!(s.skew, Number::Given(5));
        match s.nested {
            Table::Given { value, unknown } => {
                assert_eq!(value.url.get(), Some("https://e"));
                assert_eq!(unknown, vec!["extra".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_shapes_are_kept_not_fatal() {
        let d = json!({"name": 5, "on": "maybe", "ids": [1], "skew": "x", "nested": 3});
        let mut p = Problems::default();
        let s: Sample = typed(d.as_object().unwrap_or(&Map::new()), &mut p);
        assert!(p.is_empty(), "{:?}", p.0);
        assert_eq!(s.name, Text::NotText);
        assert_eq!(s.on, Flag::Invalid);
        assert_eq!(s.ids, Words::Invalid);
        assert_eq!(s.skew, Number::Invalid);
        assert!(matches!(s.nested, Table::NotTable));
        assert_eq!(
            field_names::<Inner>(),
            &["url"],
            "the probe reads the declared fields"
        );
    }
}
