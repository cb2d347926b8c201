use super::*;
use EventKind::{Acked, Cleared, Comment, Raised, Reset, Unshelved};
use Phase::*;
use proptest::prelude::*;

const T: TimestampMs = 1_000;
const SHELF: Phase = Phase::Shelved(Shelve::Until(5_000));
const ONESHOT: Phase = Phase::Shelved(Shelve::OneShot);

/// (phase, active, latch, input, now) → expected (event, phase after), or None.
#[allow(clippy::type_complexity)]
const TABLE: &[(
    Phase,
    bool,
    bool,
    Input,
    TimestampMs,
    Option<(EventKind, Phase)>,
)] = &[
    // Raising
    (
        Normal,
        false,
        false,
        Input::Condition(true),
        T,
        Some((Raised, Unacknowledged)),
    ),
    (
        Normal,
        false,
        true,
        Input::Condition(true),
        T,
        Some((Raised, Unacknowledged)),
    ),
    (
        ReturnToNormalUnacknowledged,
        false,
        false,
        Input::Condition(true),
        T,
        Some((Raised, Unacknowledged)),
    ),
    // The same condition again is not a transition ("nothing raised twice").
    (Unacknowledged, true, false, Input::Condition(true), T, None),
    (Acknowledged, true, false, Input::Condition(true), T, None),
    (Normal, false, false, Input::Condition(false), T, None),
    (
        ReturnToNormalUnacknowledged,
        false,
        false,
        Input::Condition(false),
        T,
        None,
    ),
    // Clearing
    (
        Unacknowledged,
        true,
        false,
        Input::Condition(false),
        T,
        Some((Cleared, ReturnToNormalUnacknowledged)),
    ),
    (
        Acknowledged,
        true,
        false,
        Input::Condition(false),
        T,
        Some((Cleared, Normal)),
    ),
    // Latching: clearing does not leave Unack/Acked
    (
        Unacknowledged,
        true,
        true,
        Input::Condition(false),
        T,
        Some((Cleared, Unacknowledged)),
    ),
    (
        Acknowledged,
        true,
        true,
        Input::Condition(false),
        T,
        Some((Cleared, Acknowledged)),
    ),
    (
        Acknowledged,
        false,
        true,
        Input::Condition(true),
        T,
        Some((Raised, Unacknowledged)),
    ),
    (
        Unacknowledged,
        false,
        true,
        Input::Condition(true),
        T,
        Some((Raised, Unacknowledged)),
    ),
    // Acknowledging
    (
        Unacknowledged,
        true,
        false,
        Input::Ack,
        T,
        Some((Acked, Acknowledged)),
    ),
    (
        ReturnToNormalUnacknowledged,
        false,
        false,
        Input::Ack,
        T,
        Some((Acked, Normal)),
    ),
    (
        Unacknowledged,
        false,
        true,
        Input::Ack,
        T,
        Some((Acked, Acknowledged)),
    ),
    (
        Unacknowledged,
        true,
        true,
        Input::Ack,
        T,
        Some((Acked, Acknowledged)),
    ),
    (Acknowledged, true, false, Input::Ack, T, None),
    (Normal, false, false, Input::Ack, T, None),
    (SHELF, true, false, Input::Ack, T, None),
    (Suppressed, true, false, Input::Ack, T, None),
    (OutOfService, false, false, Input::Ack, T, None),
    // Reset (latched alarms)
    (
        Acknowledged,
        false,
        true,
        Input::Reset,
        T,
        Some((Reset, Normal)),
    ),
    (Acknowledged, true, true, Input::Reset, T, None),
    (Unacknowledged, false, true, Input::Reset, T, None),
    (Normal, false, true, Input::Reset, T, None),
    (Acknowledged, true, false, Input::Reset, T, None),
    // Shelving from every annunciated phase, and re-shelving
    (
        Normal,
        false,
        false,
        Input::Shelve(Shelve::OneShot),
        T,
        Some((EventKind::Shelved, ONESHOT)),
    ),
    (
        Unacknowledged,
        true,
        false,
        Input::Shelve(Shelve::Until(5_000)),
        T,
        Some((EventKind::Shelved, SHELF)),
    ),
    (
        Acknowledged,
        true,
        false,
        Input::Shelve(Shelve::OneShot),
        T,
        Some((EventKind::Shelved, ONESHOT)),
    ),
    (
        ReturnToNormalUnacknowledged,
        false,
        false,
        Input::Shelve(Shelve::Until(5_000)),
        T,
        Some((EventKind::Shelved, SHELF)),
    ),
    (
        ONESHOT,
        true,
        false,
        Input::Shelve(Shelve::Until(5_000)),
        T,
        Some((EventKind::Shelved, SHELF)),
    ),
    (
        Suppressed,
        true,
        false,
        Input::Shelve(Shelve::OneShot),
        T,
        None,
    ),
    (
        OutOfService,
        false,
        false,
        Input::Shelve(Shelve::OneShot),
        T,
        None,
    ),
    // While shelved the condition is tracked silently
    (SHELF, false, false, Input::Condition(true), T, None),
    (SHELF, true, false, Input::Condition(false), T, None),
    (ONESHOT, false, false, Input::Condition(true), T, None),
    // One-shot shelving ends when the condition returns to normal
    (
        ONESHOT,
        true,
        false,
        Input::Condition(false),
        T,
        Some((Unshelved, Normal)),
    ),
    // Unshelving: back to Unack if the condition holds, else Normal
    (
        SHELF,
        true,
        false,
        Input::Unshelve,
        T,
        Some((Unshelved, Unacknowledged)),
    ),
    (
        SHELF,
        false,
        false,
        Input::Unshelve,
        T,
        Some((Unshelved, Normal)),
    ),
    (
        ONESHOT,
        true,
        false,
        Input::Unshelve,
        T,
        Some((Unshelved, Unacknowledged)),
    ),
    (Normal, false, false, Input::Unshelve, T, None),
    (Unacknowledged, true, false, Input::Unshelve, T, None),
    // Timed shelving expires exactly at its end
    (SHELF, true, false, Input::Tick, 4_999, None),
    (
        SHELF,
        true,
        false,
        Input::Tick,
        5_000,
        Some((Unshelved, Unacknowledged)),
    ),
    (
        SHELF,
        false,
        false,
        Input::Tick,
        9_000,
        Some((Unshelved, Normal)),
    ),
    (ONESHOT, true, false, Input::Tick, i64::MAX, None),
    (Unacknowledged, true, false, Input::Tick, T, None),
    // Suppressed by config: evaluated and journaled, never annunciated
    (
        Suppressed,
        false,
        false,
        Input::Condition(true),
        T,
        Some((Raised, Suppressed)),
    ),
    (
        Suppressed,
        true,
        false,
        Input::Condition(false),
        T,
        Some((Cleared, Suppressed)),
    ),
    (Suppressed, true, false, Input::Unshelve, T, None),
    // Out of service: nothing applies
    (OutOfService, false, false, Input::Condition(true), T, None),
    (OutOfService, true, false, Input::Condition(false), T, None),
    (OutOfService, false, false, Input::Reset, T, None),
    (OutOfService, false, false, Input::Tick, i64::MAX, None),
];

