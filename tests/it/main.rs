//! Every end-to-end test in one binary: it links once instead of once per
//! file. A module per former test file; shared helpers are modules too.
//! Modules that need the simulators (Modbus server, in-process broker, the
//! `demo` and `simulate` subcommands) exist only with the cargo feature `demo`.

mod billing_support;
mod common;
mod csv_support;
mod export_support;
#[cfg(feature = "demo")]
mod modbus_support;
mod mqtt_support;

mod alarm_engine;
mod alarm_journal_view;
#[cfg(feature = "demo")]
mod alarm_modbus_stale;
mod alarm_seed;
#[cfg(feature = "demo")]
mod alarm_shared;
#[cfg(feature = "demo")]
mod alarm_shared_postgres;
mod billing_all;
mod billing_cli;
mod billing_consumption;
mod billing_tariffs;
mod billing_tui;
mod cli_check;
mod csv_bad_files;
mod csv_fixtures;
mod csv_import;
mod csv_replay;
mod csv_replay_tui;
mod export_aggregates;
mod export_alarms;
mod export_invoices;
mod export_readings;
mod export_roundtrip;
mod export_tui;
mod headless;
mod history_file;
mod layering;
mod listen;
#[cfg(feature = "demo")]
mod modbus_cli;
#[cfg(feature = "demo")]
mod modbus_poll;
#[cfg(feature = "demo")]
mod modbus_rtu;
#[cfg(feature = "demo")]
mod modbus_values;
mod mqtt_bursts;
mod mqtt_frames;
#[cfg(feature = "demo")]
mod mqtt_inprocess;
mod mqtt_mosquitto;
mod mqtt_restart;
mod mqtt_slow_store;
mod mqtt_tls;
mod mqtt_values;
mod no_loss;
mod postgres_concurrency;
mod postgres_faults;
mod postgres_history;
mod replay_console;
mod restart_dashboard;
mod tui_alarm_pane;
mod tui_decimals;
mod tui_footer;
mod tui_frames;
mod tui_property;
mod tui_reach;
mod tui_snapshots;
mod tui_state;
mod tui_terminal;
