//! Unit tests of the evaluator, one per alarm behaviour. Over 600 lines on
//! purpose: they share the small rule builders at the top, and each test is
//! short; splitting them would only scatter those builders.

use super::*;
use crate::alarm::SensorRules;
use crate::alarm::journal::Restored;
use crate::alarm::rules::ConsumptionParams;
use crate::model::{Quality, format_ts};

const OP: &str = "alice";

fn temp() -> SensorRules {
    let mut r = SensorRules::new("t")
        .limit(Condition::Hh, 40.0, 0.5)
        .limit(Condition::H, 35.0, 0.5)
        .limit(Condition::L, 5.0, 0.5)
        .limit(Condition::Ll, 0.0, 0.5);
    r.unit = "°C".into();
    r
}

fn eval(rules: Vec<SensorRules>) -> Evaluator {
    Evaluator::new(
        AlarmSetup {
            sensors: rules,
            ..Default::default()
        },
        0,
    )
}

/// Feeds readings `(arrival ms, value)` and returns the events as (kind, key, state).
fn feed(
    e: &mut Evaluator,
    sensor: &str,
    readings: &[(i64, f64)],
) -> Vec<(EventKind, String, AlarmState)> {
    let mut out = Vec::new();
    for &(now, value) in readings {
        e.on_reading(&Reading::good(sensor, now, value), now, &mut out);
    }
    summary(&out)
}

fn summary(out: &[AlarmEvent]) -> Vec<(EventKind, String, AlarmState)> {
    out.iter()
        .map(|e| (e.kind, e.key.clone(), e.state))
        .collect()
}

fn ev(kind: EventKind, key: &str, state: AlarmState) -> (EventKind, String, AlarmState) {
    (kind, key.to_owned(), state)
}

use AlarmState::{
    Acknowledged as Acked, Normal, ReturnToNormalUnacknowledged as Rtn, Unacknowledged as Unack,
};
use EventKind::{Acked as AckedEv, Cleared, Raised};

#[test]
fn limits_raise_in_order_and_clear_past_the_deadband() {
    let mut e = eval(vec![temp()]);
    assert_eq!(feed(&mut e, "t", &[(1, 20.0)]), vec![]);
    assert_eq!(
        feed(&mut e, "t", &[(2, 36.0)]),
        vec![ev(Raised, "t/h", Unack)]
    );
    assert_eq!(
        feed(&mut e, "t", &[(3, 41.0)]),
        vec![ev(Raised, "t/hh", Unack)]
    );
    // Within the deadband of hh: still active.
    assert_eq!(feed(&mut e, "t", &[(4, 39.6)]), vec![]);
    assert_eq!(
        feed(&mut e, "t", &[(5, 39.4)]),
        vec![ev(Cleared, "t/hh", Rtn)]
    );
    assert_eq!(
        feed(&mut e, "t", &[(6, 2.0)]),
        vec![ev(Cleared, "t/h", Rtn), ev(Raised, "t/l", Unack)]
    );
    assert_eq!(
        feed(&mut e, "t", &[(7, -1.0)]),
        vec![ev(Raised, "t/ll", Unack)]
    );
    let views = e.views();
    let keys: Vec<&str> = views.iter().map(|v| v.key.as_str()).collect();
    // Critical unack first, then medium unack, then the RTN ones by priority.
    assert_eq!(keys, vec!["t/ll", "t/hh", "t/l", "t/h"]);
    assert_eq!(views[0].priority, Priority::Critical);
    assert_eq!(views[0].value, Some(-1.0));
    assert_eq!(views[0].raised_ms, 7);
    assert!(
        views[0].message.contains("below ll 0"),
        "{}",
        views[0].message
    );
}

#[test]
fn on_delay_is_completed_by_the_clock_tick() {
    let mut r = temp();
    r.delay_ms = 5_000;
    let mut e = eval(vec![r]);
    assert_eq!(feed(&mut e, "t", &[(1_000, 36.0)]), vec![]);
    let mut out = Vec::new();
    e.on_tick(5_999, &mut out);
    assert!(out.is_empty());
    e.on_tick(6_000, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "t/h", Unack)]);
    assert_eq!(out[0].ts, 6_000);
    assert_eq!(out[0].value, Some(36.0));
}

