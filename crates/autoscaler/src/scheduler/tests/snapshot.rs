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
