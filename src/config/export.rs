//! `[export]`: defaults for CSV reports, and where the console's export key
//! writes its files.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportConfig {
    /// Directory for exports from the console [default: `exports/` in the data dir].
    pub dir: Option<PathBuf>,
    /// Field delimiter: one character, or `"tab"`.
    pub delimiter: Option<String>,
    /// `1,5` instead of `1.5`.
    #[serde(default)]
    pub decimal_comma: bool,
    /// UTF-8 byte-order mark first (for Excel).
    #[serde(default)]
    pub bom: bool,
}

impl ExportConfig {
    pub fn dir(&self) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| crate::paths::data_dir().join("exports"))
    }
}