#[test]
fn a_blip_shorter_than_the_on_delay_is_never_raised() {
    let mut r = temp();
    r.delay_ms = 5_000;
    let mut e = eval(vec![r]);
    let events = feed(
        &mut e,
        "t",
        &[(0, 36.0), (4_000, 20.0), (4_500, 36.0), (9_000, 20.0)],
    );
    assert_eq!(events, vec![]);
    let mut out = Vec::new();
    e.on_tick(20_000, &mut out);
    assert!(out.is_empty());
}

#[test]
fn off_delay_keeps_the_alarm_through_short_dips() {
    let mut r = temp();
    r.off_delay_ms = 3_000;
    let mut e = eval(vec![r]);
    assert_eq!(
        feed(&mut e, "t", &[(0, 36.0)]),
        vec![ev(Raised, "t/h", Unack)]
    );
    assert_eq!(
        feed(&mut e, "t", &[(1_000, 20.0), (2_000, 36.0), (3_000, 20.0)]),
        vec![]
    );
    let mut out = Vec::new();
    e.on_tick(5_999, &mut out);
    assert!(out.is_empty());
    e.on_tick(6_000, &mut out);
    assert_eq!(summary(&out), vec![ev(Cleared, "t/h", Rtn)]);
}

#[test]
fn rate_of_change_uses_source_timestamps() {
    let mut r = SensorRules::new("p");
    r.roc_per_minute = Some(2.0);
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    // +1 in 30 s = 2/min: not above the limit.
    e.on_reading(&Reading::good("p", 0, 10.0), 100, &mut out);
    e.on_reading(&Reading::good("p", 30_000, 11.0), 200, &mut out);
    assert!(out.is_empty());
    // -2 in 30 s = -4/min.
    e.on_reading(&Reading::good("p", 60_000, 9.0), 300, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "p/roc", Unack)]);
    e.on_reading(&Reading::good("p", 120_000, 9.5), 400, &mut out);
    assert_eq!(summary(&out)[1], ev(Cleared, "p/roc", Rtn));
}

#[test]
fn a_silent_sensor_raises_stale_and_a_reading_clears_it() {
    let mut r = SensorRules::new("s");
    r.stale_ms = Some(10_000);
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("s", 1, 1.0), 1_000, &mut out);
    e.on_tick(11_000, &mut out);
    assert!(out.is_empty(), "exactly the limit is not stale yet");
    e.on_tick(11_001, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "s/stale", Unack)]);
    assert_eq!(out[0].priority, Priority::High);
    e.on_tick(20_000, &mut out);
    assert_eq!(out.len(), 1, "raised once");
    e.on_reading(&Reading::good("s", 2, 1.0), 21_000, &mut out);
    assert_eq!(summary(&out)[1], ev(Cleared, "s/stale", Rtn));
}

#[test]
fn a_sensor_that_never_reported_turns_stale_after_start() {
    let mut r = SensorRules::new("s");
    r.stale_ms = Some(10_000);
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_tick(10_001, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "s/stale", Unack)]);
}

#[test]
fn bad_quality_raises_and_is_not_compared_with_limits() {
    let mut r = temp();
    r.bad_quality = true;
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    let mut bad = Reading::good("t", 1, 99.0);
    bad.quality = Quality::Bad;
    e.on_reading(&bad, 1, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "t/bad", Unack)]);
    e.on_reading(&Reading::good("t", 2, 20.0), 2, &mut out);
    assert_eq!(summary(&out)[1], ev(Cleared, "t/bad", Rtn));
}

