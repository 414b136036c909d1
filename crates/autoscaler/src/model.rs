//! The cluster vocabulary every policy shares: resources, labels, taints, tolerations,
//! label and node selectors, affinity, topology spread, and the scheduling view of pods and
//! nodes. These are validated domain types (quantities already parsed to integers); the
//! Kubernetes-shaped serde mirrors live at the edges (`sim::manifest`).

use std::collections::BTreeMap;

/// Millicores of CPU (Kubernetes `cpu: 250m` is 250).
pub type MilliCpu = i64;
/// Bytes of memory (Kubernetes `memory: 256Mi` is 268_435_456).
pub type Bytes = i64;

/// A bundle of schedulable resources: a pod's requests or a node's allocatable.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Resources {
    pub cpu_m: MilliCpu,
    pub memory_bytes: Bytes,
    /// `nvidia.com/gpu` (whole devices).
    pub gpu: i64,
    /// Pod slots (`pods` in a node's allocatable; 1 for a pod's own request).
    pub pods: i64,
}

impl Resources {
    pub const ZERO: Resources = Resources {
        cpu_m: 0,
        memory_bytes: 0,
        gpu: 0,
        pods: 0,
    };

    pub fn new(cpu_m: MilliCpu, memory_bytes: Bytes) -> Resources {
        Resources {
            cpu_m,
            memory_bytes,
            gpu: 0,
            pods: 0,
        }
    }

    pub fn add(&self, o: &Resources) -> Resources {
        Resources {
            cpu_m: self.cpu_m + o.cpu_m,
            memory_bytes: self.memory_bytes + o.memory_bytes,
            gpu: self.gpu + o.gpu,
            pods: self.pods + o.pods,
        }
    }

    pub fn sub(&self, o: &Resources) -> Resources {
        Resources {
            cpu_m: self.cpu_m - o.cpu_m,
            memory_bytes: self.memory_bytes - o.memory_bytes,
            gpu: self.gpu - o.gpu,
            pods: self.pods - o.pods,
        }
    }

    /// Every component of `self` is at most the one of `capacity`.
    pub fn fits_in(&self, capacity: &Resources) -> bool {
        self.cpu_m <= capacity.cpu_m
            && self.memory_bytes <= capacity.memory_bytes
            && self.gpu <= capacity.gpu
            && self.pods <= capacity.pods
    }
}

/// Labels (and node selectors): ordered so iteration is deterministic.
pub type Labels = BTreeMap<String, String>;

/// Well-known label keys, as Kubernetes spells them.
pub mod well_known {
    pub const HOSTNAME: &str = "kubernetes.io/hostname";
    pub const ZONE: &str = "topology.kubernetes.io/zone";
    pub const REGION: &str = "topology.kubernetes.io/region";
    pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
    pub const ARCH: &str = "kubernetes.io/arch";
    pub const OS: &str = "kubernetes.io/os";
    /// Karpenter's and EKS's capacity-type labels.
    pub const KARPENTER_CAPACITY_TYPE: &str = "karpenter.sh/capacity-type";
    pub const EKS_CAPACITY_TYPE: &str = "eks.amazonaws.com/capacityType";
    pub const KARPENTER_NODEPOOL: &str = "karpenter.sh/nodepool";
    pub const INSTANCE_FAMILY: &str = "karpenter.k8s.aws/instance-family";
    pub const INSTANCE_SIZE: &str = "karpenter.k8s.aws/instance-size";
    pub const GPU_RESOURCE: &str = "nvidia.com/gpu";
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: TaintEffect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TolerationOperator {
    Equal,
    Exists,
}

/// A pod's toleration. An empty `key` with `Exists` tolerates every taint; `effect: None`
/// matches every effect.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Toleration {
    pub key: String,
    pub operator: TolerationOperator,
    pub value: String,
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<i64>,
}

