//! The member names an input type reads, found by asking its `Deserialize` impl (a
//! struct names its fields to the deserializer before reading). The model test checks
//! them against botocore's shapes: a misspelt member would otherwise be ignored.

use serde::de::{self, DeserializeOwned, Visitor};

/// The fields of `T` when it deserializes as a struct; empty otherwise (a `Value`).
pub fn fields<T: DeserializeOwned>() -> Vec<&'static str> {
    let mut found = Vec::new();
    let _ = T::deserialize(Probe(&mut found));
    found
}

struct Probe<'a>(&'a mut Vec<&'static str>);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        self.0.extend_from_slice(fields);
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The input fields of an operation function's input type.
pub fn input_fields_of<T, F, Fut>(_f: F) -> Vec<&'static str>
where
    T: DeserializeOwned,
    F: FnOnce(super::Ctx, T) -> Fut,
{
    fields::<T>()
}
