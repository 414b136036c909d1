//! Kubernetes' horizontal_test.go vectors for the normalization functions, run against ours:
//! `TestScalingWithRules` (convertDesiredReplicasWithBehaviorRate),
//! `TestCalculateScale{Up,Down}Limit*`, `TestConvertDesiredReplicasWithRules` and
//! `TestNormalizeDesiredReplicas` (legacy stabilization and its log).

use super::super::normalize::{self, Counts};
use super::*;

/// `generateScalingRules(pods, podsPeriod, percent, percentPeriod, window)`: Max select,
/// the Pods policy first.
fn generated(
    pods: i32,
    pods_period: i32,
    percent: i32,
    percent_period: i32,
    window: i32,
) -> ScalingRules {
    let mut policies = vec![];
    if pods != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Pods,
            value: pods,
            period_s: pods_period,
        });
    }
    if percent != 0 {
        policies.push(ScalingPolicy {
            kind: PolicyKind::Percent,
            value: percent,
            period_s: percent_period,
        });
    }
    ScalingRules {
        stabilization_window_s: Some(window),
        select_policy: SelectPolicy::Max,
        policies,
        tolerance: None,
    }
}

/// `generateEventsUniformDistribution(events, 120)`: event i sits in the middle of the i-th
/// of n equal segments of the last 120 s, oldest first.
fn uniform(changes: &[i32]) -> Vec<ScaleEvent> {
    let segment_ms = 120_000 / changes.len() as i64;
    changes
        .iter()
        .enumerate()
        .map(|(i, &replica_change)| ScaleEvent {
            replica_change,
            timestamp_ms: NOW - (120_000 - segment_ms * (i as i64 + 1) + segment_ms / 2),
            outdated: false,
        })
        .collect()
}

struct Case {
    name: &'static str,
    up_events: Vec<ScaleEvent>,
    down_events: Vec<ScaleEvent>,
    min: i32,
    max: i32,
    up: Option<ScalingRules>,
    down: Option<ScalingRules>,
    current: i32,
    desired: i32,
    expect: (i32, Reason),
}

fn case(
    name: &'static str,
    min: i32,
    max: i32,
    current: i32,
    desired: i32,
    expect: (i32, Reason),
) -> Case {
    Case {
        name,
        up_events: vec![],
        down_events: vec![],
        min,
        max,
        up: None,
        down: None,
        current,
        desired,
        expect,
    }
}

