//! Default locations, from the `directories` crate, overridable by
//! `FLOORWATCH_CONFIG_DIR` and `FLOORWATCH_DATA_DIR`.

use directories::ProjectDirs;
use std::path::PathBuf;

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "floorwatch")
}

pub fn config_dir() -> PathBuf {
    std::env::var_os("FLOORWATCH_CONFIG_DIR")
        .map(PathBuf::from)
        .or_else(|| project().map(|p| p.config_dir().to_owned()))
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn data_dir() -> PathBuf {
    std::env::var_os("FLOORWATCH_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| project().map(|p| p.data_dir().to_owned()))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `config.toml` in the config dir.
pub fn default_config() -> PathBuf {
    config_dir().join("config.toml")
}

/// `history.sqlite` in the data dir.
pub fn default_history() -> PathBuf {
    data_dir().join("history.sqlite")
}

/// User themes: `themes/` in the config dir.
pub fn user_themes() -> PathBuf {
    config_dir().join("themes")
}

pub fn log_file() -> PathBuf {
    data_dir().join("floorwatch.log")
}
