//! `floorwatch export alarms`: the journal with operators, comments and
//! raised→cleared durations, filtered by time, priority and sensor.

use crate::common;
use crate::export_support;

use export_support::*;
use floorwatch::store::AlarmEventRow;

const T0: i64 = 1_790_000_000_000;

fn event(ts: i64, sensor: &str, condition: &str, event: &str, priority: &str) -> AlarmEventRow {
    AlarmEventRow {
        ts,
        sensor: sensor.into(),
        condition: condition.into(),
        event: event.into(),
        state: String::new(),
        value: None,
        priority: priority.into(),
        operator: String::new(),
        comment: String::new(),
        ..Default::default()
    }
}

fn journal(db: &floorwatch::store::Location) {
    let mut raised = event(T0, "line1.temp", "hh", "raised", "high");
    raised.value = Some(41.5);
    raised.state = "unack".into();
    let mut acked = event(T0 + 30_000, "line1.temp", "hh", "acked", "high");
    acked.operator = "maria".into();
    acked.state = "acked".into();
    let mut comment = event(T0 + 45_000, "line1.temp", "hh", "comment", "high");
    comment.operator = "maria".into();
    comment.comment = "=cmd|' /C calc'!A0 checked the fan".into();
    let mut cleared = event(T0 + 90_500, "line1.temp", "hh", "cleared", "high");
    cleared.value = Some(34.0);
    let low_raise = event(T0 + 10_000, "line1.vibration", "h", "raised", "low");
    let low_clear = event(T0 + 20_000, "line1.vibration", "h", "cleared", "low");
    // A clear with no raise in the journal: no duration.
    let orphan = event(T0 + 95_000, "main.power", "stale", "cleared", "high");
    write_history(
        db,
        vec![],
        vec![],
        vec![
            raised, low_raise, low_clear, acked, comment, cleared, orphan,
        ],
    );
}

#[test]
fn journal_rows_carry_operator_comment_and_duration() {
    for h in common::histories() {
        journal(&h.location);
        let db = h.arg.as_str();
        let text = export_ok(&["alarms", "--epoch", "--db", db]);
        let (header, rows) = parse_csv(&text, b',');
        assert_eq!(
            header,
            [
                "time_epoch_ms",
                "sensor",
                "condition",
                "event",
                "state",
                "priority",
                "value",
                "operator",
                "comment",
                "raised_epoch_ms",
                "duration_s"
            ]
        );
        let events: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r[1].as_str(), r[3].as_str()))
            .collect();
        assert_eq!(
            events,
            [
                ("line1.temp", "raised"),
                ("line1.vibration", "raised"),
                ("line1.vibration", "cleared"),
                ("line1.temp", "acked"),
                ("line1.temp", "comment"),
                ("line1.temp", "cleared"),
                ("main.power", "cleared"),
            ]
        );
        assert_eq!(rows[0][6], "41.5");
        assert_eq!(rows[3][7], "maria");
        assert_eq!(rows[4][8], "'=cmd|' /C calc'!A0 checked the fan");
        assert_eq!(rows[5][9], T0.to_string());
        assert_eq!(rows[5][10], "90.5");
        assert_eq!(rows[2][10], "10");
        assert_eq!((rows[6][9].as_str(), rows[6][10].as_str()), ("", ""));
    }
}

#[test]
fn filters_by_time_priority_and_sensor_and_keeps_durations_from_before_the_range() {
    for h in common::histories() {
        journal(&h.location);
        let db = h.arg.as_str();
        let from = rfc3339_in(chrono_tz::UTC, T0 + 25_000);
        let text = export_ok(&[
            "alarms",
            "--db",
            db,
            "--tz",
            "Europe/Paris",
            "--from",
            &from,
            "--priority",
            "HIGH",
            "--sensor",
            "line1.*",
        ]);
        let (_, rows) = parse_csv(&text, b',');
        let events: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
        assert_eq!(events, ["acked", "comment", "cleared"]);
        let cleared = &rows[2];
        // Raised before --from, still found; times in Paris time.
        assert_eq!(cleared[9], rfc3339_in(chrono_tz::Europe::Paris, T0));
        assert_eq!(cleared[10], "90.5");
        assert!(cleared[0].ends_with("+02:00"), "{}", cleared[0]);
    }
}
