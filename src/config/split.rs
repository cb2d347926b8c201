//! `#[serde(flatten)]` that keeps `toml::Spanned` and `deny_unknown_fields`.
//!
//! serde's `flatten` buffers the table, which loses toml's spans and cannot
//! be combined with `deny_unknown_fields`. Here a table is read once: the
//! keys a struct owns ([`OwnKeys`]) are read by it, and every other key goes,
//! with its value still in toml's deserializer (spans kept, errors at the
//! key), to a derived struct that denies unknown fields. So `[[mqtt_pattern]]`
//! and `[[listen]]` share one set of payload keys without listing them twice.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// The keys of a table that a struct reads itself; the rest go to another part.
pub(super) trait OwnKeys<'de>: Default {
    /// The keys read by [`OwnKeys::read`].
    const KEYS: &'static [&'static str];
    /// Reads the value of `key` (one of [`OwnKeys::KEYS`]) from `map`.
    fn read<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Reads a table into its own keys and the rest.
pub(super) fn split<'de, D, O, R>(deserializer: D) -> Result<(O, R), D::Error>
where
    D: Deserializer<'de>,
    O: OwnKeys<'de>,
    R: Deserialize<'de>,
{
    deserializer.deserialize_map(SplitVisitor(PhantomData))
}

/// A required own key that was not given.
pub(super) fn required<T, E: de::Error>(value: Option<T>, key: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(key))
}

struct SplitVisitor<O, R>(PhantomData<(O, R)>);

impl<'de, O: OwnKeys<'de>, R: Deserialize<'de>> Visitor<'de> for SplitVisitor<O, R> {
    type Value = (O, R);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(O, R), A::Error> {
        let mut own = O::default();
        let rest = R::deserialize(Rest { map, own: &mut own })?;
        Ok((own, rest))
    }
}

/// The table without the own keys, as a deserializer of its own.
struct Rest<'o, A, O> {
    map: A,
    own: &'o mut O,
}

impl<'de, A: MapAccess<'de>, O: OwnKeys<'de>> Deserializer<'de> for Rest<'_, A, O> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>, O: OwnKeys<'de>> MapAccess<'de> for Rest<'_, A, O> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = Some(seed);
        loop {
            let key = self.map.next_key_seed(Dispatch {
                seed: &mut seed,
                own: O::KEYS,
            })?;
            match key {
                None => return Ok(None),
                Some(Key::Rest(value)) => return Ok(Some(value)),
                Some(Key::Own(key)) => self.own.read(&key, &mut self.map)?,
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

enum Key<T> {
    Own(String),
    Rest(T),
}

/// Reads a key inside toml's key deserializer (so a refused key is reported
/// at its position): an own key by name, any other through `seed`.
struct Dispatch<'s, K> {
    seed: &'s mut Option<K>,
    own: &'static [&'static str],
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for Dispatch<'_, K> {
    type Value = Key<K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for Dispatch<'_, K> {
    type Value = Key<K::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        if self.own.contains(&key) {
            return Ok(Key::Own(key.to_owned()));
        }
        let seed = self
            .seed
            .take()
            .ok_or_else(|| E::custom("a key was read twice"))?;
        seed.deserialize(key.into_deserializer()).map(Key::Rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Spanned;

    #[derive(Default, Debug)]
    struct Own {
        name: Option<Spanned<String>>,
    }

    impl<'de> OwnKeys<'de> for Own {
        const KEYS: &'static [&'static str] = &["name"];
        fn read<A: MapAccess<'de>>(&mut self, _key: &str, map: &mut A) -> Result<(), A::Error> {
            self.name = Some(map.next_value()?);
            Ok(())
        }
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Part {
        value: Spanned<u32>,
    }

    #[derive(Debug)]
    struct Whole {
        own: Own,
        part: Part,
    }

    impl<'de> Deserialize<'de> for Whole {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let (own, part) = split(d)?;
            Ok(Whole { own, part })
        }
    }

    #[derive(Deserialize, Debug)]
    struct Doc {
        whole: Vec<Whole>,
    }

    #[test]
    fn both_parts_keep_their_spans() {
        let text = "[[whole]]\nvalue = 7\nname = \"n\"\n";
        let doc: Doc = toml::from_str(text).unwrap();
        let whole = &doc.whole[0];
        assert_eq!(*whole.part.value.get_ref(), 7);
        assert_eq!(&text[whole.part.value.span()], "7");
        let name = whole.own.name.as_ref().unwrap();
        assert_eq!(&text[name.span()], "\"n\"");
    }

    #[test]
    fn an_unknown_key_is_refused_at_its_position() {
        let text = "[[whole]]\nvalue = 7\nnmae = \"n\"\n";
        let err = toml::from_str::<Doc>(text).unwrap_err();
        assert_eq!(err.span(), Some(20..24), "{err}");
        assert!(err.message().contains("unknown field `nmae`"), "{err}");
    }
}
