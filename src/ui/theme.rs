//! Themes are data: TOML files in `themes/` (built in) and in the user's
//! config dir. A theme names a style for each role on screen; colours are
//! `"#rrggbb"`, ANSI names (`"red"`, `"dark gray"`) or `"reset"`.
//!
//! The terminal's abilities are applied on load: `NO_COLOR` drops every
//! colour (the modifiers still tell states apart), and without truecolor
//! RGB colours become the nearest of the 16 ANSI colours.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Built-in themes, in cycling order; `default` first.
pub const BUILTIN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Every role a theme styles.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub header: Style,
    pub footer: Style,
    pub key: Style,
    pub border: Style,
    pub focus_border: Style,
    pub title: Style,
    pub selected: Style,
    pub dim: Style,
    pub group: Style,
    pub value: Style,
    pub normal: Style,
    pub warning: Style,
    pub alarm: Style,
    pub unack: Style,
    pub stale: Style,
    pub bad: Style,
    pub gauge_empty: Style,
    pub sparkline: Style,
    pub chart: Style,
    pub limit: Style,
    pub toast: Style,
    pub dialog: Style,
}

/// Why a theme file does not load.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    #[error("styles.{role}: {colour}")]
    Style {
        role: &'static str,
        #[source]
        colour: UnknownColour,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown colour {0:?}: use \"#rrggbb\", an ANSI name like \"red\", or \"reset\"")]
pub struct UnknownColour(pub String);

/// A user theme that could not be loaded: a warning, never fatal.
#[derive(Debug, thiserror::Error)]
#[error("theme {}: {problem}", .path.display())]
pub struct ThemeFileError {
    pub path: PathBuf,
    #[source]
    pub problem: ThemeFileProblem,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeFileProblem {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Parse(#[from] ThemeError),
}

/// How a style is written in a theme file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    styles: StyleSpecs,
}

macro_rules! roles {
    ($($role:ident),* $(,)?) => {
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct StyleSpecs { $( #[serde(default)] $role: Option<StyleSpec>, )* }

        impl StyleSpecs {
            fn build(&self, name: String) -> Result<Theme, ThemeError> {
                let mut theme = Theme { name, ..Theme::default() };
                $( if let Some(spec) = &self.$role {
                    theme.$role = spec.style().map_err(|colour| ThemeError::Style {
                        role: stringify!($role),
                        colour,
                    })?;
                } )*
                Ok(theme)
            }
        }

        impl Theme {
            /// Applies `f` to every style (colour fallbacks).
            fn map_styles(mut self, f: impl Fn(Style) -> Style) -> Theme {
                $( self.$role = f(self.$role); )*
                self
            }
        }
    };
}

roles!(
    base,
    header,
    footer,
    key,
    border,
    focus_border,
    title,
    selected,
    dim,
    group,
    value,
    normal,
    warning,
    alarm,
    unack,
    stale,
    bad,
    gauge_empty,
    sparkline,
    chart,
    limit,
    toast,
    dialog,
);

impl StyleSpec {
    fn style(&self) -> Result<Style, UnknownColour> {
        let mut style = Style::default();
        if let Some(fg) = &self.fg {
            style = style.fg(parse_color(fg)?);
        }
        if let Some(bg) = &self.bg {
            style = style.bg(parse_color(bg)?);
        }
        let flags = [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ];
        for (on, modifier) in flags {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        Ok(style)
    }
}

fn parse_color(text: &str) -> Result<Color, UnknownColour> {
    Color::from_str(text).map_err(|_| UnknownColour(text.to_owned()))
}

impl Theme {
    /// Parses a theme file; `fallback_name` is used when it has no `name`.
    pub fn parse(text: &str, fallback_name: &str) -> Result<Theme, ThemeError> {
        let file: ThemeFile = toml::from_str(text)?;
        let _ = file.description;
        let name = file.name.unwrap_or_else(|| fallback_name.to_owned());
        file.styles.build(name)
    }

    /// Adapts the theme to what the terminal can show.
    pub fn for_terminal(self, colors: ColorSupport) -> Theme {
        match colors {
            ColorSupport::TrueColor => self,
            ColorSupport::Ansi16 => {
                let page = self.base.bg.map(|bg| to_ansi16(bg, None));
                self.map_styles(|s| {
                    let bg = s.bg.map(|bg| to_ansi16(bg, None));
                    // Text drawn on its own background or the page's.
                    let fg = s.fg.map(|fg| to_ansi16(fg, bg.or(page)));
                    Style { fg, bg, ..s }
                })
            }
            ColorSupport::None => self.map_styles(|s| Style {
                fg: None,
                bg: None,
                ..s
            }),
        }
    }
}

/// What the terminal can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorSupport {
    TrueColor,
    Ansi16,
    None,
}

impl ColorSupport {
    /// From the environment: `NO_COLOR` (any non-empty value) wins, then
    /// `COLORTERM=truecolor|24bit`; anything else gets the 16 ANSI colours.
    pub fn detect() -> ColorSupport {
        let var = |name| std::env::var(name).unwrap_or_default();
        if !var("NO_COLOR").is_empty() {
            ColorSupport::None
        } else if matches!(var("COLORTERM").as_str(), "truecolor" | "24bit") {
            ColorSupport::TrueColor
        } else {
            ColorSupport::Ansi16
        }
    }
}

const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

/// The nearest of the 16 ANSI colours (xterm's palette) to an RGB colour,
/// other than `background` (text must not vanish into its background when
/// two colours of a theme fall on one ANSI colour).
fn to_ansi16(color: Color, background: Option<Color>) -> Color {
    let Color::Rgb(r, g, b) = color else {
        return color;
    };
    let distance = |(cr, cg, cb): (u8, u8, u8)| {
        let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).pow(2);
        d(r, cr) * 3 + d(g, cg) * 4 + d(b, cb) * 2
    };
    ANSI16
        .iter()
        .filter(|(c, _)| Some(*c) != background)
        .min_by_key(|(_, rgb)| distance(*rgb))
        .map_or(color, |(c, _)| *c)
}

/// The themes the operator can cycle through: built-ins, then user themes
/// (`*.toml` in `dir`; a user theme with a built-in's name replaces it).
/// Unreadable user themes are returned as warnings, never fatal.
pub fn load_all(user_dir: Option<&Path>) -> (Vec<Theme>, Vec<ThemeFileError>) {
    let mut themes: Vec<Theme> = BUILTIN
        .iter()
        .filter_map(|(name, text)| Theme::parse(text, name).ok())
        .collect();
    let mut warnings = Vec::new();
    let Some(dir) = user_dir else {
        return (themes, warnings);
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (themes, warnings);
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        match load_file(&path) {
            Ok(theme) => match themes.iter_mut().find(|t| t.name == theme.name) {
                Some(existing) => *existing = theme,
                None => themes.push(theme),
            },
            Err(problem) => warnings.push(ThemeFileError { path, problem }),
        }
    }
    (themes, warnings)
}

/// A user theme file; its name defaults to the file's stem.
fn load_file(path: &Path) -> Result<Theme, ThemeFileProblem> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = std::fs::read_to_string(path)?;
    Ok(Theme::parse(&text, &stem)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_and_styles_every_alarm_role() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(theme.name, name);
            // Without colour, alarms and stale values must still look different.
            let plain = theme.clone().for_terminal(ColorSupport::None);
            for (role, style) in [
                ("unack", plain.unack),
                ("alarm", plain.alarm),
                ("stale", plain.stale),
                ("selected", plain.selected),
            ] {
                assert_ne!(
                    (style.add_modifier, style.sub_modifier),
                    (Modifier::empty(), Modifier::empty()),
                    "{name}.{role} needs a modifier for NO_COLOR terminals"
                );
            }
        }
    }

