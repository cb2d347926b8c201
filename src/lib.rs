//! floorwatch: a terminal operator console for plant-floor telemetry.
//!
//! Data flows one way: sources ([`source`]) → [`engine`] → history
//! ([`store`]) and UI state → drawing ([`ui`]).
//!
//! Layers, lowest first; a module uses the ones below it, never one above
//! (`tests/it/layering.rs` enforces it):
//! 1. leaves: [`model`], [`paths`], [`logging`]
//! 2. [`config`] — the TOML model, its syntax types (urls, topic routes,
//!    payload layouts, keys), spans and validation; what only upper layers
//!    know (themes, TLS files) is passed in as [`config::Surroundings`]
//! 3. [`error`] — exit codes and how errors are printed
//! 4. [`store`] — the history file (schema, writer, queries)
//! 5. domain on plain data: [`alarm`], [`billing`], [`csvio`], [`report`]
//! 6. [`source`] — MQTT, Modbus, simulated and replayed feeds
//! 7. [`engine`] — the one place live state changes
//! 8. [`app`] — wiring of a running plant
//! 9. [`ui`] — the console
//! 10. `demo`, `sim` — the simulated plant and the simulators (Modbus server,
//!     in-process MQTT broker); only with the default cargo feature `demo`
//! 11. [`cmd`] — one file per subcommand: parse, orchestrate, exit code

pub mod alarm;
pub mod app;
pub mod billing;
pub mod cmd;
pub mod config;
pub mod csvio;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod error;
pub mod logging;
pub mod model;
pub mod paths;
pub mod report;
#[cfg(feature = "demo")]
pub mod sim;
pub mod source;
pub mod store;
pub mod tls;
pub mod ui;