#[test]
fn scaling_with_rules() {
    use Reason::*;
    let up = |c: Case, r: ScalingRules| Case { up: Some(r), ..c };
    let down = |c: Case, r: ScalingRules| Case { down: Some(r), ..c };
    let up_ev = |c: Case, e: &[i32]| Case {
        up_events: uniform(e),
        ..c
    };
    let down_ev = |c: Case, e: &[i32]| Case {
        down_events: uniform(e),
        ..c
    };
    let cases = vec![
        case("within range", 3, 8, 5, 7, (7, DesiredWithinRange)),
        case("< minReplicas", 2, 8, 3, 1, (2, TooFewReplicas)),
        case(
            "within range when minReplicas is 0",
            0,
            10,
            1,
            0,
            (0, DesiredWithinRange),
        ),
        case(
            "maxReplicas < scaleUpLimit",
            1,
            10,
            20,
            1000,
            (10, TooManyReplicas),
        ),
        case(
            "more than the maximum replica count",
            100,
            150,
            100,
            1000,
            (150, TooManyReplicas),
        ),
        up(
            case(
                "scaleUpLimit < maxReplicas with user policies",
                1,
                2000,
                3,
                1000,
                (4, ScaleUpLimit),
            ),
            generated(0, 0, 1, 60, 0),
        ),
        down(
            case(
                "scaleDownLimit > minReplicas with user policies",
                3,
                2000,
                1000,
                3,
                (980, ScaleDownLimit),
            ),
            generated(20, 60, 0, 0, 0),
        ),
        case(
            "scaleUp with default behavior",
            1,
            1000,
            10,
            50,
            (20, ScaleUpLimit),
        ),
        up(
            case(
                "pods policy larger than percent",
                1,
                1000,
                10,
                500,
                (110, ScaleUpLimit),
            ),
            generated(100, 60, 100, 60, 0),
        ),
        up(
            case(
                "percent policy larger than pods",
                1,
                1000,
                10,
                500,
                (20, ScaleUpLimit),
            ),
            generated(2, 60, 100, 60, 0),
        ),
        up(
            case(
                "MaxReplicas with large pod policy",
                1,
                1000,
                10,
                50,
                (50, DesiredWithinRange),
            ),
            generated(100, 60, 0, 0, 0),
        ),
        up(
            case(
                "MaxReplicas with large percent policy",
                1,
                1000,
                10,
                50,
                (50, DesiredWithinRange),
            ),
            generated(10000, 60, 0, 0, 0),
        ),
        up(
            case("pod policy limitation", 1, 1000, 10, 50, (40, ScaleUpLimit)),
            generated(30, 60, 0, 0, 0),
        ),
        up(
            case(
                "percent policy limitation",
                1,
                1000,
                10,
                50,
                (30, ScaleUpLimit),
            ),
            generated(0, 0, 200, 60, 0),
        ),
        down(
            case(
                "scaleDown percent larger than pod",
                1,
                1000,
                100,
                2,
                (80, ScaleDownLimit),
            ),
            generated(20, 60, 1, 60, 300),
        ),
        down(
            case(
                "scaleDown pod larger than percent",
                1,
                1000,
                100,
                2,
                (98, ScaleDownLimit),
            ),
            generated(2, 60, 1, 60, 300),
        ),
        down(
            case(
                "scaleDown MinReplicas with large pod policy",
                1,
                1000,
                10,
                0,
                (1, TooFewReplicas),
            ),
            generated(100, 60, 0, 0, 300),
        ),
        down(
            case(
                "scaleDown MinReplicas with large percent policy",
                5,
                1000,
                10,
                2,
                (5, TooFewReplicas),
            ),
            generated(0, 0, 100, 60, 300),
        ),
        down(
            case(
                "scaleDown pod policy limitation",
                1,
                1000,
                10,
                2,
                (5, ScaleDownLimit),
            ),
            generated(5, 60, 0, 0, 300),
        ),
        down(
            case(
                "scaleDown percent policy limitation",
                1,
                1000,
                10,
                5,
                (5, DesiredWithinRange),
            ),
            generated(0, 0, 50, 60, 300),
        ),
        up_ev(
            up(
                case(
                    "MaxReplicas, large pod policy, events",
                    1,
                    200,
                    100,
                    500,
                    (200, TooManyReplicas),
                ),
                generated(300, 60, 0, 0, 0),
            ),
            &[1, 5, 9],
        ),
        up_ev(
            up(
                case(
                    "MaxReplicas, large percent policy, events",
                    1,
                    200,
                    100,
                    500,
                    (200, TooManyReplicas),
                ),
                generated(0, 0, 10000, 60, 0),
            ),
            &[1, 5, 9],
        ),
        up_ev(
            up(
                case(
                    "a lot of recent scale-up events",
                    1,
                    1000,
                    100,
                    500,
                    (100, ScaleUpLimit),
                ),
                generated(5, 120, 0, 0, 0),
            ),
            &[1, 5, 9],
        ),
        up_ev(
            up(
                case(
                    "pod policy and previous scale-up events",
                    1,
                    1000,
                    100,
                    500,
                    (235, ScaleUpLimit),
                ),
                generated(150, 120, 0, 0, 0),
            ),
            &[1, 5, 9],
        ),
        up_ev(
            up(
                case(
                    "percent policy and previous scale-up events",
                    1,
                    1000,
                    100,
                    500,
                    (255, ScaleUpLimit),
                ),
                generated(0, 0, 200, 120, 0),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            case(
                "scaleDown default policy and previous events",
                1,
                1000,
                10,
                5,
                (5, DesiredWithinRange),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            down(
                case(
                    "scaleDown MinReplicas=nil, large pod policy, events",
                    1,
                    1000,
                    100,
                    0,
                    (1, TooFewReplicas),
                ),
                generated(115, 120, 0, 0, 300),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            down(
                case(
                    "scaleDown MinReplicas, large pod policy, events",
                    5,
                    1000,
                    100,
                    0,
                    (5, TooFewReplicas),
                ),
                generated(130, 120, 0, 0, 300),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            down(
                case(
                    "scaleDown MinReplicas, large percent policy, events",
                    5,
                    1000,
                    100,
                    2,
                    (5, TooFewReplicas),
                ),
                generated(0, 0, 100, 120, 300),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            down(
                case(
                    "scaleDown pod policy limitation, events",
                    1,
                    1000,
                    100,
                    2,
                    (100, ScaleDownLimit),
                ),
                generated(5, 120, 0, 0, 300),
            ),
            &[1, 5, 9],
        ),
        down_ev(
            down(
                case(
                    "scaleDown percent policy limitation, events",
                    1,
                    1000,
                    100,
                    0,
                    (56, ScaleDownLimit),
                ),
                generated(0, 0, 50, 120, 300),
            ),
            &[2, 4, 6],
        ),
        down_ev(
            down(
                case(
                    "previous events preventing further scale-down",
                    1,
                    1000,
                    100,
                    0,
                    (100, ScaleDownLimit),
                ),
                generated(0, 0, 10, 120, 300),
            ),
            &[10, 10, 10],
        ),
        down_ev(
            down(
                case(
                    "previous events still allowing more scale-down",
                    1,
                    1000,
                    10,
                    5,
                    (5, DesiredWithinRange),
                ),
                generated(0, 0, 1000, 120, 300),
            ),
            &[10, 10, 10],
        ),
        up_ev(
            up(
                case(
                    "'outdated' flag, one policy, up",
                    1,
                    1000,
                    100,
                    200,
                    (200, DesiredWithinRange),
                ),
                generated(1000, 60, 0, 0, 0),
            ),
            &[8, 12, 9, 11],
        ),
        up_ev(
            up(
                case(
                    "not outdated for two policies, up",
                    1,
                    1000,
                    100,
                    200,
                    (200, DesiredWithinRange),
                ),
                generated(1000, 120, 100, 60, 0),
            ),
            &[8, 12, 9, 11],
        ),
        up_ev(
            up(
                case(
                    "outdated for two policies, up",
                    1,
                    1000,
                    100,
                    200,
                    (200, DesiredWithinRange),
                ),
                generated(1000, 30, 100, 60, 0),
            ),
            &[8, 12, 9, 11],
        ),
        down_ev(
            down(
                case(
                    "'outdated' flag, one policy, down",
                    1,
                    1000,
                    100,
                    5,
                    (5, DesiredWithinRange),
                ),
                generated(1000, 60, 0, 0, 300),
            ),
            &[8, 12, 9, 11],
        ),
        down_ev(
            down(
                case(
                    "not outdated for two policies, down",
                    1,
                    1000,
                    100,
                    5,
                    (5, DesiredWithinRange),
                ),
                generated(1000, 120, 100, 60, 300),
            ),
            &[8, 12, 9, 11],
        ),
        down_ev(
            down(
                case(
                    "outdated for two policies, down",
                    1,
                    1000,
                    100,
                    5,
                    (5, DesiredWithinRange),
                ),
                generated(1000, 30, 100, 60, 300),
            ),
            &[8, 12, 9, 11],
        ),
    ];
    for c in cases {
        let behavior = Behavior {
            scale_up: c.up.unwrap_or_else(ScalingRules::default_scale_up),
            scale_down: c.down.unwrap_or_else(ScalingRules::default_scale_down),
        };
        let state = HpaState {
            recommendations: None,
            scale_up_events: c.up_events,
            scale_down_events: c.down_events,
        };
        let counts = Counts {
            current: c.current,
            proposal: c.desired,
            min: c.min,
            max: c.max,
        };
        assert_eq!(
            normalize::rate_limit(&behavior, &state, counts, NOW),
            c.expect,
            "{}",
            c.name
        );
    }
}

#[test]
fn scale_limits_with_min_select_policy() {
    // TestCalculateScaleUpLimitWithScalingRules / TestCalculateScaleDownLimitWithBehaviors.
    let rules = ScalingRules {
        select_policy: SelectPolicy::Min,
        ..generated(2, 60, 50, 60, 300)
    };
    let behavior = Behavior {
        scale_up: rules.clone(),
        scale_down: rules,
    };
    let state = HpaState::default();
    let up = normalize::rate_limit(
        &behavior,
        &state,
        Counts {
            current: 1,
            proposal: 100,
            min: 1,
            max: 1000,
        },
        NOW,
    );
    assert_eq!(up, (2, Reason::ScaleUpLimit));
    let down = normalize::rate_limit(
        &behavior,
        &state,
        Counts {
            current: 5,
            proposal: 1,
            min: 1,
            max: 1000,
        },
        NOW,
    );
    assert_eq!(down, (3, Reason::ScaleDownLimit));
}

#[test]
fn convert_desired_replicas_with_rules() {
    // TestConvertDesiredReplicasWithRules, through the legacy path with an empty history.
    let cases = [
        ("within range", 5, 7, 3, 8, 7, Reason::DesiredWithinRange),
        ("< minReplicas", 3, 1, 2, 8, 2, Reason::TooFewReplicas),
        (
            "zero within range",
            1,
            0,
            0,
            10,
            0,
            Reason::DesiredWithinRange,
        ),
        (
            "maxReplicas < scaleUpLimit",
            20,
            1000,
            1,
            10,
            10,
            Reason::TooManyReplicas,
        ),
        (
            "scaleUpLimit < maxReplicas",
            3,
            1000,
            1,
            2000,
            6,
            Reason::ScaleUpLimit,
        ),
    ];
    for (name, current, desired, min, max, expect, reason) in cases {
        let mut state = HpaState {
            recommendations: Some(vec![]),
            ..HpaState::default()
        };
        let n = normalize::legacy(
            &ControllerSettings::default(),
            &mut state,
            Counts {
                current,
                proposal: desired,
                min,
                max,
            },
            NOW,
        );
        assert_eq!((n.desired, n.limited_reason), (expect, reason), "{name}");
    }
}

#[test]
fn normalize_desired_replicas_log() {
    // TestNormalizeDesiredReplicas: (recommendations as (replicas, minutes ago), proposal,
    // stabilized, log length afterwards).
    let cases: [(&str, &[(i32, i64)], i32, i32, usize); 5] = [
        ("empty log", &[], 5, 5, 1),
        ("stabilize", &[(4, 2), (5, 1)], 3, 5, 3),
        ("no stabilize", &[(1, 2), (2, 1)], 3, 3, 3),
        (
            "no stabilize - old recommendations",
            &[(10, 10), (9, 9)],
            3,
            3,
            2,
        ),
        (
            "stabilize - old recommendations",
            &[(10, 10), (4, 1), (5, 2), (9, 9)],
            3,
            5,
            4,
        ),
    ];
    for (name, recs, proposal, stabilized, log_len) in cases {
        let list = recs.iter().map(|&(replicas, min)| Recommendation {
            replicas,
            timestamp_ms: NOW - min * 60_000,
        });
        let mut state = HpaState {
            recommendations: Some(list.collect()),
            ..HpaState::default()
        };
        // current 10: the legacy cap max(20, 4) never binds, so desired is the stabilized value.
        let counts = Counts {
            current: 10,
            proposal,
            min: 1,
            max: 100,
        };
        let n = normalize::legacy(&ControllerSettings::default(), &mut state, counts, NOW);
        assert_eq!(n.desired, stabilized, "{name}");
        assert_eq!(
            state.recommendations.map(|r| r.len()),
            Some(log_len),
            "{name}"
        );
    }
}

#[test]
fn store_scale_events() {
    // TestStoreScaleEvents (with a behavior): (previous events as (change, seconds ago),
    // longest policy period, events afterwards).
    type Row = (
        &'static str,
        &'static [(i32, i64)],
        i32,
        &'static [(i32, i64)],
    );
    let cases: [Row; 4] = [
        ("empty entries", &[], 60, &[(5, 0)]),
        ("one outdated entry is replaced", &[(7, 61)], 60, &[(5, 0)]),
        (
            "one actual entry is kept",
            &[(7, 58)],
            60,
            &[(7, 58), (5, 0)],
        ),
        (
            "two entries, the outdated one is replaced",
            &[(7, 61), (6, 59)],
            60,
            &[(5, 0), (6, 59)],
        ),
    ];
    let events = |list: &[(i32, i64)]| -> Vec<ScaleEvent> {
        let event = |&(replica_change, ago_s): &(i32, i64)| ScaleEvent {
            replica_change,
            timestamp_ms: NOW - ago_s * 1000,
            outdated: false,
        };
        list.iter().map(event).collect()
    };
    for (name, before, longest_s, after) in cases {
        let mut state = HpaState {
            scale_up_events: events(before),
            ..HpaState::default()
        };
        state.store_scale_event(true, 5, longest_s, NOW);
        let got: Vec<(i32, i64)> = state
            .scale_up_events
            .iter()
            .map(|e| (e.replica_change, (NOW - e.timestamp_ms) / 1000))
            .collect();
        assert_eq!(got, after, "{name}");
    }
}
