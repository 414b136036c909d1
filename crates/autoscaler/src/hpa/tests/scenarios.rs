//! Closed-loop scenarios over many syncs: the target's replicas follow each decision, load
//! follows a trace. They check the behaviours the issue asks to show: stabilization against
//! flapping, scale-up policies in a flash crowd, no scale-down on missing metrics during a
//! rollout, and a queue worker on an External metric.

use super::*;

const SYNC_MS: i64 = 15_000;

/// Pods sharing `demand_m` millicores evenly, 2 cores requested each (2 containers × 1 core).
fn cpu_world(replicas: i32, demand_m: i64) -> World {
    let per_container = demand_m / i64::from(replicas.max(1)) / 2;
    World::new(
        replicas,
        pods(replicas as usize, P::new(1000).uses(per_container)),
    )
}

fn cpu_hpa(min: i32, max: i32, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        behavior,
        ..spec_with(cpu_utilization(50))
    }
}

/// Runs `steps` syncs from `replicas`; `world(step, replicas)` builds each sync's view.
/// Returns the replica count after every sync.
fn run_loop(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    mut replicas: i32,
    steps: usize,
    world: impl Fn(usize, i32) -> World,
) -> Vec<i32> {
    let mut state = HpaState::default();
    let mut trace = Vec::with_capacity(steps);
    for step in 0..steps {
        let now = NOW + step as i64 * SYNC_MS;
        let d = world(step, replicas).run(spec, settings, &mut state, now);
        if d.rescale {
            replicas = d.desired_replicas;
        }
        trace.push(replicas);
    }
    trace
}

/// How often the trace reverses direction (up then down, or down then up).
fn reversals(trace: &[i32]) -> usize {
    let moves: Vec<i32> = trace
        .windows(2)
        .map(|w| (w[1] - w[0]).signum())
        .filter(|s| *s != 0)
        .collect();
    moves.windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn stabilization_prevents_flapping_on_a_noisy_trace() {
    let s = ControllerSettings::default();
    // Demand alternates ±20 % around 10 pods at target, every sync.
    let noisy = |step: usize, r: i32| cpu_world(r, if step % 2 == 0 { 12_000 } else { 8_000 });
    let stabilized = run_loop(
        &cpu_hpa(1, 50, Some(Behavior::default())),
        &s,
        10,
        80,
        noisy,
    );
    assert_eq!(
        reversals(&stabilized),
        0,
        "the 5 min window holds every scale-down: {stabilized:?}"
    );
    let legacy = run_loop(&cpu_hpa(1, 50, None), &s, 10, 80, noisy);
    assert_eq!(reversals(&legacy), 0, "the legacy window too: {legacy:?}");

    // Without a scale-down window the same trace flaps: the check above can fail.
    let mut b = Behavior::default();
    b.scale_down.stabilization_window_s = Some(0);
    let flapping = run_loop(&cpu_hpa(1, 50, Some(b)), &s, 10, 80, noisy);
    assert!(reversals(&flapping) > 10, "{flapping:?}");
}

#[test]
fn scale_up_policies_cap_growth_in_a_flash_crowd() {
    let s = ControllerSettings::default();
    // Demand jumps from 4 to 100 pods' worth at the first sync.
    let crowd = |_: usize, r: i32| cpu_world(r, 100 * 1_000);
    let mut b = Behavior::default();
    b.scale_up.policies = vec![ScalingPolicy {
        kind: PolicyKind::Pods,
        value: 4,
        period_s: 60,
    }];
    let trace = run_loop(&cpu_hpa(1, 100, Some(b)), &s, 4, 80, crowd);
    // At most 4 pods added in any 60 s (4 syncs) window.
    let mut prev = vec![4];
    prev.extend(&trace);
    for (i, w) in prev.windows(5).enumerate() {
        assert!(
            w[4] - w[0] <= 4,
            "more than 4 pods in 60 s ending at sync {}: {trace:?}",
            i + 4
        );
    }
    assert_eq!(
        *trace.last().unwrap(),
        84,
        "4 pods per minute for 20 minutes: {trace:?}"
    );

    // The default behavior doubles every 15 s (or adds 4): 4 → 8 → 16 → 32 → 64 → 100.
    let default = run_loop(&cpu_hpa(1, 100, Some(Behavior::default())), &s, 4, 6, crowd);
    assert_eq!(default, [8, 16, 32, 64, 100, 100]);
    // The legacy path: max(2 × current, 4) per sync.
    let legacy = run_loop(&cpu_hpa(1, 100, None), &s, 4, 6, crowd);
    assert_eq!(legacy, [8, 16, 32, 64, 100, 100]);
}

#[test]
fn missing_metrics_during_a_rollout_do_not_cause_a_scale_down() {
    let s = ControllerSettings::default();
    // 10 replicas at 30 % (a scale-down to 6 once everything reports). For the first 20
    // syncs, 3 surge pods of a rolling update have no metrics yet.
    let rollout = |step: usize, r: i32| {
        let mut w = cpu_world(r, i64::from(r) * 600);
        if step < 20 {
            w.pods.extend(pods(3, P::new(1000).hot()));
        }
        w
    };
    let mut b = Behavior::default();
    b.scale_down.stabilization_window_s = Some(0);
    let trace = run_loop(&cpu_hpa(1, 50, Some(b)), &s, 10, 30, rollout);
    assert!(
        trace[..20].iter().all(|r| *r == 10),
        "held during the rollout: {trace:?}"
    );
    assert_eq!(
        trace[20], 6,
        "scales down once every pod reports: {trace:?}"
    );
}

#[test]
fn a_queue_worker_scales_on_an_external_metric() {
    let s = ControllerSettings::default();
    let spec = HpaSpec {
        min_replicas: 1,
        max_replicas: 30,
        behavior: Some(Behavior::default()),
        ..spec_with(external_metric(ValueTarget::AverageValue(30_000)))
    };
    // The queue fills to 600 messages over 5 minutes, holds, then drains to empty.
    let queue = |step: usize| -> i64 {
        match step {
            0..=19 => step as i64 * 30,
            20..=39 => 600,
            _ => 0,
        }
    };
    let worker = |step: usize, r: i32| {
        World::new(r, pods(r as usize, P::new(0)))
            .inputs(vec![Input::External(vec![queue(step) * 1000])])
    };
    let trace = run_loop(&spec, &s, 1, 80, worker);
    assert_eq!(trace[39], 20, "600 messages at 30 per pod: {trace:?}");
    assert!(
        trace[40..59].iter().all(|r| *r == 20),
        "the 5 min scale-down window holds: {trace:?}"
    );
    assert_eq!(
        *trace.last().unwrap(),
        1,
        "back to min once the window passes: {trace:?}"
    );
}
