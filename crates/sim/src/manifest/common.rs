//! Pieces every manifest shares: quantities in resource lists, label selectors, and the
//! object envelope fields.

use std::collections::BTreeMap;
use std::fmt;

use autoscaler::model::{LabelSelector as ModelSelector, SelectorOperator, SelectorRequirement};
use autoscaler::quantity::{parse_quantity, Quantity};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

pub use crate::manifest::hpa::ObjectMetaLite as ObjectMeta;

/// A Quantity in a resource list (`requests`, `limits`, `overhead`): written as Kubernetes
/// writes it, parsed when read so that a malformed or negative value is reported at its own
/// line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceQuantity(pub Quantity);

impl<'de> Deserialize<'de> for ResourceQuantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ResourceQuantity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a quantity such as `250m`, `1`, `512Mi`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ResourceQuantity, E> {
                let q = parse_quantity(s).map_err(E::custom)?;
                if q.is_negative() {
                    // The API server's words for a negative request or limit.
                    return Err(E::custom(format!(
                        "quantity {s:?} must be greater than or equal to 0"
                    )));
                }
                Ok(ResourceQuantity(q))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResourceQuantity, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResourceQuantity, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ResourceQuantity, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

/// `requests`, `limits`, `overhead`: resource name to quantity.
pub type ResourceList = BTreeMap<String, ResourceQuantity>;

/// Converts a resource list; resources headroom does not model (ephemeral-storage, hugepages,
/// other extended resources) are left out.
pub fn resources_of(list: &ResourceList) -> autoscaler::model::Resources {
    let mut r = autoscaler::model::Resources::ZERO;
    for (name, q) in list {
        match name.as_str() {
            "cpu" => r.cpu_m = q.0.as_milli(),
            "memory" => r.memory_bytes = q.0.as_bytes(),
            autoscaler::model::well_known::GPU_RESOURCE => r.gpu = q.0.as_units(),
            "pods" => r.pods = q.0.as_units(),
            _ => {}
        }
    }
    r
}

/// metav1.LabelSelector.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

/// A label- or node-selector requirement.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: SelectorOperator,
    #[serde(default)]
    pub values: Vec<String>,
}

impl Requirement {
    pub fn to_model(&self) -> SelectorRequirement {
        SelectorRequirement {
            key: self.key.clone(),
            operator: self.operator,
            values: self.values.clone(),
        }
    }
}

impl LabelSelector {
    pub fn to_model(&self) -> ModelSelector {
        ModelSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self
                .match_expressions
                .iter()
                .map(Requirement::to_model)
                .collect(),
        }
    }
}

/// An int-or-string field (`maxUnavailable: 1`, `minAvailable: "50%"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    Int(i64),
    String(String),
}
