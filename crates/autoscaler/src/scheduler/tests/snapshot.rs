//! Snapshot bookkeeping, clone independence, fork and revert.

use std::sync::Arc;

use super::*;

#[test]
fn snapshot_bookkeeping_and_clone_independence() {
    let mut snap = cluster(
        six_nodes(),
        vec![(0, pod(500, GI)), (0, pod(0, 0)), (1, pod(100, MI))],
    );
    let n0 = snap.node(NodeId(0)).unwrap();
    assert_eq!(
        n0.requested,
        Resources {
            cpu_m: 500,
            memory_bytes: GI,
            gpu: 0,
            pods: 2
        }
    );
    assert_eq!(n0.non_zero_requested.cpu_m, 600);
    let fork = snap.clone();
    assert_eq!(snap.remove_node(NodeId(0)), vec![PodId(1000), PodId(1001)]);
    assert_eq!(snap.num_pods(), 1);
    assert_eq!(snap.node_ids().len(), 5);
    assert_eq!(fork.num_pods(), 3);
    assert_eq!(fork.node(NodeId(0)).unwrap().pods.len(), 2);
    let n6 = snap.add_node(Arc::new(node("n6", "a", 1000, GI)));
    assert_eq!(n6, NodeId(6), "ids are never reused");
    snap.set_unschedulable(n6, true);
    assert_eq!(
        snap.fits(&pod(1, 1), n6).unwrap_err().to_string(),
        "node(s) were unschedulable"
    );
    assert!(!fork.node(NodeId(1)).unwrap().spec.unschedulable);
}

#[test]
fn fork_and_revert_restore_the_snapshot() {
    let web_anti = PodSchedulingSpec {
        pod_anti_affinity: anti("api", well_known::HOSTNAME),
        ..app_pod("web")
    };
    let mut snap = cluster(
        six_nodes(),
        vec![
            (0, app_pod("web")),
            (1, web_anti.clone()),
            (2, app_pod("web")),
            (4, app_pod("db")),
        ],
    );
    snap.nominate(PodId(77), &pod(100, MI), NodeId(3));
    let before = dump(&snap);
    let fork = snap.fork();
    let n6 = snap.add_node(Arc::new(node("n6", "c", 4000, 8 * GI)));
    snap.bind(PodId(1), Arc::new(app_pod("web")), n6, 5);
    snap.bind(PodId(2), Arc::new(web_anti), NodeId(5), 5);
    snap.set_terminating(PodId(1000), Termination::Preempted);
    snap.unbind(PodId(1002));
    snap.set_taints(
        NodeId(3),
        vec![taint(
            "ToBeDeletedByClusterAutoscaler",
            "1",
            TaintEffect::NoSchedule,
        )],
    );
    snap.set_unschedulable(NodeId(4), true);
    let inner = snap.fork();
    assert_eq!(snap.remove_node(NodeId(1)), vec![PodId(1001)]);
    snap.clear_nomination(PodId(77));
    snap.nominate(PodId(78), &pod(100, MI), NodeId(2));
    snap.commit(inner);
    assert_ne!(dump(&snap), before);
    snap.revert(fork);
    assert_eq!(dump(&snap), before);
    assert_eq!(
        snap.add_node(Arc::new(node("n6", "c", 4000, 8 * GI))),
        n6,
        "reverted ids are handed out again"
    );
    // A reverted inner fork leaves the outer fork's changes.
    let outer = snap.fork();
    snap.bind(PodId(3), Arc::new(app_pod("web")), NodeId(5), 9);
    let mid = dump(&snap);
    let inner = snap.fork();
    snap.remove_node(NodeId(5));
    snap.revert(inner);
    assert_eq!(dump(&snap), mid);
    snap.commit(outer);
    assert_eq!(snap.pod(PodId(3)).unwrap().node, NodeId(5));
}

/// The filter verdicts of probe pods whose spread and anti-affinity read the incremental
/// indexes, plus each node's requested resources.
fn verdicts(snap: &ClusterSnapshot) -> Vec<String> {
    let probes = [
        PodSchedulingSpec {
            topology_spread: vec![spread(well_known::ZONE, 1, "web")],
            ..app_pod("web")
        },
        PodSchedulingSpec {
            topology_spread: vec![spread(well_known::HOSTNAME, 1, "web")],
            ..app_pod("web")
        },
        PodSchedulingSpec {
            pod_anti_affinity: anti("db", well_known::ZONE),
            ..app_pod("api")
        },
        app_pod("db"),
    ];
    let mut out = Vec::new();
    for p in &probes {
        let pre = PreFilter::new(snap, p, None);
        for &n in snap.node_ids() {
            out.push(format!(
                "{n:?} {:?} {:?}",
                pre.filter(n).err().map(|r| r.to_string()),
                snap.node(n).unwrap().requested
            ));
        }
    }
    out
}

