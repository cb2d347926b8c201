//! floorwatch: a terminal operator console for plant-floor telemetry.
//!
//! Data flows one way: sources ([`source`]) → [`engine`] → history
//! ([`store`]) and UI state → drawing ([`ui`]).

pub mod alarm;
pub mod app;
pub mod billing;
pub mod cmd;
pub mod config;
pub mod csvio;
pub mod demo;
pub mod engine;
pub mod error;
pub mod logging;
pub mod model;
pub mod paths;
pub mod report;
pub mod source;
pub mod store;
pub mod ui;
