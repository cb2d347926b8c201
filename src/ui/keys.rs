//! The key map: the default keys with `[ui.keys]` applied (actions, keys and
//! their checks are `config::keys`), and what the screen says of each action.
//! The footer hints and the help screen are generated from it, so what the
//! operator reads is always what the keys do.

use crate::config::Diagnostic;
use crate::config::keys::check_bindings;
pub use crate::config::keys::{Action, Key, KeyBindings, KeyCodeOrd};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

/// What the console shows of an action (its name and default keys are config's).
impl Action {
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
}

/// The key an event stands for, if a binding can name it.
fn key_of(event: &KeyEvent) -> Option<Key> {
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
        key_of(event).and_then(|k| self.by_key.get(&k).copied())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(text: &str) -> KeyBindings {
        #[derive(serde::Deserialize)]
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
}
