//! DefaultPreemption (a PostFilter): eligibility, candidate nodes, victim selection with PDB
//! reprieve, and the lexicographic choice of node.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use rand::Rng;

use super::filters::{
    reservations, resource_shortfalls, shortfall_rejection, PreFilter, Reason, Rejection,
};
use super::matching::label_selector_matches;
use super::snapshot::{pod_request, BoundPod, ClusterSnapshot, NodeId, PodId, Termination};
use super::{availability_message, SchedulerConfig};
use crate::model::{LabelSelector, PodSchedulingSpec, PreemptionPolicy, Resources};

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

/// A preemption that found nothing to do.
#[derive(Debug, Clone)]
pub(crate) struct NoPreemption {
    /// kube-scheduler's message, without the `preemption: ` prefix.
    pub message: String,
    /// The range of the one RNG draw made (the candidate offset), if any: whoever answers
    /// an identical attempt without running it must draw the same to keep the stream.
    pub drawn_from: Option<usize>,
}

impl From<String> for NoPreemption {
    fn from(message: String) -> Self {
        NoPreemption {
            message,
            drawn_from: None,
        }
    }
}

/// Runs preemption for a pod that fit nowhere, `potential` being the nodes whose rejection
/// was resolvable (in node id order): only they may be helped by removing pods. The message
/// of a failure is written only if `explain`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn preempt(
    cfg: &SchedulerConfig,
    snap: &mut ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    potential: &[NodeId],
    pdbs: &[Pdb],
    rng: &mut impl Rng,
    explain: bool,
) -> Result<Preemption, NoPreemption> {
    eligible(snap, pod_id, pod, potential)?;
    let num_all = snap.num_nodes();
    if potential.is_empty() {
        let message = explain.then(|| {
            availability_message(num_all, std::iter::empty(), Reason::PreemptionNotHelpful)
        });
        return Err(message.unwrap_or_default().into());
    }
    let num_candidates = num_candidates(cfg, potential.len());
    let offset = rng.random_range(0..potential.len());
    let (mut non_violating, mut violating, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
    let mut rejected = |r: Rejection| {
        if explain {
            statuses.push(r);
        }
    };
    let reserved = reservations(snap, pod, Some(pod_id));
    for i in 0..potential.len() {
        let node = potential[(offset + i) % potential.len()];
        if let Err(why) = may_help(snap, pod, node, &reserved) {
            // Most nodes of a full cluster end here: their rejection is built only to be
            // explained.
            if explain {
                rejected(why.into());
            }
            continue;
        }
        match select_victims(snap, pod_id, pod, node, pdbs) {
            Ok(c) if c.num_pdb_violations == 0 => non_violating.push(c),
            Ok(c) => violating.push(c),
            Err(r) => rejected(r),
        }
        if !non_violating.is_empty() && non_violating.len() + violating.len() >= num_candidates {
            break;
        }
    }
    let candidates: Vec<Candidate> = non_violating.into_iter().chain(violating).collect();
    if candidates.is_empty() {
        let message = explain
            .then(|| availability_message(num_all, statuses.iter(), Reason::PreemptionNotHelpful));
        return Err(NoPreemption {
            message: message.unwrap_or_default(),
            drawn_from: Some(potential.len()),
        });
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

/// `PodEligibleToPreemptOthers`. Every node was rejected, so the nominated node, if it is
/// still there, was rejected unresolvably exactly when it is not among the `resolvable`.
fn eligible(
    snap: &ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    resolvable: &[NodeId],
) -> Result<(), String> {
    if pod.preemption_policy == PreemptionPolicy::Never {
        return Err("not eligible due to preemptionPolicy=Never.".to_string());
    }
    let Some(nom) = snap.nomination(pod_id) else {
        return Ok(());
    };
    // (A nominated node that is gone is no reason to refuse either.)
    if resolvable.binary_search(&nom.node).is_err() {
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

/// What [`select_victims`] would reject without trying it: a node with no lower-priority
/// pods, or one where even removing all of them leaves too few resources (NodeResourcesFit
/// is the first filter a potential node can fail, so its rejection is the one
/// `select_victims` would return). Most nodes of a full cluster end here, which keeps a
/// pending pod's repeated preemption attempts O(nodes) instead of O(pods).
fn may_help(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    node: NodeId,
    reserved: &BTreeMap<NodeId, Resources>,
) -> Result<(), Unhelpful> {
    let info = snap.node(node).expect("potential node");
    let lower = info.requested_below(pod.priority);
    if lower.pods == 0 {
        return Err(Unhelpful::NoVictims);
    }
    let reserved = reserved.get(&node).unwrap_or(&Resources::ZERO);
    let used = info.requested.sub(&lower).add(reserved);
    let short = resource_shortfalls(&pod_request(pod), &info.spec.allocatable, &used);
    if short.contains(&true) {
        return Err(Unhelpful::Short(short));
    }
    Ok(())
}

/// Why [`may_help`] turned a node down: the makings of its rejection.
#[derive(Debug, Clone, Copy)]
enum Unhelpful {
    NoVictims,
    /// Which resources are short even without the lower-priority pods.
    Short([bool; 4]),
}

impl From<Unhelpful> for Rejection {
    fn from(why: Unhelpful) -> Rejection {
        match why {
            Unhelpful::NoVictims => Rejection::unresolvable(Reason::NoPreemptionVictims),
            Unhelpful::Short(short) => shortfall_rejection(short),
        }
    }
}

/// `SelectVictimsOnNode`, inside a fork of the snapshot that is reverted before returning.
fn select_victims(
    snap: &mut ClusterSnapshot,
    pod_id: PodId,
    pod: &PodSchedulingSpec,
    node: NodeId,
    pdbs: &[Pdb],
) -> Result<Candidate, Rejection> {
    let fork = snap.fork();
    let result = select_victims_in_fork(snap, pod_id, pod, node, pdbs);
    snap.revert(fork);
    result
}

fn select_victims_in_fork(
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
    fits(work)?;
    // Most important first: higher priority, then the longer-running.
    potential.sort_by_key(|(p, b)| (Reverse(b.spec.priority), b.start_ms, *p));
    let violating = pdb_violations(&potential, pdbs);
    // Reprieve PDB-violating pods first, then the others, each most important first.
    let order: Vec<usize> = (0..potential.len())
        .filter(|&i| violating[i])
        .chain((0..potential.len()).filter(|&i| !violating[i]))
        .collect();
    let (mut victims, mut num_pdb_violations) = (Vec::new(), 0);
    for i in order {
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
    // Only possible if the FitError is stale (the node fits as it is now): nothing to do
    // here, as kube-scheduler's "expected at least one victim" error.
    if victims.is_empty() {
        return Err(Rejection::unresolvable(Reason::NoPreemptionVictims));
    }
    let victims = victims
        .iter()
        .map(|&i| {
            (
                potential[i].0,
                potential[i].1.spec.priority,
                potential[i].1.start_ms,
            )
        })
        .collect();
    Ok(Candidate {
        node,
        victims,
        num_pdb_violations,
    })
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
