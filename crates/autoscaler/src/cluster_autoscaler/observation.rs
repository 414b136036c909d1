//! What one cluster-autoscaler loop sees: node groups with their template nodes, nodes with
//! their pods, unschedulable pods and PDBs. The caller (simulator or live mode) builds it
//! fresh for every loop, as CA lists the API server at the start of `RunOnce`.

use std::sync::Arc;

use crate::model::{Labels, NodeSchedulingSpec, PodSchedulingSpec, Resources};
use crate::scheduler::NodeId;

use super::settings::NodeGroupOptions;

/// Annotation keys CA reads, as Kubernetes spells them.
pub mod annotations {
    pub const SAFE_TO_EVICT: &str = "cluster-autoscaler.kubernetes.io/safe-to-evict";
    pub const SAFE_TO_EVICT_LOCAL_VOLUMES: &str =
        "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes";
    pub const POD_SCALE_UP_DELAY: &str = "cluster-autoscaler.kubernetes.io/pod-scale-up-delay";
    pub const ENABLE_DS_EVICTION: &str = "cluster-autoscaler.kubernetes.io/enable-ds-eviction";
    pub const SCALE_DOWN_DISABLED: &str = "cluster-autoscaler.kubernetes.io/scale-down-disabled";
}

/// The object that owns a pod (`metadata.ownerReferences` with `controller: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Controller {
    /// `ReplicaSet`, `StatefulSet`, `Job`, `DaemonSet`, `ReplicationController`, or a custom kind.
    pub kind: String,
    pub name: String,
    /// False when the owner object no longer exists.
    pub exists: bool,
    /// `spec.replicas` of a ReplicaSet or ReplicationController.
    pub replicas: Option<i32>,
}

impl Controller {
    pub fn is_daemonset(&self) -> bool {
        self.kind == "DaemonSet"
    }

    /// Kinds CA knows how to recreate pods for (`skip-nodes-with-custom-controller-pods`).
    pub fn is_builtin(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "ReplicaSet" | "ReplicationController" | "StatefulSet" | "Job" | "DaemonSet"
        )
    }
}

/// A pod as CA sees it.
#[derive(Debug, Clone)]
pub struct PodInfo {
    /// `namespace/name`, unique in the observation.
    pub id: String,
    pub spec: Arc<PodSchedulingSpec>,
    pub created_ms: i64,
    pub controller: Option<Controller>,
    pub annotations: Labels,
    /// Static pod mirrored from the kubelet.
    pub mirror: bool,
    /// Phase Succeeded or Failed.
    pub terminal: bool,
    /// `metadata.deletionTimestamp` and `terminationGracePeriodSeconds`.
    pub deletion_ms: Option<i64>,
    pub termination_grace_s: i64,
    /// Volumes that use node-local storage (hostPath, or emptyDir not backed by memory).
    pub local_volumes: Vec<String>,
}

impl PodInfo {
    pub fn is_daemonset(&self) -> bool {
        self.controller
            .as_ref()
            .is_some_and(Controller::is_daemonset)
    }

    pub fn requests_gpu(&self) -> bool {
        self.spec.requests.gpu > 0
    }

    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.get(key).map(String::as_str)
    }

    pub fn safe_to_evict(&self) -> Option<&str> {
        self.annotation(annotations::SAFE_TO_EVICT)
    }
}

/// An unschedulable (or nominated) pending pod.
#[derive(Debug, Clone)]
pub struct PendingPod {
    pub pod: PodInfo,
    /// `status.nominatedNodeName`: the pod waits for a preemption on that node.
    pub nominated_node: Option<String>,
}

/// A registered node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub spec: NodeSchedulingSpec,
    /// Node capacity (CA's quotas and least-waste read capacity, not allocatable).
    pub capacity: Resources,
    /// The node group it belongs to; `None` for nodes CA does not manage.
    pub group: Option<String>,
    pub ready: bool,
    pub created_ms: i64,
    pub annotations: Labels,
    /// The node carries `ToBeDeletedByClusterAutoscaler` or is otherwise being removed.
    pub being_deleted: bool,
    /// The cloud provider reports a GPU for this node's type.
    pub has_gpu: bool,
    pub pods: Vec<PodInfo>,
}

/// A node group (ASG, MIG): its bounds, sizes and template.
#[derive(Debug, Clone)]
pub struct NodeGroupInfo {
    /// The group ID the priority expander's regexes match (ASG name, MIG URL, ...).
    pub id: String,
    pub min_size: i32,
    pub max_size: i32,
    /// Desired capacity the cloud provider holds.
    pub target_size: i32,
    /// Template node: what a new node of this group looks like (allocatable after DaemonSets).
    pub template: NodeSchedulingSpec,
    pub template_capacity: Resources,
    pub template_has_gpu: bool,
    /// Price of one node, USD per hour; `None` when the provider has no `Pricing()`.
    pub price_usd_per_hour: Option<f64>,
    pub options: NodeGroupOptions,
}

/// A PodDisruptionBudget, reduced to what CA needs.
#[derive(Debug, Clone)]
pub struct PdbInfo {
    pub namespace: String,
    pub selector: crate::model::LabelSelector,
    /// `status.disruptionsAllowed`.
    pub disruptions_allowed: i32,
}

impl PdbInfo {
    pub fn matches(&self, pod: &PodSchedulingSpec) -> bool {
        self.namespace == pod.namespace
            && crate::scheduler::matching::label_selector_matches(&self.selector, &pod.labels)
    }
}

/// Instances the cloud provider reports in an error state for a group (the simulated
/// spot InsufficientInstanceCapacity, quota exhaustion, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceErrors {
    pub group: String,
    pub count: i32,
    /// `OutOfResources` or `Other`, as CA's `InstanceErrorClass`.
    pub class: String,
    pub code: String,
}

/// Everything one loop reads.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub node_groups: Vec<NodeGroupInfo>,
    pub nodes: Vec<NodeInfo>,
    pub unschedulable: Vec<PendingPod>,
    pub pdbs: Vec<PdbInfo>,
    /// Newly reported creation errors (each reported once by the caller).
    pub instance_errors: Vec<InstanceErrors>,
    /// Node deletions CA started that failed since the last loop (tainting or the cloud
    /// call failed, or an eviction did not succeed within max-pod-eviction-time); each
    /// reported once by the caller.
    pub scale_down_failures: Vec<String>,
    /// Optional, for a caller that observed the very snapshot it hands
    /// [`run_once_on_snapshot`](super::run_once_on_snapshot): the snapshot node each entry of
    /// `nodes` is, aligned with it. Empty (or an id not in the snapshot): nodes are matched to
    /// the snapshot's by name. An id naming another live node is the caller's error.
    pub snapshot_nodes: Vec<NodeId>,
}
