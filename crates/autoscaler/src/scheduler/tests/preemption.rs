//! DefaultPreemption: victims, PDB reprieve, node choice, nominated pods.

use super::*;

#[test]
fn preemption_victims_and_node_choice() {
    let pdb = |app: &str, allowed| Pdb {
        namespace: "default".into(),
        selector: sel(&[("app", app)]),
        disruptions_allowed: allowed,
    };
    // Each node holds two 1000m pods of 2000m: full.
    // Lowest highest-victim priority wins: n1's victim has priority 5.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 10, 0, "a"),
            (1, 5, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((1, vec![2], 0)),
    );
    // Reprieve the more important pod: only the lower-priority one on n0 goes.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 20, 0, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((0, vec![0], 0)),
    );
    // Equal priority: the longer-running pod is more important, the newer one is the victim.
    check_preemption(
        &[
            (0, 10, 100, "a"),
            (0, 10, 50, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((0, vec![0], 0)),
    );
    // Fewest PDB violations beats lower priority: n0's pods are protected by a PDB with no
    // disruptions allowed, so n1 (higher priority victim, no PDB) is chosen.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 0, "guarded"),
            (1, 20, 0, "free"),
            (1, 20, 0, "free"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 0)],
        1000,
        Ok((1, vec![3], 0)),
    );
    // PDB-violating pods are reprieved first: with one disruption allowed on n0, the pod
    // overdrawing the budget is put back and the other one is the victim.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 5, "guarded"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 1)],
        1000,
        Ok((0, vec![0], 0)),
    );
    // When every choice violates, the violation is counted; the longer-running pod is
    // reprieved first, so the newer one goes.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 5, "guarded"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 0)],
        1000,
        Ok((0, vec![1], 1)),
    );
    // Needing both slots: two victims; fewest victims wins across nodes.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 10, 0, "a"),
            (1, 10, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        2000,
        Ok((1, vec![2], 0)),
    );
    // Same priority everywhere: the node whose highest-priority victims started latest.
    check_preemption(
        &[
            (0, 10, 10, "a"),
            (0, 2000, 0, "a"),
            (1, 10, 30, "a"),
            (1, 2000, 0, "a"),
            (2, 10, 20, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((1, vec![2], 0)),
    );
    // Nothing of lower priority anywhere.
    check_preemption(&[(0, 2000, 0, "a"), (0, 2000, 0, "a"), (1, 2000, 0, "a"), (1, 2000, 0, "a"), (2, 2000, 0, "a"), (2, 2000, 0, "a")], &[], 1000,
        Err("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."));
    // Removing every lower-priority pod is not enough: the filter's reason is kept.
    check_preemption(&[(0, 10, 0, "a"), (0, 2000, 0, "a"), (1, 2000, 0, "a"), (1, 2000, 0, "a"), (2, 2000, 0, "a"), (2, 2000, 0, "a")], &[], 2000,
        Err("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod."));
}

#[test]
fn nominated_pods_reserve_room_for_lower_priority() {
    let mut snap = cluster(vec![node("n0", "a", 2000, 8 * GI)], vec![]);
    let high = PodSchedulingSpec {
        priority: 100,
        ..pod(1500, GI)
    };
    snap.nominate(PodId(1), &high, NodeId(0));
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let low = PodSchedulingSpec {
        priority: 1,
        ..pod(1000, GI)
    };
    let err = sched
        .schedule_one(&snap, PodId(2), &low, &mut rng(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/1 nodes are available: 1 Insufficient cpu."
    );
    let higher = PodSchedulingSpec {
        priority: 200,
        ..pod(1000, GI)
    };
    assert_eq!(
        sched.schedule_one(&snap, PodId(3), &higher, &mut rng(1)),
        Ok(NodeId(0))
    );
    // The nominated pod itself is not blocked by its own reservation.
    assert_eq!(
        sched.schedule_one(&snap, PodId(1), &high, &mut rng(1)),
        Ok(NodeId(0))
    );
}

#[test]
fn pdb_with_empty_selector_covers_nothing_in_preemption() {
    let empty = Pdb {
        namespace: "default".into(),
        selector: LabelSelector::default(),
        disruptions_allowed: 0,
    };
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[empty],
        1000,
        Ok((0, vec![0], 0)),
    );
}

#[test]
fn nomination_lifecycle_after_preemption() {
    let mut snap = preemption_cluster(&[
        (0, 10, 0, "a"),
        (0, 10, 5, "a"),
        (1, 2000, 0, "a"),
        (1, 2000, 0, "a"),
        (2, 2000, 0, "a"),
        (2, 2000, 0, "a"),
    ]);
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let p = PodSchedulingSpec {
        priority: 1000,
        ..pod(1000, GI)
    };
    let ScheduleOutcome::Nominated { preemption, .. } =
        sched.schedule(&mut snap, PodId(99), &p, &[], &mut rng(3))
    else {
        panic!("expected a preemption")
    };
    assert_eq!(
        (preemption.node, preemption.victims.clone()),
        (NodeId(0), vec![PodId(1)])
    );
    // The caller deletes the victim gracefully and nominates the preemptor.
    snap.set_terminating(PodId(1), Termination::Preempted);
    snap.nominate(PodId(99), &p, preemption.node);
    // While the victim terminates, the preemptor waits instead of preempting again.
    let ScheduleOutcome::Unschedulable(Some(err)) =
        sched.schedule(&mut snap, PodId(99), &p, &[], &mut rng(3))
    else {
        panic!("expected to wait")
    };
    assert!(
        err.to_string()
            .ends_with("preemption: not eligible due to a terminating pod on the nominated node."),
        "{err}"
    );
    // Once it is gone, the room is reserved: a lower-priority pod cannot take it ...
    snap.unbind(PodId(1));
    let low = PodSchedulingSpec {
        priority: 5,
        ..pod(1000, GI)
    };
    assert!(sched
        .schedule_one(&snap, PodId(100), &low, &mut rng(3))
        .is_err());
    // ... and the preemptor lands on its nominated node.
    assert_eq!(
        sched.schedule(&mut snap, PodId(99), &p, &[], &mut rng(3)),
        ScheduleOutcome::Scheduled(NodeId(0))
    );
}