/// Operators of label selector and node selector requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    /// Node selectors only: the label value, read as an integer, is greater.
    Gt,
    /// Node selectors only: the label value, read as an integer, is less.
    Lt,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SelectorRequirement {
    pub key: String,
    pub operator: SelectorOperator,
    pub values: Vec<String>,
}

/// metav1.LabelSelector: `matchLabels` and `matchExpressions`, all ANDed. An empty
/// selector matches everything (for PDBs and spreads, as in Kubernetes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LabelSelector {
    pub match_labels: Labels,
    pub match_expressions: Vec<SelectorRequirement>,
}

/// One `nodeSelectorTerms` entry: its `matchExpressions` (and `matchFields`, where only
/// `metadata.name` exists) are ANDed; terms are ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeSelectorTerm {
    pub match_expressions: Vec<SelectorRequirement>,
    pub match_fields: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed). Empty: no
    /// requirement.
    pub required: Vec<NodeSelectorTerm>,
    /// `preferredDuringSchedulingIgnoredDuringExecution`: (weight 1..=100, term).
    pub preferred: Vec<(i32, NodeSelectorTerm)>,
}

/// One pod (anti-)affinity term.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PodAffinityTerm {
    pub label_selector: LabelSelector,
    pub topology_key: String,
    /// Namespaces the selector applies to; empty means the pod's own namespace.
    pub namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PodAffinity {
    pub required: Vec<PodAffinityTerm>,
    pub preferred: Vec<(i32, PodAffinityTerm)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum WhenUnsatisfiable {
    DoNotSchedule,
    ScheduleAnyway,
}

/// `nodeAffinityPolicy` / `nodeTaintsPolicy` of a topology spread constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum SpreadPolicy {
    Honor,
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    pub label_selector: LabelSelector,
    pub min_domains: Option<i32>,
    /// Default Honor.
    pub node_affinity_policy: SpreadPolicy,
    /// Default Ignore.
    pub node_taints_policy: SpreadPolicy,
    pub match_label_keys: Vec<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum PreemptionPolicy {
    #[default]
    PreemptLowerPriority,
    Never,
}

/// What the scheduler needs to know about a pod: its template after defaulting, with
/// quantities parsed. Shared by every replica of a workload (hold it behind an `Arc`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PodSchedulingSpec {
    pub namespace: String,
    pub labels: Labels,
    /// Effective requests: max(sum of app containers + restartable init (sidecar)
    /// containers, largest init container) + overhead; `pods` is 1.
    pub requests: Resources,
    pub node_selector: Labels,
    pub node_affinity: NodeAffinity,
    pub pod_affinity: PodAffinity,
    pub pod_anti_affinity: PodAffinity,
    pub tolerations: Vec<Toleration>,
    pub topology_spread: Vec<TopologySpreadConstraint>,
    /// Resolved from `priorityClassName` (or the global default class, or 0).
    pub priority: i32,
    pub priority_class_name: String,
    pub preemption_policy: PreemptionPolicy,
    /// `spec.nodeName`, if the manifest pins the pod.
    pub node_name: Option<String>,
    /// The selector of the controller that owns the pod (ReplicaSet, StatefulSet,
    /// ReplicationController), merged with those of the Services selecting it. kube-scheduler
    /// builds its default (system) topology spread constraints from it; `None` for bare pods
    /// and Job pods, which get no default spreading.
    #[serde(default)]
    pub controller_selector: Option<LabelSelector>,
}

/// What the scheduler needs to know about a node.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeSchedulingSpec {
    pub name: String,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    /// Allocatable left for pods (catalog allocatable minus DaemonSet overhead).
    pub allocatable: Resources,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
}

impl LabelSelector {
    /// Whether `labels` match: every `matchLabels` pair and every expression. An empty
    /// selector matches everything. (One implementation: the scheduler's matching rules.)
    pub fn matches(&self, labels: &Labels) -> bool {
        crate::scheduler::matching::label_selector_matches(self, labels)
    }
}