#[test]
fn comms_failure_from_source_status() {
    let mut e = eval(vec![]);
    let mut out = Vec::new();
    let mut status = SourceStatus::new("meter-a", crate::model::SourceKind::Modbus);
    e.on_status(&status, 1, &mut out);
    assert!(out.is_empty(), "connecting is not a failure");
    status.state = LinkState::BackingOff;
    status.last_error = Some("connection refused".into());
    e.on_status(&status, 2, &mut out);
    e.on_status(&status, 3, &mut out);
    assert_eq!(summary(&out), vec![ev(Raised, "meter-a/comms", Unack)]);
    assert_eq!(e.views()[0].message, "meter-a: connection refused");
    status.state = LinkState::Connected;
    e.on_status(&status, 4, &mut out);
    assert_eq!(summary(&out)[1], ev(Cleared, "meter-a/comms", Rtn));
}

#[test]
fn consumption_anomaly_on_a_cumulative_meter() {
    let hour = 3_600_000;
    let mut r = SensorRules::new("m");
    r.consumption = Some(ConsumptionParams {
        period_ms: hour,
        factor: 1.5,
        n: 3,
    });
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    // One reading at the start of each hour; the first hour is partial. Hours
    // 1–4 use 100 each, hour 5 uses 200 (> 1.5 × 100), hour 6 100 again.
    for (i, v) in [0.0, 100.0, 200.0, 300.0, 400.0, 500.0, 700.0, 800.0, 800.0]
        .iter()
        .enumerate()
    {
        let ts = i as i64 * hour + 1;
        e.on_reading(&Reading::good("m", ts, *v), ts, &mut out);
    }
    assert_eq!(
        summary(&out),
        vec![
            ev(Raised, "m/consumption", Unack),
            ev(Cleared, "m/consumption", Rtn)
        ]
    );
    assert_eq!(out[0].value, Some(200.0));
    assert_eq!(out[0].priority, Priority::Low);
}

#[test]
fn operator_actions_are_recorded_with_the_operator() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(1, 36.0)]);
    let mut out = Vec::new();
    e.command(
        &AlarmCommand::Ack {
            key: "t/h".into(),
            operator: OP.into(),
        },
        10,
        &mut out,
    )
    .unwrap();
    assert_eq!(summary(&out), vec![ev(AckedEv, "t/h", Acked)]);
    assert_eq!(out[0].operator, OP);
    assert_eq!(e.views()[0].acked_by.as_deref(), Some(OP));
    let again = e.command(
        &AlarmCommand::Ack {
            key: "t/h".into(),
            operator: OP.into(),
        },
        11,
        &mut out,
    );
    assert!(
        matches!(again, Err(CommandError::NotApplicable { .. })),
        "{again:?}"
    );
    let unknown = e.command(
        &AlarmCommand::Ack {
            key: "nope/h".into(),
            operator: OP.into(),
        },
        11,
        &mut out,
    );
    assert_eq!(unknown, Err(CommandError::UnknownAlarm("nope/h".into())));
    e.command(
        &AlarmCommand::Comment {
            key: "t/h".into(),
            text: "checking the pump".into(),
            operator: OP.into(),
        },
        12,
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out.last().map(|e| (e.kind, e.comment.as_str(), e.state)),
        Some((EventKind::Comment, "checking the pump", Acked))
    );
    feed(&mut e, "t", &[(20, 20.0)]);
    assert_eq!(e.views(), vec![], "acked + cleared = normal, off the list");
}

#[test]
fn ack_all_acknowledges_only_what_needs_it() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(1, 41.0), (2, 30.0), (3, 41.0)]);
    let mut out = Vec::new();
    e.command(
        &AlarmCommand::Ack {
            key: "t/hh".into(),
            operator: OP.into(),
        },
        4,
        &mut out,
    )
    .unwrap();
    out.clear();
    let keys = e.views().into_iter().map(|v| v.key).collect();
    e.command(
        &AlarmCommand::AckAll {
            keys,
            operator: OP.into(),
        },
        5,
        &mut out,
    )
    .unwrap();
    assert_eq!(summary(&out), vec![ev(AckedEv, "t/h", Acked)]);
    assert!(e.views().iter().all(|v| !v.state.needs_ack()));
}

