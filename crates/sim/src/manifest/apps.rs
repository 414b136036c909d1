//! apps/v1 Deployment, in its API shape.

use serde::Deserialize;
use serde_json::Value;

use crate::manifest::common::{LabelSelector, ObjectMeta};
use crate::manifest::pod::PodTemplateSpec;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Deployment {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: DeploymentSpec,
    /// Accepted and ignored.
    pub status: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Defaults to 1, as the API server does.
    pub replicas: Option<i32>,
    pub selector: LabelSelector,
    pub template: PodTemplateSpec,
    pub strategy: Option<Value>,
    pub min_ready_seconds: Option<Value>,
    pub revision_history_limit: Option<Value>,
    pub paused: Option<Value>,
    pub progress_deadline_seconds: Option<Value>,
}