#[test]
fn every_row_of_the_transition_table() {
    for (i, &(phase, active, latch, input, now, expected)) in TABLE.iter().enumerate() {
        let mut m = Machine::with_phase(phase, active, latch);
        let step = m.step(input, now);
        assert_eq!(
            step.map(|s| (s.kind, s.to)),
            expected,
            "row {i}: {phase:?} active={active} latch={latch} {input:?}"
        );
        match step {
            Some(s) => {
                assert_eq!(s.from, phase, "row {i}");
                assert_eq!(m.phase(), s.to, "row {i}");
            }
            None => assert_eq!(m.phase(), phase, "row {i}: a refused input changes nothing"),
        }
    }
}

fn all_phases() -> Vec<Phase> {
    vec![
        Normal,
        Unacknowledged,
        Acknowledged,
        ReturnToNormalUnacknowledged,
        SHELF,
        ONESHOT,
        Suppressed,
        OutOfService,
    ]
}

fn all_inputs() -> Vec<Input> {
    vec![
        Input::Condition(true),
        Input::Condition(false),
        Input::Ack,
        Input::Shelve(Shelve::Until(5_000)),
        Input::Shelve(Shelve::OneShot),
        Input::Unshelve,
        Input::Reset,
        Input::Tick,
    ]
}