#[test]
fn timed_shelving_is_capped_and_expires_back_to_unack() {
    let mut e = Evaluator::new(
        AlarmSetup {
            sensors: vec![temp()],
            shelve_max_ms: 60_000,
            ..Default::default()
        },
        0,
    );
    feed(&mut e, "t", &[(1, 36.0)]);
    let mut out = Vec::new();
    e.command(
        &AlarmCommand::Shelve {
            key: "t/h".into(),
            for_ms: 3_600_000,
            operator: OP.into(),
        },
        1_000,
        &mut out,
    )
    .unwrap();
    assert_eq!(out[0].shelved_until, Some(61_000), "capped at shelve_max");
    assert_eq!(out[0].comment, format!("until {}", format_ts(61_000)));
    assert_eq!(e.views()[0].state, AlarmState::Shelved);
    // Changes while shelved are silent.
    assert_eq!(feed(&mut e, "t", &[(2_000, 20.0), (3_000, 37.0)]), vec![]);
    e.on_tick(60_999, &mut out);
    assert_eq!(out.len(), 1);
    e.on_tick(61_000, &mut out);
    assert_eq!(summary(&out)[1], ev(EventKind::Unshelved, "t/h", Unack));
    assert_eq!(out[1].operator, "system");
    assert_eq!(e.views()[0].raised_ms, 61_000);
}

#[test]
fn one_shot_shelving_ends_when_the_condition_clears() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(1, 36.0)]);
    let mut out = Vec::new();
    e.command(
        &AlarmCommand::ShelveOneShot {
            key: "t/h".into(),
            operator: OP.into(),
        },
        2,
        &mut out,
    )
    .unwrap();
    assert_eq!(out[0].comment, "one-shot");
    assert_eq!(
        feed(&mut e, "t", &[(3, 20.0)]),
        vec![ev(EventKind::Unshelved, "t/h", Normal)]
    );
    assert_eq!(
        feed(&mut e, "t", &[(4, 36.0)]),
        vec![ev(Raised, "t/h", Unack)],
        "the next occurrence is annunciated"
    );
}

#[test]
fn operator_unshelve_of_an_active_alarm_reannunciates_it() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(1, 36.0)]);
    let mut out = Vec::new();
    e.command(
        &AlarmCommand::Shelve {
            key: "t/h".into(),
            for_ms: 1_000,
            operator: OP.into(),
        },
        2,
        &mut out,
    )
    .unwrap();
    e.command(
        &AlarmCommand::Unshelve {
            key: "t/h".into(),
            operator: "bob".into(),
        },
        3,
        &mut out,
    )
    .unwrap();
    assert_eq!(summary(&out)[1], ev(EventKind::Unshelved, "t/h", Unack));
    assert_eq!(out[1].operator, "bob");
}

#[test]
fn latched_alarm_needs_ack_and_reset() {
    let mut r = temp();
    r.latch = true;
    let mut e = eval(vec![r]);
    feed(&mut e, "t", &[(1, 36.0)]);
    assert_eq!(
        feed(&mut e, "t", &[(2, 20.0)]),
        vec![ev(Cleared, "t/h", Unack)]
    );
    let mut out = Vec::new();
    let reset = AlarmCommand::Reset {
        key: "t/h".into(),
        operator: OP.into(),
    };
    assert!(e.command(&reset, 3, &mut out).is_err(), "ack before reset");
    e.command(
        &AlarmCommand::Ack {
            key: "t/h".into(),
            operator: OP.into(),
        },
        4,
        &mut out,
    )
    .unwrap();
    assert_eq!(e.views()[0].state, Acked);
    e.command(&reset, 5, &mut out).unwrap();
    assert_eq!(
        summary(&out).last().cloned(),
        Some(ev(EventKind::Reset, "t/h", Normal))
    );
    assert!(e.views().is_empty());
}

