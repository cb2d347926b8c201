//! `[ui.keys]`: the actions a key can be bound to, their default keys, how a
//! key is written (`q`, `Enter`, `Ctrl-x`, `F1`) and the checks of a
//! rebinding. The console resolves them into its key map.

use super::Diagnostic;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use strum::VariantArray;
use toml::Spanned;

/// Everything a key can do. Ctrl-C is not an action: it always quits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, VariantArray)]
pub enum Action {
    Help,
    Quit,
    Filter,
    Detail,
    Back,
    NextPane,
    Status,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    First,
    Last,
    NextGroup,
    PrevGroup,
    ToggleGroup,
    Ack,
    AckAll,
    Shelve,
    Unshelve,
    Comment,
    Reset,
    Journal,
    CyclePriority,
    CycleKind,
    ZoomIn,
    ZoomOut,
    NextTheme,
    Replay,
    Invoice,
    SaveInvoice,
    Export,
}

impl Action {
    /// Every action, in declaration order: the help screen's order.
    pub const ALL: &'static [Action] = <Action as VariantArray>::VARIANTS;

    /// The name used in `[ui.keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Filter => "filter",
            Action::Detail => "detail",
            Action::Back => "back",
            Action::NextPane => "next_pane",
            Action::Status => "status",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::First => "first",
            Action::Last => "last",
            Action::NextGroup => "next_group",
            Action::PrevGroup => "prev_group",
            Action::ToggleGroup => "toggle_group",
            Action::Ack => "ack",
            Action::AckAll => "ack_all",
            Action::Shelve => "shelve",
            Action::Unshelve => "unshelve",
            Action::Comment => "comment",
            Action::Reset => "reset",
            Action::Journal => "journal",
            Action::CyclePriority => "priority_filter",
            Action::CycleKind => "event_filter",
            Action::ZoomIn => "zoom_in",
            Action::ZoomOut => "zoom_out",
            Action::NextTheme => "next_theme",
            Action::Replay => "replay",
            Action::Invoice => "invoice",
            Action::SaveInvoice => "save_invoice",
            Action::Export => "export",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// The keys an action has when `[ui.keys]` does not rebind it.
    pub fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::Help => &["?", "F1"],
            Action::Quit => &["q"],
            Action::Filter => &["/"],
            Action::Detail => &["Enter"],
            Action::Back => &["Esc"],
            Action::NextPane => &["Tab"],
            Action::Status => &["S"],
            Action::Up => &["Up", "k"],
            Action::Down => &["Down", "j"],
            Action::Left => &["Left", "h"],
            Action::Right => &["Right", "l"],
            Action::PageUp => &["PageUp"],
            Action::PageDown => &["PageDown"],
            Action::First => &["Home", "g"],
            Action::Last => &["End", "G"],
            Action::NextGroup => &["]"],
            Action::PrevGroup => &["["],
            Action::ToggleGroup => &["Space"],
            Action::Ack => &["a"],
            Action::AckAll => &["A"],
            Action::Shelve => &["s"],
            Action::Unshelve => &["u"],
            Action::Comment => &["c"],
            Action::Reset => &["x"],
            Action::Journal => &["J"],
            Action::CyclePriority => &["p"],
            Action::CycleKind => &["v"],
            Action::ZoomIn => &["+", "="],
            Action::ZoomOut => &["-"],
            Action::NextTheme => &["t"],
            Action::Replay => &["r"],
            Action::Invoice => &["i"],
            Action::SaveInvoice => &["w"],
            Action::Export => &["e"],
        }
    }
}

/// A key as written in config and shown on screen: `q`, `Enter`, `Ctrl-x`, `F1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// The keys a binding can name, ordered for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

const NAMED: [(&str, KeyCodeOrd); 16] = [
    ("Enter", KeyCodeOrd::Enter),
    ("Esc", KeyCodeOrd::Esc),
    ("Tab", KeyCodeOrd::Tab),
    ("BackTab", KeyCodeOrd::BackTab),
    ("Backspace", KeyCodeOrd::Backspace),
    ("Delete", KeyCodeOrd::Delete),
    ("Insert", KeyCodeOrd::Insert),
    ("Up", KeyCodeOrd::Up),
    ("Down", KeyCodeOrd::Down),
    ("Left", KeyCodeOrd::Left),
    ("Right", KeyCodeOrd::Right),
    ("PageUp", KeyCodeOrd::PageUp),
    ("PageDown", KeyCodeOrd::PageDown),
    ("Home", KeyCodeOrd::Home),
    ("End", KeyCodeOrd::End),
    ("Space", KeyCodeOrd::Char(' ')),
];

/// A key name that [`Key::parse`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown key {0:?}: write one character (\"q\", \"?\"), a name (Enter, Esc, Tab, \
     Space, Up, Down, Left, Right, PageUp, PageDown, Home, End, Backspace, F1..F12), \
     optionally with Ctrl- or Alt-"
)]
pub struct UnknownKey(pub String);