    /// WCAG 2 relative luminance of an sRGB colour.
    fn luminance(color: Color) -> Option<f64> {
        let Color::Rgb(r, g, b) = color else {
            return None;
        };
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        Some(0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b))
    }

    /// WCAG 2 contrast ratio of two colours (1 to 21).
    fn contrast(a: Color, b: Color) -> Option<f64> {
        let (la, lb) = (luminance(a)?, luminance(b)?);
        Some((la.max(lb) + 0.05) / (la.min(lb) + 0.05))
    }

    /// Text roles have WCAG contrast against their background (their own,
    /// or the page's): 4.5:1 (AA), 7:1 (AAA) in `high-contrast`. Borders,
    /// gauges and charts are graphics, not text; `mono` has no colours.
    #[test]
    fn text_roles_meet_wcag_contrast_in_every_builtin_theme() {
        let mut problems = Vec::new();
        for (name, text) in BUILTIN {
            let t = Theme::parse(text, name).unwrap();
            let minimum = if name == "high-contrast" { 7.0 } else { 4.5 };
            let roles = [
                ("base", t.base),
                ("header", t.header),
                ("footer", t.footer),
                ("key", t.key),
                ("title", t.title),
                ("selected", t.selected),
                ("dim", t.dim),
                ("group", t.group),
                ("value", t.value),
                ("normal", t.normal),
                ("warning", t.warning),
                ("alarm", t.alarm),
                ("unack", t.unack),
                ("stale", t.stale),
                ("bad", t.bad),
                ("limit", t.limit),
                ("toast", t.toast),
                ("dialog", t.dialog),
            ];
            for (role, style) in roles {
                let (Some(fg), Some(bg)) = (style.fg, style.bg.or(t.base.bg)) else {
                    continue;
                };
                if let Some(ratio) = contrast(fg, bg).filter(|r| *r < minimum) {
                    problems.push(format!("{name}.{role}: {ratio:.2}:1 < {minimum}:1"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn colour_fallbacks() {
        let theme = Theme {
            alarm: Style::default()
                .fg(Color::Rgb(250, 10, 10))
                .bg(Color::Rgb(10, 10, 10)),
            ..Theme::default()
        };
        let ansi = theme.clone().for_terminal(ColorSupport::Ansi16);
        assert_eq!(ansi.alarm.fg, Some(Color::LightRed));
        assert_eq!(ansi.alarm.bg, Some(Color::Black));
        let none = theme.for_terminal(ColorSupport::None);
        assert_eq!((none.alarm.fg, none.alarm.bg), (None, None));
    }

    #[test]
    fn user_themes_add_and_replace_and_bad_ones_are_warnings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("plantfloor.toml"),
            "[styles]\nalarm = { fg = \"#ff0000\", bold = true }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("light.toml"),
            "name = \"light\"\n[styles]\nbase = { fg = \"black\" }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("broken.toml"),
            "[styles]\nalarm = { fg = \"nope\" }\n",
        )
        .unwrap();
        let (themes, warnings) = load_all(Some(dir.path()));
        let names: Vec<_> = themes.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["default", "light", "high-contrast", "mono", "plantfloor"]
        );
        assert_eq!(themes[1].base, Style::default().fg(Color::Black));
        assert_eq!(warnings.len(), 1);
        let warning = warnings[0].to_string();
        assert!(warning.contains("broken.toml") && warning.contains("\"nope\""));
        assert_eq!(
            warning,
            format!(
                "theme {}: styles.alarm: unknown colour \"nope\": \
                 use \"#rrggbb\", an ANSI name like \"red\", or \"reset\"",
                dir.path().join("broken.toml").display()
            )
        );
    }
}