#[test]
fn suppressed_alarms_are_journaled_and_listed_but_never_ring() {
    let mut r = temp();
    r.suppressed = true;
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("t", 1, 41.0), 1, &mut out);
    assert_eq!(
        summary(&out),
        vec![
            ev(Raised, "t/hh", AlarmState::Suppressed),
            ev(Raised, "t/h", AlarmState::Suppressed)
        ]
    );
    assert!(out.iter().all(|e| !e.rings_bell()));
    assert_eq!(e.views().len(), 2);
    assert!(e.views().iter().all(|v| v.state == AlarmState::Suppressed));
    feed(&mut e, "t", &[(2, 20.0)]);
    assert!(e.views().is_empty(), "suppressed and inactive: not listed");
}

#[test]
fn out_of_service_sensors_are_not_evaluated() {
    let mut r = temp();
    r.out_of_service = true;
    r.stale_ms = Some(1);
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("t", 1, 41.0), 1, &mut out);
    e.on_tick(1_000_000, &mut out);
    assert!(out.is_empty());
    assert!(
        e.views()
            .iter()
            .all(|v| v.state == AlarmState::OutOfService)
    );
    assert_eq!(e.views().len(), 5);
}

#[test]
fn the_bell_rings_for_new_high_and_critical_alarms_only() {
    let mut e = eval(vec![temp()]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("t", 1, 36.0), 1, &mut out);
    e.on_reading(&Reading::good("t", 2, 41.0), 2, &mut out);
    let rings: Vec<bool> = out.iter().map(AlarmEvent::rings_bell).collect();
    assert_eq!(rings, vec![false, true], "h is medium, hh critical");
}

#[test]
fn restored_alarms_are_not_raised_again_and_clear_on_a_normal_value() {
    let mut e = eval(vec![temp()]);
    let restored = |key: &str, condition, phase| Restored {
        key: key.into(),
        sensor: "t".into(),
        condition,
        phase,
        priority: Priority::Critical,
        value: Some(41.0),
        raised_ms: 500,
        acked_by: None,
        message: "restored".into(),
    };
    e.restore(&[
        restored("t/hh", Condition::Hh, Phase::Unacknowledged),
        restored("t/h", Condition::H, Phase::Acknowledged),
        restored("gone/h", Condition::H, Phase::Unacknowledged),
    ]);
    assert_eq!(e.views().len(), 2, "unknown sensors are dropped");
    assert_eq!(
        feed(&mut e, "t", &[(1_000, 41.0)]),
        vec![],
        "still active: not raised twice"
    );
    assert_eq!(e.views()[0].raised_ms, 500);
    assert_eq!(
        feed(&mut e, "t", &[(2_000, 20.0)]),
        vec![ev(Cleared, "t/hh", Rtn), ev(Cleared, "t/h", Normal)]
    );
}

#[test]
fn a_remote_ack_applies_to_the_current_occurrence_only() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(10_000, 36.0)]);
    let mut out = Vec::new();
    assert!(
        !e.remote_ack("t/h", 1_000, "bob", 2_000, 10_001, &mut out),
        "an older ack"
    );
    assert!(
        e.remote_ack("t/h", 9_000, "bob", 2_000, 10_002, &mut out),
        "within the skew"
    );
    assert_eq!(summary(&out), vec![ev(AckedEv, "t/h", Acked)]);
    assert_eq!(out[0].operator, "bob");
    assert!(
        !e.remote_ack("t/h", 10_000, "bob", 2_000, 10_003, &mut out),
        "already acked"
    );
}

#[test]
fn views_change_only_when_something_visible_changes() {
    let mut e = eval(vec![temp()]);
    assert!(e.take_views().is_some(), "initial list");
    feed(&mut e, "t", &[(1, 20.0), (2, 21.0)]);
    assert!(e.take_views().is_none());
    feed(&mut e, "t", &[(3, 36.0)]);
    assert_eq!(e.take_views().map(|v| v.len()), Some(1));
}