proptest::proptest! {
    /// Incrementally maintained counts agree with a snapshot rebuilt from scratch, and a
    /// fork reverted after the same operations restores the original verdicts.
    #[test]
    fn incremental_indexes_match_a_rebuild(ops in proptest::collection::vec((0u8..5, 0u8..16, 0u8..4), 1..60)) {
        let kinds = [
            app_pod("web"),
            PodSchedulingSpec { pod_anti_affinity: anti("api", well_known::ZONE), ..app_pod("db") },
            app_pod("api"),
            app_pod("db"),
        ];
        let mut snap = cluster(six_nodes(), vec![]);
        let initial = verdicts(&snap);
        let fork = snap.fork();
        let mut next_pod = 0u64;
        for (op, a, b) in ops {
            let live = snap.node_ids().to_vec();
            let bound: Vec<PodId> = snap.pods().map(|(p, _)| p).collect();
            match op {
                0 if !live.is_empty() => {
                    snap.bind(PodId(next_pod), Arc::new(kinds[b as usize].clone()), live[a as usize % live.len()], i64::from(a));
                    next_pod += 1;
                }
                1 if !bound.is_empty() => { snap.unbind(bound[a as usize % bound.len()]); }
                2 if !bound.is_empty() => snap.set_terminating(bound[a as usize % bound.len()], Termination::Other),
                3 => { snap.add_node(Arc::new(node(&format!("x{a}"), ["a", "b", "c", "d"][b as usize], 8000, 32 * GI))); }
                4 if !live.is_empty() => { snap.remove_node(live[a as usize % live.len()]); }
                _ => {}
            }
        }
        // Rebuild: every slot ever handed out, the dead ones removed, then the pods.
        let mut rebuilt = ClusterSnapshot::new();
        let slots = snap.node_ids().last().map_or(0, |n| n.0 + 1);
        for i in 0..slots {
            let spec = snap.node(NodeId(i)).map_or_else(|| Arc::new(node("gone", "z", 1, 1)), |n| n.spec.clone());
            rebuilt.add_node(spec);
        }
        for i in 0..slots {
            if snap.node(NodeId(i)).is_none() {
                rebuilt.remove_node(NodeId(i));
            }
        }
        for (p, b) in snap.pods() {
            rebuilt.bind(p, b.spec.clone(), b.node, b.start_ms);
            if let Some(t) = b.terminating {
                rebuilt.set_terminating(p, t);
            }
        }
        proptest::prop_assert_eq!(verdicts(&snap), verdicts(&rebuilt));
        snap.revert(fork);
        proptest::prop_assert_eq!(verdicts(&snap), initial);
    }
}

#[test]
fn nodes_changed_since_follows_the_stamps_through_forks_and_trimming() {
    let mut snap = cluster(six_nodes(), vec![]);
    let changed = |snap: &ClusterSnapshot, v| -> Option<Vec<u32>> {
        Some(snap.nodes_changed_since(v)?.map(|n| n.0).collect())
    };
    let v0 = snap.version();
    snap.bind(PodId(1), Arc::new(pod(100, MI)), NodeId(2), 0);
    let v1 = snap.version();
    snap.bind(PodId(2), Arc::new(pod(100, MI)), NodeId(4), 0);
    assert_eq!(changed(&snap, v0), Some(vec![2, 4]));
    assert_eq!(changed(&snap, v1), Some(vec![4]));
    // A reverted what-if leaves no trace, a committed one does.
    let v2 = snap.version();
    let fork = snap.fork();
    snap.unbind(PodId(1));
    snap.bind(PodId(3), Arc::new(pod(100, MI)), NodeId(5), 0);
    assert_eq!(changed(&snap, v2), Some(vec![2, 5]));
    snap.revert(fork);
    assert_eq!(changed(&snap, v2), Some(vec![]));
    assert!(snap.node_version(NodeId(2)) <= v2);
    let fork = snap.fork();
    snap.unbind(PodId(2));
    snap.commit(fork);
    assert_eq!(changed(&snap, v2), Some(vec![4]));
    // Past the memory of the record, the answer is "unknown", never a wrong "nothing".
    let mut recent = 0;
    for i in 0..70_000u64 {
        if i == 70_000 - 5 {
            recent = snap.version();
        }
        snap.bind(PodId(10 + i), Arc::new(pod(0, 0)), NodeId(0), 0);
        snap.unbind(PodId(10 + i));
    }
    assert_eq!(changed(&snap, v2), None);
    assert_eq!(changed(&snap, recent), Some(vec![0; 10]));
}

/// The galloping search of the stamp record finds what a bisection of the whole record
/// finds, for records of every length up to a few hundred and every version around them.
#[test]
fn first_newer_stamp_is_found_as_by_bisection() {
    use rand::Rng;
    let mut r = rng(3);
    for len in 0..300 {
        let mut v = 0;
        let touches: Vec<(u64, NodeId)> = (0..len)
            .map(|_| {
                v += r.random_range(1..4);
                (v, NodeId(0))
            })
            .collect();
        for version in 0..v + 2 {
            let bisected = touches.partition_point(|&(t, _)| t <= version);
            let got = super::super::snapshot::first_newer(&touches, version);
            assert_eq!(got, bisected, "{len} stamps, version {version}");
        }
    }
}
