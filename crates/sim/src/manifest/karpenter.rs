//! karpenter.sh/v1 NodePool, in its API shape, and its conversion into the validated
//! [`autoscaler::karpenter::nodepool::NodePool`] (defaults from KC: `pkg/apis/v1/nodepool.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use autoscaler::go_duration;
use autoscaler::karpenter::nodepool as domain;
use autoscaler::model::{SelectorOperator, SelectorRequirement, Taint, TaintEffect};
use autoscaler::quantity::parse_quantity;

use super::hpa::{ObjectMetaLite, QuantityValue};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMetaLite,
    pub spec: NodePoolSpec,
    /// Accepted and ignored.
    #[serde(default, skip_serializing)]
    pub status: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolSpec {
    pub template: NodeClaimTemplate,
    #[serde(default)]
    pub disruption: Option<Disruption>,
    /// `cpu`, `memory`, `nvidia.com/gpu`, `nodes`.
    #[serde(default)]
    pub limits: BTreeMap<String, QuantityValue>,
    #[serde(default)]
    pub weight: Option<i32>,
    /// Static NodePools; never consolidated.
    #[serde(default)]
    pub replicas: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeClaimTemplate {
    #[serde(default)]
    pub metadata: TemplateMetadata,
    pub spec: NodeClaimTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateMetadata {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeClaimTemplateSpec {
    #[serde(default)]
    pub requirements: Vec<NodeSelectorRequirementWithMinValues>,
    #[serde(default)]
    pub node_class_ref: Option<NodeClassReference>,
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    #[serde(default)]
    pub startup_taints: Vec<TaintSpec>,
    /// A Go duration or `Never`; default `720h`.
    #[serde(default)]
    pub expire_after: Option<String>,
    #[serde(default)]
    pub termination_grace_period: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeSelectorRequirementWithMinValues {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub min_values: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeClassReference {
    pub group: String,
    pub kind: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaintSpec {
    pub key: String,
    #[serde(default)]
    pub value: String,
    pub effect: String,
    #[serde(default)]
    pub time_added: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Disruption {
    /// `WhenEmpty`, `WhenEmptyOrUnderutilized` (default) or `Balanced`.
    #[serde(default)]
    pub consolidation_policy: Option<String>,
    /// A Go duration or `Never`; default `0s`.
    #[serde(default)]
    pub consolidate_after: Option<String>,
    /// Default `[{nodes: "10%"}]`.
    #[serde(default)]
    pub budgets: Option<Vec<BudgetSpec>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetSpec {
    #[serde(default = "default_budget_nodes")]
    pub nodes: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
}

fn default_budget_nodes() -> String {
    "10%".into()
}

#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NodePoolManifestError {
    #[error("nodepool {pool}: {field}: invalid duration {value:?} (a Go duration such as 30s or 720h, or Never)")]
    Duration {
        pool: String,
        field: &'static str,
        value: String,
    },
    #[error("nodepool {pool}: {field}: unknown value {value:?}")]
    Enum {
        pool: String,
        field: &'static str,
        value: String,
    },
    #[error("nodepool {pool}: limits.{resource}: invalid quantity {value:?}")]
    Quantity {
        pool: String,
        resource: String,
        value: String,
    },
    #[error(transparent)]
    Invalid(#[from] domain::NodePoolError),
}

impl NodePool {
    /// Validates into the domain type, applying Karpenter's defaults.
    pub fn to_domain(&self) -> Result<domain::NodePool, NodePoolManifestError> {
        let name = self.metadata.name.clone();
        let spec = &self.spec;
        let t = &spec.template.spec;
        let mut pool = domain::NodePool::with_defaults(&name);
        pool.weight = spec.weight.unwrap_or(0);
        pool.labels = spec.template.metadata.labels.clone();
        pool.requirements = t
            .requirements
            .iter()
            .map(|r| requirement(&name, r))
            .collect::<Result<_, _>>()?;
        pool.taints = t
            .taints
            .iter()
            .map(|x| taint(&name, x))
            .collect::<Result<_, _>>()?;
        pool.startup_taints = t
            .startup_taints
            .iter()
            .map(|x| taint(&name, x))
            .collect::<Result<_, _>>()?;
        if let Some(v) = &t.expire_after {
            pool.expire_after_ms = duration_or_never(&name, "expireAfter", v)?;
        }
        if let Some(v) = &t.termination_grace_period {
            let ms = duration_or_never(&name, "terminationGracePeriod", v)?;
            pool.termination_grace_ms = ms;
        }
        if let Some(d) = &spec.disruption {
            disruption(&name, d, &mut pool)?;
        }
        pool.limits = limits(&name, &spec.limits)?;
        pool.validate()?;
        Ok(pool)
    }
}

fn disruption(
    name: &str,
    d: &Disruption,
    pool: &mut domain::NodePool,
) -> Result<(), NodePoolManifestError> {
    if let Some(p) = &d.consolidation_policy {
        pool.consolidation_policy = domain::ConsolidationPolicy::parse(name, p)?;
    }
    if let Some(v) = &d.consolidate_after {
        pool.consolidate_after_ms = duration_or_never(name, "consolidateAfter", v)?;
    }
    if let Some(budgets) = &d.budgets {
        pool.budgets = budgets
            .iter()
            .map(|b| {
                let duration_ms = match &b.duration {
                    Some(v) => Some(duration(name, "budgets.duration", v)?),
                    None => None,
                };
                Ok(domain::Budget {
                    nodes: domain::BudgetNodes::parse(name, &b.nodes)?,
                    reasons: b
                        .reasons
                        .iter()
                        .map(|r| domain::DisruptionReason::parse(name, r))
                        .collect::<Result<_, _>>()?,
                    schedule: b.schedule.clone(),
                    duration_ms,
                })
            })
            .collect::<Result<_, NodePoolManifestError>>()?;
    }
    Ok(())
}

fn limits(
    name: &str,
    raw: &BTreeMap<String, QuantityValue>,
) -> Result<domain::Limits, NodePoolManifestError> {
    let mut out = domain::Limits::default();
    for (resource, value) in raw {
        let text = value.as_text();
        let q = parse_quantity(&text).map_err(|_| NodePoolManifestError::Quantity {
            pool: name.into(),
            resource: resource.clone(),
            value: text.clone(),
        })?;
        match resource.as_str() {
            "cpu" => out.cpu_m = Some(q.as_milli()),
            "memory" => out.memory_bytes = Some(q.as_bytes()),
            "nvidia.com/gpu" => out.gpu = Some(q.as_units()),
            "nodes" => out.nodes = Some(q.as_units()),
            // Other extended resources are not modelled.
            _ => {}
        }
    }
    Ok(out)
}

fn duration(pool: &str, field: &'static str, v: &str) -> Result<i64, NodePoolManifestError> {
    go_duration::parse_ms(v).ok_or_else(|| NodePoolManifestError::Duration {
        pool: pool.into(),
        field,
        value: v.into(),
    })
}

fn duration_or_never(
    pool: &str,
    field: &'static str,
    v: &str,
) -> Result<Option<i64>, NodePoolManifestError> {
    if v == "Never" {
        return Ok(None);
    }
    duration(pool, field, v).map(Some)
}

fn requirement(
    pool: &str,
    r: &NodeSelectorRequirementWithMinValues,
) -> Result<domain::Requirement, NodePoolManifestError> {
    let operator = match r.operator.as_str() {
        "In" => SelectorOperator::In,
        "NotIn" => SelectorOperator::NotIn,
        "Exists" => SelectorOperator::Exists,
        "DoesNotExist" => SelectorOperator::DoesNotExist,
        "Gt" => SelectorOperator::Gt,
        "Lt" => SelectorOperator::Lt,
        other => {
            return Err(NodePoolManifestError::Enum {
                pool: pool.into(),
                field: "requirements.operator",
                value: other.into(),
            })
        }
    };
    let req = SelectorRequirement {
        key: r.key.clone(),
        operator,
        values: r.values.clone(),
    };
    Ok(domain::Requirement {
        req,
        min_values: r.min_values,
    })
}

fn taint(pool: &str, t: &TaintSpec) -> Result<Taint, NodePoolManifestError> {
    let effect = match t.effect.as_str() {
        "NoSchedule" => TaintEffect::NoSchedule,
        "PreferNoSchedule" => TaintEffect::PreferNoSchedule,
        "NoExecute" => TaintEffect::NoExecute,
        other => {
            return Err(NodePoolManifestError::Enum {
                pool: pool.into(),
                field: "taints.effect",
                value: other.into(),
            })
        }
    };
    Ok(Taint {
        key: t.key.clone(),
        value: t.value.clone(),
        effect,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERAL: &str = r#"
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: general
spec:
  template:
    metadata:
      labels:
        team: web
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      requirements:
        - key: karpenter.k8s.aws/instance-family
          operator: In
          values: ["m5", "c5", "r5"]
        - key: karpenter.sh/capacity-type
          operator: In
          values: ["spot", "on-demand"]
        - key: topology.kubernetes.io/zone
          operator: In
          values: ["us-east-1a", "us-east-1b"]
        - key: karpenter.k8s.aws/instance-size
          operator: NotIn
          values: ["metal"]
          minValues: 2
      taints:
        - key: dedicated
          value: web
          effect: NoSchedule
      expireAfter: 720h
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
    budgets:
      - nodes: "10%"
      - nodes: "0"
        reasons: ["Drifted"]
        schedule: "0 9 * * mon-fri"
        duration: 8h
  limits:
    cpu: "1000"
    memory: 1000Gi
  weight: 10
"#;

    #[test]
    fn pasted_nodepool_converts() {
        let np: NodePool = serde_yaml::from_str(GENERAL).unwrap();
        let pool = np.to_domain().unwrap();
        assert_eq!(pool.name, "general");
        assert_eq!(pool.weight, 10);
        assert_eq!(pool.requirements.len(), 4);
        assert_eq!(pool.requirements[3].min_values, Some(2));
        assert_eq!(pool.consolidate_after_ms, Some(60_000));
        assert_eq!(pool.expire_after_ms, Some(720 * 3_600_000));
        assert_eq!(pool.budgets.len(), 2);
        assert_eq!(
            pool.budgets[1].reasons,
            vec![domain::DisruptionReason::Drifted]
        );
        assert_eq!(pool.budgets[1].duration_ms, Some(8 * 3_600_000));
        assert_eq!(pool.limits.cpu_m, Some(1_000_000));
        assert_eq!(pool.limits.memory_bytes, Some(1000 * 1024 * 1024 * 1024));
        assert_eq!(pool.taints[0].effect, TaintEffect::NoSchedule);
        assert_eq!(pool.labels.get("team").map(String::as_str), Some("web"));
    }

    #[test]
    fn defaults_and_errors() {
        fn check(yaml_patch: (&str, &str), expect_err: Option<&str>) {
            let text = GENERAL.replace(yaml_patch.0, yaml_patch.1);
            let result = serde_yaml::from_str::<NodePool>(&text)
                .map_err(|e| e.to_string())
                .and_then(|np| np.to_domain().map_err(|e| e.to_string()));
            match (result, expect_err) {
                (Ok(_), None) => {}
                (Err(e), Some(want)) => assert!(e.contains(want), "{e} should mention {want}"),
                (r, want) => panic!("{yaml_patch:?}: got {r:?}, want error {want:?}"),
            }
        }
        check(("consolidateAfter: 1m", "consolidateAfter: Never"), None);
        check(
            ("consolidateAfter: 1m", "consolidateAfter: soon"),
            Some("invalid duration"),
        );
        check(
            ("WhenEmptyOrUnderutilized", "WhenUnderutilized"),
            Some("consolidationPolicy"),
        );
        check(("operator: NotIn", "operator: Like"), Some("operator"));
        check(
            ("effect: NoSchedule", "effect: Never"),
            Some("taints.effect"),
        );
        check(("weight: 10", "weight: 1000"), Some("weight"));
        check(("weight: 10", "wieght: 10"), Some("unknown field"));
        check(("memory: 1000Gi", "memory: lots"), Some("limits.memory"));
        check(
            (r#"["Drifted"]"#, r#"["Expired"]"#),
            Some("disruption reason"),
        );

        let minimal = "metadata: {name: p}\nspec:\n  template:\n    spec: {}\n";
        let pool = serde_yaml::from_str::<NodePool>(minimal)
            .unwrap()
            .to_domain()
            .unwrap();
        assert_eq!(pool, domain::NodePool::with_defaults("p"));
    }
}