/// A rate limit of 5/min on `r`, and the 1.5 × mean-of-3 rule on hourly periods of `m`.
fn roc_and_meter() -> Vec<SensorRules> {
    let mut roc = SensorRules::new("r");
    roc.roc_per_minute = Some(5.0);
    let mut meter = SensorRules::new("m");
    meter.consumption = Some(ConsumptionParams {
        period_ms: 3_600_000,
        factor: 1.5,
        n: 3,
    });
    vec![roc, meter]
}

#[test]
fn seeded_history_judges_the_first_readings_after_a_restart() {
    let hour = 3_600_000;
    let seeds = [
        crate::alarm::SeedSeries {
            sensor: "r".into(),
            values: vec![(60_000, 12.0)],
        },
        // Period ends: 1000 (partial first), 1100, 1200, 1300, then 1600 so far in hour 4.
        crate::alarm::SeedSeries {
            sensor: "m".into(),
            values: vec![
                (hour / 2, 1000.0),
                (hour + hour / 2, 1100.0),
                (2 * hour + hour / 2, 1200.0),
                (3 * hour + hour / 2, 1300.0),
                (4 * hour + hour / 2, 1600.0),
            ],
        },
    ];
    let mut seeded = eval(roc_and_meter());
    seeded.seed(&seeds);
    assert!(seeded.views().is_empty(), "seeding raises nothing");
    // +8 in one minute from the seeded 12.
    assert_eq!(
        feed(&mut seeded, "r", &[(120_000, 20.0)]),
        vec![ev(Raised, "r/roc", Unack)]
    );
    // Hour 4 closes at 300 kWh, over 1.5 × 100.
    assert_eq!(
        feed(&mut seeded, "m", &[(5 * hour + 1, 1610.0)]),
        vec![ev(Raised, "m/consumption", Unack)]
    );
    // Without the history neither is known yet.
    let mut fresh = eval(roc_and_meter());
    assert_eq!(feed(&mut fresh, "r", &[(120_000, 20.0)]), vec![]);
    assert_eq!(feed(&mut fresh, "m", &[(5 * hour + 1, 1610.0)]), vec![]);
}

#[test]
fn a_restored_alarm_whose_condition_still_holds_on_seeded_values_is_not_raised_twice() {
    let mut e = eval(roc_and_meter());
    e.restore(&[Restored {
        key: "r/roc".into(),
        sensor: "r".into(),
        condition: Condition::Roc,
        phase: Phase::Unacknowledged,
        priority: Priority::Medium,
        value: Some(30.0),
        raised_ms: 60_000,
        acked_by: None,
        message: "restored".into(),
    }]);
    e.seed(&[crate::alarm::SeedSeries {
        sensor: "r".into(),
        values: vec![(60_000, 30.0)],
    }]);
    assert_eq!(
        feed(&mut e, "r", &[(120_000, 40.0)]),
        vec![],
        "still rising"
    );
    assert_eq!(e.views()[0].raised_ms, 60_000);
    assert_eq!(
        feed(&mut e, "r", &[(180_000, 40.5)]),
        vec![ev(Cleared, "r/roc", Rtn)]
    );
}

/// (kind, key, occurrence) of each event.
fn occurrences(out: &[AlarmEvent]) -> Vec<(EventKind, String, Option<TimestampMs>)> {
    out.iter()
        .map(|e| (e.kind, e.key.clone(), e.occurrence))
        .collect()
}