impl Key {
    /// Parses `q`, `Q`, `?`, `Enter`, `Space`, `F5`, `Ctrl-x`, `Alt-Enter`
    /// (names are case-insensitive; `+` works as a separator too).
    pub fn parse(text: &str) -> Result<Key, UnknownKey> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            let prefix = ["ctrl-", "ctrl+", "c-"]
                .iter()
                .chain(&["alt-", "alt+", "m-"])
                .find(|p| lower.starts_with(**p) && rest.len() > p.len());
            match prefix {
                Some(p) if p.starts_with('c') => ctrl = true,
                Some(_) => alt = true,
                None => break,
            }
            rest = &rest[prefix.map_or(0, |p| p.len())..];
        }
        let code = parse_code(rest).ok_or_else(|| UnknownKey(text.to_owned()))?;
        Ok(Key { code, ctrl, alt })
    }
}

fn parse_code(text: &str) -> Option<KeyCodeOrd> {
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(KeyCodeOrd::Char(c));
    }
    if let Some((_, code)) = NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(text)) {
        return Some(*code);
    }
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "return" => Some(KeyCodeOrd::Enter),
        "escape" => Some(KeyCodeOrd::Esc),
        "pgup" => Some(KeyCodeOrd::PageUp),
        "pgdn" | "pgdown" => Some(KeyCodeOrd::PageDown),
        _ => lower
            .strip_prefix('f')
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=24).contains(n))
            .map(KeyCodeOrd::F),
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("Space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            other => {
                let name = NAMED
                    .iter()
                    .find(|(_, c)| *c == other)
                    .map_or("?", |(n, _)| *n);
                f.write_str(name)
            }
        }
    }
}

/// `[ui.keys]` values: one key or a list of keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    pub fn keys(&self) -> Vec<&str> {
        match self {
            KeyList::One(k) => vec![k.as_str()],
            KeyList::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// `[ui.keys]` as written: action name → key(s).
pub type KeyBindings = BTreeMap<Spanned<String>, Spanned<KeyList>>;

/// Problems in `[ui.keys]`, for `floorwatch check` and start-up.
pub fn check_bindings(bindings: &KeyBindings) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut seen: HashMap<Key, &str> = HashMap::new();
    for (name, keys) in bindings {
        let Some(action) = Action::from_name(name.get_ref()) else {
            diags.push(unknown_action(name));
            continue;
        };
        for text in keys.get_ref().keys() {
            let problem = match Key::parse(text) {
                Err(unknown) => Some(unknown.to_string()),
                Ok(key) if key.ctrl && key.code == KeyCodeOrd::Char('c') => {
                    Some("Ctrl-C always quits and cannot be rebound".to_owned())
                }
                Ok(key) => match seen.insert(key, action.name()) {
                    Some(other) if other != action.name() => Some(format!(
                        "key {key} is bound to both {other:?} and {:?}",
                        action.name()
                    )),
                    _ => None,
                },
            };
            diags.extend(problem.map(|message| Diagnostic::at(keys.span(), message)));
        }
    }
    diags
}

fn unknown_action(name: &Spanned<String>) -> Diagnostic {
    let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
    Diagnostic::at(
        name.span(),
        format!(
            "unknown action {:?} in [ui.keys]; expected one of: {}",
            name.get_ref(),
            names.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(text: &str) -> KeyBindings {
        #[derive(Deserialize)]
        struct Wrap {
            keys: KeyBindings,
        }
        toml::from_str::<Wrap>(text).unwrap().keys
    }

    #[test]
    fn all_lists_every_action_once_in_declaration_order() {
        // `Ord` is declaration order, so strictly increasing means the help
        // screen lists the actions as the enum declares them, none twice.
        assert!(Action::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Action::ALL.len(), 34);
        assert_eq!(Action::ALL.first(), Some(&Action::Help));
        assert_eq!(Action::ALL.last(), Some(&Action::Export));
        let mut names = std::collections::HashSet::new();
        for &action in Action::ALL {
            assert!(names.insert(action.name()), "{} twice", action.name());
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
        assert_eq!(Action::from_name("help_me"), None);
    }

    #[test]
    fn every_default_key_parses() {
        for &action in Action::ALL {
            for key in action.default_keys() {
                assert!(Key::parse(key).is_ok(), "{}: {key}", action.name());
            }
        }
    }

    #[test]
    fn keys_parse_and_print_back() {
        for text in [
            "q",
            "?",
            "Enter",
            "Space",
            "F5",
            "Ctrl-x",
            "Alt-Enter",
            "PageDown",
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Key::parse("ctrl+x").unwrap().to_string(), "Ctrl-x");
        assert!(Key::parse("Hyper-q").is_err());
        assert!(Key::parse("F99").is_err());
    }

    #[test]
    fn bad_bindings_are_reported_where_they_are() {
        let text = "[keys]\nquitt = \"x\"\nhelp = \"Hyper-q\"\nack = \"z\"\nshelve = \"z\"\nback = \"Ctrl-c\"\n";
        let diags = check_bindings(&bindings(text));
        let messages: Vec<_> = diags.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(diags.len(), 4, "{messages:?}");
        let unknown = diags
            .iter()
            .find(|d| d.message.starts_with("unknown action \"quitt\""))
            .unwrap();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown key \"Hyper-q\""))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("key z is bound to both"))
        );
        assert!(messages.iter().any(|m| m.contains("Ctrl-C always quits")));
        let span = unknown.span.clone().unwrap();
        assert_eq!(&text[span], "quitt");
    }
}
