//! DefaultPreemption (a PostFilter): eligibility, candidate nodes, victim selection with PDB
//! reprieve, and the lexicographic choice of node.

use std::cmp::Reverse;

use rand::Rng;

use super::filters::{Code, PreFilter, Reason, Rejection};
use super::matching::label_selector_matches;
use super::snapshot::{BoundPod, ClusterSnapshot, NodeId, PodId, Termination};
use super::{availability_message, FitError, SchedulerConfig};
use crate::model::{LabelSelector, PodSchedulingSpec, PreemptionPolicy};

/// What preemption needs of a PodDisruptionBudget: the pods it covers and its status'
/// `disruptionsAllowed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdb {
    pub namespace: String,
    pub selector: LabelSelector,
    pub disruptions_allowed: i32,
}

impl Pdb {
    /// A PDB with an empty selector covers nothing here, as in kube-scheduler's preemption.
    fn covers(&self, pod: &PodSchedulingSpec) -> bool {
        self.namespace == pod.namespace
            && self.selector != LabelSelector::default()
            && label_selector_matches(&self.selector, &pod.labels)
    }
}

/// A successful preemption. The caller deletes the victims gracefully (a delete, not a
/// PDB-checked eviction), nominates the preemptor to `node` and clears the nominations of
/// `clear_nominations`; the preemptor is retried later and is not bound now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preemption {
    pub node: NodeId,
    /// Most important first.
    pub victims: Vec<PodId>,
    pub num_pdb_violations: usize,
    /// Lower-priority pods nominated to `node`, whose nomination must be cleared.
    pub clear_nominations: Vec<PodId>,
}

/// One candidate node and its victims, with what the node choice compares.
#[derive(Debug, Clone)]
struct Candidate {
    node: NodeId,
    victims: Vec<(PodId, i32, i64)>,
    num_pdb_violations: usize,
}

/// Runs preemption for a pod that failed with `fit`. `Err` carries kube-scheduler's
/// message (without the `preemption: ` prefix).
pub(crate) fn preempt(
    cfg: &SchedulerConfig,
    snap: &ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    fit: &FitError,
    pdbs: &[Pdb],
    rng: &mut impl Rng,
) -> Result<Preemption, String> {
    eligible(snap, pod_id, pod, fit)?;
    // Only nodes that failed with a resolvable status may be helped by removing pods.
    let potential: Vec<NodeId> = fit
        .statuses
        .iter()
        .filter(|(_, r)| r.code == Code::Unschedulable)
        .map(|(n, _)| *n)
        .collect();
    let num_all = snap.num_nodes();
    if potential.is_empty() {
        return Err(availability_message(
            num_all,
            std::iter::empty(),
            Reason::PreemptionNotHelpful,
        ));
    }
    let num_candidates = num_candidates(cfg, potential.len());
    let offset = rng.random_range(0..potential.len());
    let mut work = snap.clone();
    let (mut non_violating, mut violating, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..potential.len() {
        let node = potential[(offset + i) % potential.len()];
        match select_victims(&mut work, pod_id, pod, node, pdbs) {
            Ok(c) if c.num_pdb_violations == 0 => non_violating.push(c),
            Ok(c) => violating.push(c),
            Err(r) => statuses.push(r),
        }
        if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
            break;
        }
    }
    let candidates: Vec<Candidate> = non_violating.into_iter().chain(violating).collect();
    if candidates.is_empty() {
        return Err(availability_message(
            num_all,
            statuses.iter(),
            Reason::PreemptionNotHelpful,
        ));
    }
    let chosen = pick_one_node(&candidates);
    let clear_nominations = snap
        .nominated_to(chosen.node)
        .filter(|(_, n)| n.priority < pod.priority)
        .map(|(p, _)| p)
        .filter(|&p| p != pod_id)
        .collect();
    Ok(Preemption {
        node: chosen.node,
        victims: chosen.victims.iter().map(|v| v.0).collect(),
        num_pdb_violations: chosen.num_pdb_violations,
        clear_nominations,
    })
}

/// `PodEligibleToPreemptOthers`.
fn eligible(
    snap: &ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    fit: &FitError,
) -> Result<(), String> {
    if pod.preemption_policy == PreemptionPolicy::Never {
        return Err("not eligible due to preemptionPolicy=Never.".to_string());
    }
    let Some(nom) = snap.nomination(pod_id) else {
        return Ok(());
    };
    let nominated_unresolvable = fit
        .statuses
        .iter()
        .any(|(n, r)| *n == nom.node && r.code == Code::UnschedulableAndUnresolvable);
    if nominated_unresolvable {
        return Ok(());
    }
    let Some(info) = snap.node(nom.node) else {
        return Ok(());
    };
    let waiting =
        info.pods.iter().filter_map(|&p| snap.pod(p)).any(|b| {
            b.spec.priority < pod.priority && b.terminating == Some(Termination::Preempted)
        });
    if waiting {
        return Err("not eligible due to a terminating pod on the nominated node.".to_string());
    }
    Ok(())
}