#[test]
fn a_transition_is_the_same_occurrence_on_consoles_that_got_the_reading_at_other_times() {
    // Two consoles, the same readings (source times 1_000 and 2_000), arriving
    // 40 ms apart: the events' times differ, their occurrences do not.
    let mut journals = Vec::new();
    for lag in [0, 40] {
        let mut e = eval(vec![temp()]);
        let mut out = Vec::new();
        for (ts, value) in [(1_000, 41.0), (2_000, 20.0)] {
            e.on_reading(&Reading::good("t", ts, value), ts + lag, &mut out);
        }
        e.command(
            &AlarmCommand::Ack {
                key: "t/hh".into(),
                operator: OP.into(),
            },
            3_000 + lag,
            &mut out,
        )
        .unwrap();
        journals.push(occurrences(&out));
    }
    assert_eq!(journals[0], journals[1]);
    assert_eq!(
        journals[0],
        vec![
            (Raised, "t/hh".into(), Some(1_000)),
            (Raised, "t/h".into(), Some(1_000)),
            (Cleared, "t/hh".into(), Some(2_000)),
            (Cleared, "t/h".into(), Some(2_000)),
            // An operator action is each console's own.
            (AckedEv, "t/hh".into(), None),
        ]
    );
}

#[test]
fn an_on_delayed_raise_is_the_occurrence_of_the_reading_that_started_it() {
    let mut r = temp();
    r.delay_ms = 5_000;
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("t", 700, 41.0), 1_000, &mut out);
    e.on_reading(&Reading::good("t", 2_700, 42.0), 3_000, &mut out);
    assert!(out.is_empty());
    e.on_tick(6_500, &mut out);
    let raised: Vec<_> = occurrences(&out);
    assert_eq!(
        raised,
        vec![
            (Raised, "t/hh".into(), Some(700)),
            (Raised, "t/h".into(), Some(700)),
        ]
    );
}

#[test]
fn a_stale_alarm_is_the_occurrence_of_the_last_reading_and_a_shelving_of_its_end() {
    let mut r = SensorRules::new("s");
    r.stale_ms = Some(10_000);
    let mut e = eval(vec![r]);
    let mut out = Vec::new();
    e.on_reading(&Reading::good("s", 4_000, 1.0), 5_000, &mut out);
    e.on_tick(16_000, &mut out);
    assert_eq!(
        occurrences(&out),
        vec![(Raised, "s/stale".into(), Some(4_000))]
    );
    out.clear();
    e.command(
        &AlarmCommand::Shelve {
            key: "s/stale".into(),
            for_ms: 1_000,
            operator: OP.into(),
        },
        17_000,
        &mut out,
    )
    .unwrap();
    e.on_tick(18_500, &mut out);
    assert_eq!(
        occurrences(&out),
        vec![
            (EventKind::Shelved, "s/stale".into(), None),
            (EventKind::Unshelved, "s/stale".into(), Some(18_000)),
        ]
    );
}

fn from_journal(action: SharedAction, at_ms: TimestampMs) -> AlarmCommand {
    AlarmCommand::FromJournal {
        key: "t/hh".into(),
        action,
        at_ms,
        operator: "bob".into(),
        console: "b".into(),
    }
}

#[test]
fn actions_from_the_shared_journal_change_the_state_as_the_operator_s_own_would() {
    let mut e = eval(vec![temp()]);
    feed(&mut e, "t", &[(1_000, 41.0)]);
    let mut out = Vec::new();
    let until = 90_000;
    let steps = [
        (SharedAction::Ack, Acked),
        (
            SharedAction::Shelve(Shelve::Until(until)),
            AlarmState::Shelved,
        ),
        (SharedAction::Unshelve, Unack),
        (SharedAction::Ack, Acked),
    ];
    for (i, (action, state)) in steps.into_iter().enumerate() {
        let at = 2_000 + i as i64;
        e.command(&from_journal(action, at), at, &mut out).unwrap();
        assert_eq!(e.alarm_state("t/hh"), Some(state), "after {action:?}");
    }
    assert_eq!(out[0].operator, "bob");
    // The shelving ends when it ends on the console that shelved it.
    assert_eq!(out[1].shelved_until, Some(until));
    // An ack older than the occurrence it would silence is not applied.
    feed(&mut e, "t", &[(10_000, 20.0), (60_000, 41.0)]);
    e.command(&from_journal(SharedAction::Ack, 5_000), 60_001, &mut out)
        .unwrap();
    assert_eq!(e.alarm_state("t/hh"), Some(Unack));
}
