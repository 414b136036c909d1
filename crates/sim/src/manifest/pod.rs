//! core/v1 pod templates as Deployments, Jobs and CronJobs embed them. Every field of PodSpec
//! and Container is listed so real manifests load; the ones headroom does not model are kept
//! as opaque values.

use std::collections::BTreeMap;

use autoscaler::model::{SpreadPolicy, TaintEffect, TolerationOperator, WhenUnsatisfiable};
use serde::Deserialize;
use serde_json::Value;

use crate::manifest::common::{LabelSelector, ObjectMeta, Requirement, ResourceList};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTemplateSpec {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default)]
    pub init_containers: Vec<Container>,
    #[serde(default)]
    pub node_selector: BTreeMap<String, String>,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    #[serde(default)]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub priority_class_name: Option<String>,
    pub priority: Option<i32>,
    pub preemption_policy: Option<autoscaler::model::PreemptionPolicy>,
    pub termination_grace_period_seconds: Option<i64>,
    #[serde(default)]
    pub overhead: ResourceList,
    pub node_name: Option<String>,
    pub restart_policy: Option<String>,
    pub active_deadline_seconds: Option<i64>,
    // Accepted, not modelled.
    pub volumes: Option<Value>,
    pub ephemeral_containers: Option<Value>,
    pub dns_policy: Option<Value>,
    pub dns_config: Option<Value>,
    pub service_account_name: Option<Value>,
    pub service_account: Option<Value>,
    pub automount_service_account_token: Option<Value>,
    pub host_network: Option<Value>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<Value>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<Value>,
    pub share_process_namespace: Option<Value>,
    pub security_context: Option<Value>,
    pub image_pull_secrets: Option<Value>,
    pub hostname: Option<Value>,
    pub subdomain: Option<Value>,
    pub scheduler_name: Option<Value>,
    pub host_aliases: Option<Value>,
    pub readiness_gates: Option<Value>,
    pub runtime_class_name: Option<Value>,
    pub enable_service_links: Option<Value>,
    #[serde(rename = "setHostnameAsFQDN")]
    pub set_hostname_as_fqdn: Option<Value>,
    pub os: Option<Value>,
    pub host_users: Option<Value>,
    pub scheduling_gates: Option<Value>,
    pub resource_claims: Option<Value>,
    pub resources: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Container {
    pub name: String,
    #[serde(default)]
    pub resources: ResourceRequirements,
    /// `Always` on an init container makes it a sidecar.
    pub restart_policy: Option<String>,
    // Accepted, not modelled.
    pub image: Option<Value>,
    pub command: Option<Value>,
    pub args: Option<Value>,
    pub working_dir: Option<Value>,
    pub ports: Option<Value>,
    pub env_from: Option<Value>,
    pub env: Option<Value>,
    pub resize_policy: Option<Value>,
    pub restart_policy_rules: Option<Value>,
    pub volume_mounts: Option<Value>,
    pub volume_devices: Option<Value>,
    pub liveness_probe: Option<Value>,
    pub readiness_probe: Option<Value>,
    pub startup_probe: Option<Value>,
    pub lifecycle: Option<Value>,
    pub termination_message_path: Option<Value>,
    pub termination_message_policy: Option<Value>,
    pub image_pull_policy: Option<Value>,
    pub security_context: Option<Value>,
    pub stdin: Option<Value>,
    pub stdin_once: Option<Value>,
    pub tty: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRequirements {
    #[serde(default)]
    pub requests: ResourceList,
    #[serde(default)]
    pub limits: ResourceList,
    pub claims: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Toleration {
    #[serde(default)]
    pub key: String,
    pub operator: Option<TolerationOperator>,
    #[serde(default)]
    pub value: String,
    pub effect: Option<TaintEffect>,
    pub toleration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Affinity {
    pub node_affinity: Option<NodeAffinity>,
    pub pod_affinity: Option<PodAffinity>,
    pub pod_anti_affinity: Option<PodAffinity>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAffinity {
    pub required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
    #[serde(default)]
    pub preferred_during_scheduling_ignored_during_execution: Vec<PreferredSchedulingTerm>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelector {
    #[serde(default)]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelectorTerm {
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
    #[serde(default)]
    pub match_fields: Vec<Requirement>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferredSchedulingTerm {
    pub weight: i32,
    pub preference: NodeSelectorTerm,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodAffinity {
    #[serde(default)]
    pub required_during_scheduling_ignored_during_execution: Vec<PodAffinityTerm>,
    #[serde(default)]
    pub preferred_during_scheduling_ignored_during_execution: Vec<WeightedPodAffinityTerm>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodAffinityTerm {
    pub label_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    pub topology_key: String,
    pub namespace_selector: Option<Value>,
    pub match_label_keys: Option<Value>,
    pub mismatch_label_keys: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightedPodAffinityTerm {
    pub weight: i32,
    pub pod_affinity_term: PodAffinityTerm,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TopologySpreadConstraint {
    pub max_skew: i32,
    pub topology_key: String,
    pub when_unsatisfiable: WhenUnsatisfiable,
    pub label_selector: Option<LabelSelector>,
    pub min_domains: Option<i32>,
    pub node_affinity_policy: Option<SpreadPolicy>,
    pub node_taints_policy: Option<SpreadPolicy>,
    #[serde(default)]
    pub match_label_keys: Vec<String>,
}