/// Every (phase, active, latch, input) combination, not only the table's rows:
/// the invariants the operator relies on hold after each one.
#[test]
fn exhaustive_combinations_keep_the_invariants() {
    let mut combinations = 0;
    for phase in all_phases() {
        for active in [false, true] {
            for latch in [false, true] {
                if !reachable(phase, active, latch) {
                    continue;
                }
                for input in all_inputs() {
                    for now in [T, 5_000] {
                        let mut m = Machine::with_phase(phase, active, latch);
                        let step = m.step(input, now);
                        check_invariants(&m, step, input);
                        combinations += 1;
                    }
                }
            }
        }
    }
    assert_eq!(combinations, 26 * 8 * 2);
}

/// Combinations a machine can be in (the others contradict the condition).
fn reachable(phase: Phase, active: bool, latch: bool) -> bool {
    match phase {
        Normal | ReturnToNormalUnacknowledged => !active,
        Unacknowledged | Acknowledged => active || latch,
        _ => true,
    }
}

fn check_invariants(m: &Machine, step: Option<Step>, input: Input) {
    let ctx = format!("{m:?} after {input:?} gave {step:?}");
    match input {
        Input::Ack => assert!(!m.state().needs_ack(), "ack leaves nothing to ack: {ctx}"),
        Input::Condition(c) => assert_eq!(m.active(), c, "condition is tracked: {ctx}"),
        _ => {}
    }
    if let Some(step) = step {
        match step.kind {
            Raised => assert!(m.active(), "{ctx}"),
            Cleared => assert!(!m.active(), "{ctx}"),
            EventKind::Shelved => assert!(matches!(m.phase(), Phase::Shelved(_)), "{ctx}"),
            Unshelved => assert!(!matches!(m.phase(), Phase::Shelved(_)), "{ctx}"),
            Reset => assert_eq!(m.phase(), Normal, "{ctx}"),
            Acked | Comment => {}
        }
    }
    // Without latching, Normal/RTN mean the condition is clear and Acked means it holds.
    if !m.latch() {
        match m.phase() {
            Acknowledged => assert!(m.active(), "{ctx}"),
            ReturnToNormalUnacknowledged => assert!(!m.active(), "{ctx}"),
            _ => {}
        }
    }
}

fn input_strategy() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => any::<bool>().prop_map(Input::Condition),
        2 => Just(Input::Ack),
        1 => (0i64..100).prop_map(|t| Input::Shelve(Shelve::Until(t * 100))),
        1 => Just(Input::Shelve(Shelve::OneShot)),
        1 => Just(Input::Unshelve),
        1 => Just(Input::Reset),
        2 => Just(Input::Tick),
    ]
}

proptest! {
    /// Random operator and process histories from Normal: the phase always
    /// agrees with the condition, and raises and clears alternate, so nothing is
    /// raised twice for one occurrence.
    #[test]
    fn random_histories_stay_consistent(
        latch in any::<bool>(),
        inputs in proptest::collection::vec(input_strategy(), 0..60),
    ) {
        let mut m = Machine::new(latch);
        let mut last_process_event = None;
        for (i, input) in inputs.into_iter().enumerate() {
            let now = i as i64 * 100;
            let step = m.step(input, now);
            check_invariants(&m, step, input);
            if step.is_some_and(|s| s.kind == Unshelved) {
                // Changes while shelved were silent: a new occurrence may follow.
                last_process_event = None;
            }
            if let Some(step) = step
                && matches!(step.kind, Raised | Cleared)
            {
                prop_assert_ne!(Some(step.kind), last_process_event, "raised/cleared alternate");
                last_process_event = Some(step.kind);
            }
            if m.phase() == Normal {
                prop_assert!(!m.active(), "Normal means the condition is clear: {:?}", m);
            }
            if m.phase() == Unacknowledged && !latch {
                prop_assert!(m.active(), "unlatched Unack means active: {:?}", m);
            }
        }
    }

    /// Whatever happened before, acknowledging and (for latched alarms) resetting
    /// after the condition clears always returns the alarm to Normal, unless shelved.
    #[test]
    fn clear_ack_reset_always_reaches_normal(
        latch in any::<bool>(),
        inputs in proptest::collection::vec(input_strategy(), 0..40),
    ) {
        let mut m = Machine::new(latch);
        for input in inputs {
            m.step(input, 0);
        }
        m.step(Input::Unshelve, 0);
        m.step(Input::Condition(false), 0);
        m.step(Input::Ack, 0);
        m.step(Input::Reset, 0);
        prop_assert_eq!(m.phase(), Normal);
    }
}
