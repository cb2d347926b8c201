//! Where a value sits in the config text, for checks of fields the model
//! keeps without a span (`[ui] max_fps`, a device's `poll`, ...).

use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a path into the document: a table key or an array index.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> From<&'a str> for Step<'a> {
    fn from(key: &'a str) -> Self {
        Step::Key(key)
    }
}

impl From<usize> for Step<'_> {
    fn from(index: usize) -> Self {
        Step::Index(index)
    }
}

/// The config text parsed again as a tree of spanned values.
pub struct Document<'t> {
    text: &'t str,
    root: Option<Spanned<DeTable<'t>>>,
}

impl<'t> Document<'t> {
    /// Parses `text`; a document that does not parse locates nothing.
    pub fn parse(text: &'t str) -> Self {
        Document {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The value at `path` as written, e.g. `"0ms"` (quotes included), and its span.
    pub fn written(&self, path: &[Step<'_>]) -> Option<(&'t str, Range<usize>)> {
        let span = self.span(path)?;
        Some((self.text.get(span.clone())?, span))
    }

    /// The span of the value at `path`, e.g. `["modbus", 0, "poll"]`.
    pub fn span(&self, path: &[Step<'_>]) -> Option<Range<usize>> {
        let root = self.root.as_ref()?;
        let (first, rest) = path.split_first()?;
        let Step::Key(key) = first else {
            return None;
        };
        let mut value = root.get_ref().get(*key)?;
        for step in rest {
            value = match step {
                Step::Key(key) => value.get_ref().get(*key)?,
                Step::Index(index) => value.get_ref().get(*index)?,
            };
        }
        Some(value.span())
    }

    /// Calls `visit` with every string (table keys included) and every float
    /// of the document, with the key it sits under and its span.
    pub fn walk(&self, visit: &mut dyn FnMut(Leaf<'_>)) {
        if let Some(root) = &self.root {
            walk_table(root.get_ref(), visit);
        }
    }
}

/// A leaf of the document that text and number checks look at.
pub enum Leaf<'a> {
    /// A table key.
    Key(&'a str, Range<usize>),
    /// A string value under `key` (the innermost table key above it).
    Str {
        key: &'a str,
        value: &'a str,
        span: Range<usize>,
    },
    /// A float value as written (`nan`, `-inf`, `1.5`).
    Float {
        key: &'a str,
        written: &'a str,
        span: Range<usize>,
    },
}

fn walk_table<'a>(table: &'a DeTable<'_>, visit: &mut dyn FnMut(Leaf<'_>)) {
    for (key, value) in table.iter() {
        visit(Leaf::Key(key.get_ref(), key.span()));
        walk_value(key.get_ref(), value, visit);
    }
}

fn walk_value<'a>(key: &'a str, value: &'a Spanned<DeValue<'_>>, visit: &mut dyn FnMut(Leaf<'_>)) {
    match value.get_ref() {
        DeValue::String(s) => visit(Leaf::Str {
            key,
            value: s,
            span: value.span(),
        }),
        DeValue::Float(f) => visit(Leaf::Float {
            key,
            written: f.as_str(),
            span: value.span(),
        }),
        DeValue::Array(items) => {
            for item in items.iter() {
                walk_value(key, item, visit);
            }
        }
        DeValue::Table(table) => walk_table(table, visit),
        DeValue::Integer(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
    }
}

/// Builds a path from keys and indexes: `key_path!["modbus", i, "poll"]`.
macro_rules! key_path {
    ($($step:expr),* $(,)?) => {
        &[$($crate::config::locate::Step::from($step)),*]
    };
}
pub(crate) use key_path;

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[ui]\nmax_fps = 0\n\n[[modbus]]\nname = \"a\"\n\n[[modbus]]\nname = \"b\"\npoll = \"0s\"\n\n[[sensor]]\nid = \"t\"\nalarm = { h = nan }\n";

    fn at(span: Option<Range<usize>>) -> &'static str {
        let span = span.expect("located");
        &TEXT[span]
    }

    #[test]
    fn finds_values_in_tables_arrays_and_inline_tables() {
        let doc = Document::parse(TEXT);
        assert_eq!(at(doc.span(key_path!["ui", "max_fps"])), "0");
        assert_eq!(at(doc.span(key_path!["modbus", 1, "poll"])), "\"0s\"");
        let (written, _) = doc.written(key_path!["ui", "max_fps"]).unwrap();
        assert_eq!(written, "0");
        assert_eq!(at(doc.span(key_path!["sensor", 0, "alarm", "h"])), "nan");
        assert_eq!(doc.span(key_path!["modbus", 0, "poll"]), None);
        assert_eq!(doc.span(key_path!["modbus", 2, "poll"]), None);
    }

    #[test]
    fn walks_keys_strings_and_floats() {
        let doc = Document::parse(TEXT);
        let mut seen = Vec::new();
        doc.walk(&mut |leaf| match leaf {
            Leaf::Key(..) => {}
            Leaf::Str { key, value, .. } => seen.push(format!("{key}={value}")),
            Leaf::Float { key, written, .. } => seen.push(format!("{key}~{written}")),
        });
        seen.sort();
        assert_eq!(seen, ["h~nan", "id=t", "name=a", "name=b", "poll=0s"]);
    }
}
