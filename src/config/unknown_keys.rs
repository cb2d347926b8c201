//! Reading a config past its unknown keys, so that `check` names every
//! misspelled key in one run (serde stops at the first).
//!
//! The document is parsed once into toml's spanned tree. When reading it
//! stops at an unknown key, that key is taken out of the tree and the tree
//! read again. When a table then misses a required key, the key taken out
//! of it was most likely that one misspelled: its value is put back under
//! the required name (no second problem for one typo). Every other error
//! ends the reading.

use super::Diagnostic;
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue, Deserializer, Error};

/// The value read from `text` with one problem for each unknown key, or
/// every problem found (the unknown keys and the error that ended it).
pub(super) fn read<T: DeserializeOwned>(
    text: &str,
) -> Result<(T, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut root = DeTable::parse(text).map_err(|e| vec![diagnostic(&e)])?;
    let mut removed: Vec<Removed<'_>> = Vec::new();
    let mut unknown = Vec::new();
    loop {
        let error = match T::deserialize(Deserializer::from(root.clone())) {
            Ok(value) => return Ok((value, in_file_order(unknown))),
            Err(error) => error,
        };
        if put_back_as_missing(&mut root, &mut removed, &error) {
            continue;
        }
        unknown.push(diagnostic(&error));
        match take_out_unknown(&mut root, &error) {
            Some(taken) => removed.push(taken),
            None => return Err(in_file_order(unknown)),
        }
    }
}

fn in_file_order(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| d.span.as_ref().map(|s| s.start));
    diags
}

fn diagnostic(error: &Error) -> Diagnostic {
    Diagnostic {
        span: error.span(),
        message: error.message().to_owned(),
        related: None,
    }
}

/// The name in a serde message that starts with `prefix`, e.g. `topic`
/// in "missing field `topic`".
fn named<'e>(error: &'e Error, prefix: &str) -> Option<&'e str> {
    let rest = error.message().strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split('`').next()
}

/// A key taken out of the table written at `table`.
struct Removed<'i> {
    table: Range<usize>,
    key: Spanned<DeString<'i>>,
    value: Spanned<DeValue<'i>>,
}

/// Takes the unknown key that `error` names out of the tree.
fn take_out_unknown<'i>(root: &mut Spanned<DeTable<'i>>, error: &Error) -> Option<Removed<'i>> {
    named(error, "unknown field ")?;
    let span = error.span()?;
    let root_span = root.span();
    remove_key(root.get_mut(), root_span, &span)
}

/// Puts a key taken out of the table `error` misses a key of back under
/// the missing name.
fn put_back_as_missing<'i>(
    root: &mut Spanned<DeTable<'i>>,
    removed: &mut Vec<Removed<'i>>,
    error: &Error,
) -> bool {
    let (Some(name), Some(span)) = (named(error, "missing field "), error.span()) else {
        return false;
    };
    let Some(index) = removed.iter().position(|r| r.table == span) else {
        return false;
    };
    let taken = removed.swap_remove(index);
    let Some(table) = root_table_at(root, &span) else {
        return false;
    };
    let key = Spanned::new(taken.key.span(), DeString::Owned(name.to_owned()));
    table.insert(key, taken.value);
    true
}

/// Removes the key written at `span` from `table` (written at `table_span`)
/// or a table below it.
fn remove_key<'i>(
    table: &mut DeTable<'i>,
    table_span: Range<usize>,
    span: &Range<usize>,
) -> Option<Removed<'i>> {
    let found = table.keys().find(|k| k.span() == *span).cloned();
    if let Some(key) = found {
        let (key, value) = table.remove_entry(&key)?;
        return Some(Removed {
            table: table_span,
            key,
            value,
        });
    }
    table
        .iter_mut()
        .find_map(|(_, value)| remove_in_value(value, span))
}

fn remove_in_value<'i>(
    value: &mut Spanned<DeValue<'i>>,
    span: &Range<usize>,
) -> Option<Removed<'i>> {
    let table_span = value.span();
    match value.get_mut() {
        DeValue::Table(table) => remove_key(table, table_span, span),
        DeValue::Array(items) => items
            .iter_mut()
            .find_map(|item| remove_in_value(item, span)),
        _ => None,
    }
}

fn root_table_at<'a, 'i>(
    root: &'a mut Spanned<DeTable<'i>>,
    span: &Range<usize>,
) -> Option<&'a mut DeTable<'i>> {
    if root.span() == *span {
        return Some(root.get_mut());
    }
    root.get_mut()
        .iter_mut()
        .find_map(|(_, value)| table_at(value, span))
}

/// The table written at `span`, in `value` or below it.
fn table_at<'a, 'i>(
    value: &'a mut Spanned<DeValue<'i>>,
    span: &Range<usize>,
) -> Option<&'a mut DeTable<'i>> {
    let here = value.span() == *span;
    match value.get_mut() {
        DeValue::Table(table) => {
            if here {
                return Some(table);
            }
            table.iter_mut().find_map(|(_, v)| table_at(v, span))
        }
        DeValue::Array(items) => items.iter_mut().find_map(|item| table_at(item, span)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        a: Inner,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        x: u32,
        #[serde(default)]
        y: u32,
    }

    fn at(text: &str, diags: &[Diagnostic]) -> Vec<String> {
        let word = |d: &Diagnostic| text[d.span.clone().unwrap()].to_owned();
        diags.iter().map(word).collect()
    }

    #[test]
    fn every_unknown_key_is_reported_and_the_rest_is_read() {
        let text = "a = { x = 1, v = 2 }\nz = 3\n[[list]]\nx = 4\nw = 5\n";
        let (doc, unknown) = read::<Doc>(text).unwrap();
        assert_eq!((doc.a.x, doc.list[0].x), (1, 4));
        assert_eq!(at(text, &unknown), ["v", "z", "w"]);
    }

    #[test]
    fn a_misspelled_required_key_is_one_problem_and_its_value_is_read() {
        let text = "a = { xx = 1, y = 2 }\n[[list]]\nxx = 4\n";
        let (doc, unknown) = read::<Doc>(text).unwrap();
        assert_eq!((doc.a.x, doc.a.y, doc.list[0].x), (1, 2, 4));
        assert_eq!(at(text, &unknown), ["xx", "xx"]);
    }

    #[test]
    fn another_error_ends_the_reading_after_the_unknown_keys() {
        let text = "a = { x = 1 }\nb = 3\nlist = [{ x = \"one\" }]\n";
        let diags = read::<Doc>(text).unwrap_err();
        assert_eq!(at(text, &diags), ["b", "\"one\""]);
        assert!(diags[1].message.contains("invalid type"), "{diags:?}");
    }
}
