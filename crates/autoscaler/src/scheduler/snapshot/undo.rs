//! Fork, revert and commit of a [`ClusterSnapshot`] through an undo log: while a fork is
//! open every mutation records its inverse, and reverting replays them newest first. This is
//! how the cluster-autoscaler's what-if simulations stay O(changes) instead of copying the
//! cluster.

use std::sync::Arc;

use super::{BoundPod, ClusterSnapshot, NodeId, NodeInfo, Nomination, PodId, Termination};
use crate::model::NodeSchedulingSpec;

/// The inverse of one mutation.
#[derive(Debug, Clone)]
pub(crate) enum Undo {
    /// Undo `add_node`: drop the newest slot.
    AddNode,
    /// Undo `remove_node` (its pods were unbound first and are restored by their own
    /// entries).
    RemoveNode {
        node: NodeId,
        info: NodeInfo,
        nominations: Vec<(PodId, Nomination)>,
    },
    Bind(PodId),
    /// The pod and its position among its node's pods.
    Unbind(PodId, BoundPod, usize),
    Spec(NodeId, Arc<NodeSchedulingSpec>),
    Terminating(PodId, Option<Termination>),
    Nomination(PodId, Option<Nomination>),
    /// A node's change stamp before a change (logged ahead of the change's own entry).
    NodeStamp(NodeId, u64),
    /// The layout stamp before a change.
    LayoutStamp(u64),
}

impl Undo {
    /// Records the change this entry undoes, or its undoing, in the snapshot's versions
    /// (binds and unbinds touch their node through `node_mut`).
    fn touch(&self, snap: &mut ClusterSnapshot) {
        match self {
            Undo::AddNode | Undo::RemoveNode { .. } | Undo::Spec(..) | Undo::Nomination(..) => {
                snap.touch_layout()
            }
            Undo::Bind(_) | Undo::Unbind(..) | Undo::Terminating(..) => snap.versions.now += 1,
            Undo::NodeStamp(..) | Undo::LayoutStamp(_) => {}
        }
    }
}

/// An open fork, from [`ClusterSnapshot::fork`]. Forks nest; close them innermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a fork must be reverted or committed"]
pub struct Fork {
    depth: usize,
    log_len: usize,
    touches_len: usize,
}

impl ClusterSnapshot {
    /// Starts recording changes so that [`revert`](Self::revert) can undo them.
    pub fn fork(&mut self) -> Fork {
        self.forks += 1;
        Fork {
            depth: self.forks,
            log_len: self.undo.len(),
            touches_len: self.touches_len(),
        }
    }

    /// Undoes every change since `fork`, which must be the innermost open fork. Node ids
    /// handed out inside the fork are handed out again afterwards.
    pub fn revert(&mut self, fork: Fork) {
        assert_eq!(
            fork.depth, self.forks,
            "revert of a fork that is not the innermost open one"
        );
        // Replaying must not record: close the recording while undoing.
        self.forks = 0;
        while self.undo.len() > fork.log_len {
            let entry = self.undo.pop().expect("log longer than the fork mark");
            self.apply_undo(entry);
        }
        // The stamps are back as they were before the fork: so is the record of them.
        self.cut_touches(fork.touches_len);
        self.forks = fork.depth - 1;
    }

    /// Keeps the changes since `fork`. Inside an outer fork they stay revertible with it.
    pub fn commit(&mut self, fork: Fork) {
        assert_eq!(
            fork.depth, self.forks,
            "commit of a fork that is not the innermost open one"
        );
        self.forks -= 1;
        if self.forks == 0 {
            self.undo.clear();
        }
    }

    pub(super) fn log(&mut self, entry: Undo) {
        entry.touch(self);
        if self.forks > 0 {
            self.undo.push(entry);
        }
    }

    fn apply_undo(&mut self, entry: Undo) {
        entry.touch(self);
        match entry {
            Undo::AddNode => {
                let slot = self.nodes.len() - 1;
                assert!(self
                    .nodes
                    .pop()
                    .is_some_and(|n| n.is_some_and(|n| n.pods.is_empty())));
                self.live.retain(|n| n.0 as usize != slot);
                let index = self.index.get_mut();
                for topo in &mut index.topology {
                    topo.node_domain.truncate(slot);
                }
                for sel in &mut index.selectors {
                    sel.per_node.truncate(slot);
                }
                index.static_fit.truncate(slot);
                self.versions.nodes.truncate(slot);
            }
            Undo::RemoveNode {
                node,
                info,
                nominations,
            } => {
                self.nodes[node.0 as usize] = Some(info);
                self.index.get_mut().static_fit.forget(node);
                let at = self.live.partition_point(|&n| n < node);
                self.live.insert(at, node);
                self.nominated.extend(nominations);
            }
            Undo::Bind(pod) => {
                self.unbind(pod);
            }
            Undo::Unbind(pod, bound, at) => {
                let node = bound.node;
                self.bind(pod, bound.spec, node, bound.start_ms);
                // Back to its place, so the node's pod order is as before the fork.
                let pods = &mut self.node_mut(node).pods;
                let p = pods.pop().expect("just bound");
                pods.insert(at, p);
                if bound.terminating.is_some() {
                    self.set_termination_state(pod, bound.terminating);
                }
            }
            Undo::Spec(node, spec) => {
                self.node_mut(node).set_spec(spec);
                self.index.get_mut().static_fit.forget(node);
            }
            Undo::Terminating(pod, state) => self.set_termination_state(pod, state),
            Undo::NodeStamp(node, stamp) => self.versions.nodes[node.0 as usize] = stamp,
            Undo::LayoutStamp(stamp) => self.versions.layout = stamp,
            Undo::Nomination(pod, old) => match old {
                Some(n) => {
                    self.nominated.insert(pod, n);
                }
                None => {
                    self.nominated.remove(&pod);
                }
            },
        }
    }
}