/// max(potential × minCandidateNodesPercentage %, minCandidateNodesAbsolute), capped at
/// the number of potential nodes.
fn num_candidates(cfg: &SchedulerConfig, potential: usize) -> usize {
    let pct = potential * cfg.min_candidate_nodes_percentage as usize / 100;
    pct.max(cfg.min_candidate_nodes_absolute as usize)
        .min(potential)
}

/// `SelectVictimsOnNode`, on a working copy of the snapshot that is restored before
/// returning.
fn select_victims(
    work: &mut ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    node: NodeId,
    pdbs: &[Pdb],
) -> Result<Candidate, Rejection> {
    let info = work.node(node).expect("potential node");
    let mut potential: Vec<(PodId, BoundPod)> = info
        .pods
        .iter()
        .map(|&p| (p, work.pod(p).expect("bound pod").clone()))
        .filter(|(_, b)| b.spec.priority < pod.priority)
        .collect();
    if potential.is_empty() {
        return Err(Rejection::unresolvable(Reason::NoPreemptionVictims));
    }
    for (p, _) in &potential {
        work.unbind(*p);
    }
    let fits = |w: &ClusterSnapshot| PreFilter::new(w, pod, Some(pod_id)).filter(node);
    if let Err(r) = fits(work) {
        restore(work, &potential);
        return Err(r);
    }
    // Most important first: higher priority, then the longer-running.
    potential.sort_by_key(|(p, b)| (Reverse(b.spec.priority), b.start_ms, *p));
    let violating = pdb_violations(&potential, pdbs);
    let order = (0..potential.len())
        .filter(|&i| violating[i])
        .chain((0..potential.len()).filter(|&i| !violating[i]));
    let (mut victims, mut num_pdb_violations) = (Vec::new(), 0);
    for i in order.collect::<Vec<_>>() {
        let (p, b) = &potential[i];
        work.bind(*p, b.spec.clone(), b.node, b.start_ms);
        if let Some(t) = b.terminating {
            work.set_terminating(*p, t);
        }
        if fits(work).is_err() {
            work.unbind(*p);
            victims.push(i);
            num_pdb_violations += usize::from(violating[i]);
        }
    }
    victims.sort_unstable();
    let victims: Vec<(PodId, i32, i64)> = victims
        .iter()
        .map(|&i| {
            (
                potential[i].0,
                potential[i].1.spec.priority,
                potential[i].1.start_ms,
            )
        })
        .collect();
    let removed: Vec<(PodId, BoundPod)> = potential
        .iter()
        .filter(|(p, _)| victims.iter().any(|v| v.0 == *p))
        .cloned()
        .collect();
    restore(work, &removed);
    assert!(
        !victims.is_empty(),
        "a node that failed filters fits without removing any pod"
    );
    Ok(Candidate {
        node,
        victims,
        num_pdb_violations,
    })
}

/// Binds back pods taken off the working snapshot.
fn restore(work: &mut ClusterSnapshot, pods: &[(PodId, BoundPod)]) {
    for (p, b) in pods {
        if work.pod(*p).is_none() {
            work.bind(*p, b.spec.clone(), b.node, b.start_ms);
            if let Some(t) = b.terminating {
                work.set_terminating(*p, t);
            }
        }
    }
}

/// `filterPodsWithPDBViolation`: walking the victims most important first, each covering
/// PDB's budget is spent; a pod that overdraws any budget violates it.
fn pdb_violations(pods: &[(PodId, BoundPod)], pdbs: &[Pdb]) -> Vec<bool> {
    let mut allowed: Vec<i64> = pdbs
        .iter()
        .map(|p| i64::from(p.disruptions_allowed))
        .collect();
    pods.iter()
        .map(|(_, b)| {
            let mut violated = false;
            if !b.spec.labels.is_empty() {
                for (i, pdb) in pdbs.iter().enumerate() {
                    if pdb.covers(&b.spec) {
                        allowed[i] -= 1;
                        violated |= allowed[i] < 0;
                    }
                }
            }
            violated
        })
        .collect()
}

/// `pickOneNodeForPreemption`: fewest PDB violations, lowest highest-victim priority,
/// lowest sum of priorities (each shifted by 2^31), fewest victims, latest start of the
/// highest-priority victims, then the first candidate.
fn pick_one_node(candidates: &[Candidate]) -> &Candidate {
    let key = |c: &Candidate| {
        let highest = c.victims[0].1;
        let sum: i64 = c
            .victims
            .iter()
            .map(|v| i64::from(v.1) + (1i64 << 31))
            .sum();
        let earliest_of_highest = c
            .victims
            .iter()
            .filter(|v| v.1 == highest)
            .map(|v| v.2)
            .min()
            .unwrap_or(i64::MIN);
        (
            Reverse(c.num_pdb_violations),
            Reverse(highest),
            Reverse(sum),
            Reverse(c.victims.len()),
            earliest_of_highest,
        )
    };
    let mut best = &candidates[0];
    for c in &candidates[1..] {
        // Strictly better only: ties keep the earlier candidate.
        if key(c) > key(best) {
            best = c;
        }
    }
    best
}
