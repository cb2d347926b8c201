//! The key map: named actions, their default keys, and `[ui.keys]` rebinding.
//! The footer hints and the help screen are generated from it, so what the
//! operator reads is always what the keys do.

use crate::config::Diagnostic;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
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

    /// One line for the help screen.
    pub fn description(self) -> &'static str {
        match self {
            Action::Help => "show this help",
            Action::Quit => "quit (confirms if unacked)",
            Action::Filter => "filter by text",
            Action::Detail => "open detail / fold group",
            Action::Back => "back, close, clear filter",
            Action::NextPane => "next pane: alarms, status",
            Action::Status => "source status",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::Left => "move left / pan back",
            Action::Right => "move right / pan forward",
            Action::PageUp => "previous page",
            Action::PageDown => "next page",
            Action::First => "first sensor",
            Action::Last => "last sensor / back to now",
            Action::NextGroup => "next group",
            Action::PrevGroup => "previous group",
            Action::ToggleGroup => "fold / unfold group",
            Action::Ack => "acknowledge alarm",
            Action::AckAll => "acknowledge all visible",
            Action::Shelve => "shelve alarm for a while",
            Action::Unshelve => "unshelve alarm",
            Action::Comment => "comment on alarm (journal)",
            Action::Reset => "reset latched alarm",
            Action::Journal => "alarm journal and KPIs",
            Action::CyclePriority => "journal priority filter",
            Action::CycleKind => "journal event/state filter",
            Action::ZoomIn => "shorter history window",
            Action::ZoomOut => "longer history window",
            Action::NextTheme => "next theme",
            Action::Replay => "replay a CSV file",
            Action::Invoice => "invoice for the meter",
            Action::SaveInvoice => "save the invoice preview",
            Action::Export => "export view to CSV",
        }
    }

    /// Short label for the footer.
    pub fn hint(self) -> &'static str {
        match self {
            Action::Help => "help",
            Action::Quit => "quit",
            Action::Filter => "filter",
            Action::Detail => "detail",
            Action::Back => "back",
            Action::NextPane => "pane",
            Action::Ack => "ack",
            Action::AckAll => "ack all",
            Action::Shelve => "shelve",
            Action::NextTheme => "theme",
            Action::ZoomIn => "zoom in",
            Action::ZoomOut => "zoom out",
            Action::Left => "pan",
            Action::Status => "status",
            Action::SaveInvoice => "save",
            Action::CyclePriority => "priority",
            Action::CycleKind => "event",
            other => other.name(),
        }
    }

    fn default_keys(self) -> &'static [&'static str] {
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

/// `KeyCode` restricted to what a binding can name, ordered for display.
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

impl Key {
    /// Parses `q`, `Q`, `?`, `Enter`, `Space`, `F5`, `Ctrl-x`, `Alt-Enter`
    /// (names are case-insensitive; `+` works as a separator too).
    pub fn parse(text: &str) -> Result<Key, String> {
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
        let code = parse_code(rest).ok_or_else(|| {
            format!(
                "unknown key {text:?}: write one character (\"q\", \"?\"), a name (Enter, Esc, Tab, \
                 Space, Up, Down, Left, Right, PageUp, PageDown, Home, End, Backspace, F1..F12), \
                 optionally with Ctrl- or Alt-"
            )
        })?;
        Ok(Key { code, ctrl, alt })
    }

    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Insert => KeyCodeOrd::Insert,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            _ => return None,
        };
        // Shift is already in the character ('A' vs 'a'), so it is not part of the key.
        Some(Key {
            code,
            ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
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

#[derive(Clone, Debug)]
pub struct KeyMap {
    by_key: HashMap<Key, Action>,
    by_action: BTreeMap<Action, Vec<Key>>,
}

impl Default for KeyMap {
    fn default() -> Self {
        let mut by_action = BTreeMap::new();
        for &action in Action::ALL {
            let keys = action
                .default_keys()
                .iter()
                .filter_map(|k| Key::parse(k).ok())
                .collect();
            by_action.insert(action, keys);
        }
        KeyMap::from_actions(by_action)
    }
}

impl KeyMap {
    fn from_actions(by_action: BTreeMap<Action, Vec<Key>>) -> Self {
        let mut by_key = HashMap::new();
        for (action, keys) in &by_action {
            for key in keys {
                by_key.insert(*key, *action);
            }
        }
        KeyMap { by_key, by_action }
    }

    /// The defaults with `[ui.keys]` applied: a rebound action loses its default
    /// keys, and a key taken by a rebinding is removed from every other action.
    pub fn with_bindings(bindings: &KeyBindings) -> Result<KeyMap, Vec<Diagnostic>> {
        let diags = check_bindings(bindings);
        if !diags.is_empty() {
            return Err(diags);
        }
        let mut by_action = KeyMap::default().by_action;
        let mut taken = Vec::new();
        for (name, keys) in bindings {
            let Some(action) = Action::from_name(name.get_ref()) else {
                continue;
            };
            let keys: Vec<Key> = keys
                .get_ref()
                .keys()
                .iter()
                .filter_map(|k| Key::parse(k).ok())
                .collect();
            taken.extend(keys.iter().copied());
            by_action.insert(action, keys);
        }
        for (action, keys) in by_action.iter_mut() {
            if bindings.keys().any(|n| n.get_ref() == action.name()) {
                continue;
            }
            keys.retain(|k| !taken.contains(k));
        }
        Ok(KeyMap::from_actions(by_action))
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        Key::from_event(event).and_then(|k| self.by_key.get(&k).copied())
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.by_action.get(&action).map_or(&[], Vec::as_slice)
    }

    /// `"? F1"`, or `"—"` for an action with no key.
    pub fn label(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "—".into();
        }
        keys.iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The first key of an action, for footer hints.
    pub fn first(&self, action: Action) -> Option<Key> {
        self.keys(action).first().copied()
    }
}

/// Problems in `[ui.keys]`, for `floorwatch check` and start-up.
pub fn check_bindings(bindings: &KeyBindings) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut seen: HashMap<Key, &str> = HashMap::new();
    for (name, keys) in bindings {
        let Some(action) = Action::from_name(name.get_ref()) else {
            let names: Vec<_> = Action::ALL.iter().map(|a| a.name()).collect();
            diags.push(Diagnostic::at(
                name.span(),
                format!(
                    "unknown action {:?} in [ui.keys]; expected one of: {}",
                    name.get_ref(),
                    names.join(", ")
                ),
            ));
            continue;
        };
        for text in keys.get_ref().keys() {
            match Key::parse(text) {
                Err(message) => diags.push(Diagnostic::at(keys.span(), message)),
                Ok(key) if key.ctrl && key.code == KeyCodeOrd::Char('c') => diags.push(
                    Diagnostic::at(keys.span(), "Ctrl-C always quits and cannot be rebound"),
                ),
                Ok(key) => {
                    if let Some(other) = seen.insert(key, action.name())
                        && other != action.name()
                    {
                        diags.push(Diagnostic::at(
                            keys.span(),
                            format!(
                                "key {key} is bound to both {other:?} and {:?}",
                                action.name()
                            ),
                        ));
                    }
                }
            }
        }
    }
    diags
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

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn every_product_default_key_has_an_action() {
        let map = KeyMap::default();
        let cases = [
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('q'), Action::Quit),
            (KeyCode::Char('/'), Action::Filter),
            (KeyCode::Enter, Action::Detail),
            (KeyCode::Esc, Action::Back),
            (KeyCode::Tab, Action::NextPane),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::Up, Action::Up),
            (KeyCode::Char('h'), Action::Left),
            (KeyCode::Char('l'), Action::Right),
            (KeyCode::Char('a'), Action::Ack),
            (KeyCode::Char('A'), Action::AckAll),
            (KeyCode::Char('s'), Action::Shelve),
            (KeyCode::Char('r'), Action::Replay),
            (KeyCode::Char('i'), Action::Invoice),
            (KeyCode::Char('e'), Action::Export),
            (KeyCode::Char('t'), Action::NextTheme),
        ];
        for (code, action) in cases {
            assert_eq!(map.action(&press(code, KeyModifiers::NONE)), Some(action));
        }
        // Terminals report 'A' with SHIFT; the shift is in the character.
        assert_eq!(
            map.action(&press(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Action::AckAll)
        );
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
    fn rebinding_replaces_defaults_and_steals_the_key() {
        let map = KeyMap::with_bindings(&bindings(
            "[keys]\nquit = \"x\"\nhelp = [\"a\", \"F1\"]\nack = \"Enter\"\n",
        ))
        .unwrap();
        let x = press(KeyCode::Char('x'), KeyModifiers::NONE);
        let q = press(KeyCode::Char('q'), KeyModifiers::NONE);
        let a = press(KeyCode::Char('a'), KeyModifiers::NONE);
        let enter = press(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(map.action(&x), Some(Action::Quit));
        assert_eq!(map.action(&q), None);
        assert_eq!(map.action(&a), Some(Action::Help));
        assert_eq!(map.action(&enter), Some(Action::Ack));
        assert_eq!(map.keys(Action::Detail), &[] as &[Key]);
        assert_eq!(map.label(Action::Help), "a F1");
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
