//! Collects the Kubernetes objects of a scenario: inline `manifests` entries and
//! multi-document files (`kubectl get -o yaml`, `helm template`, `kind: List`). Each node is
//! read twice: once for its `kind`, then in place as that kind, so errors keep their
//! positions. Objects of other kinds are skipped with one warning per file.

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::manifest::apps::Deployment;
use crate::manifest::batch::{CronJob, Job};
use crate::manifest::hpa::HorizontalPodAutoscaler;
use crate::manifest::karpenter::NodePool;
use crate::manifest::policy::{PodDisruptionBudget, PriorityClass};
use crate::scenario::load::{Ctx, LoadError, Origin, Source, MAX_FILE_BYTES};
use crate::scenario::spec::{ManifestEntry, ScenarioSpec};
use crate::scenario::yaml;

/// The objects found, each with where it came from, in file order.
#[derive(Default)]
pub(crate) struct Objects {
    pub deployments: Vec<(Origin, Deployment)>,
    pub hpas: Vec<(Origin, HorizontalPodAutoscaler)>,
    pub pdbs: Vec<(Origin, PodDisruptionBudget)>,
    pub priority_classes: Vec<(Origin, PriorityClass)>,
    pub jobs: Vec<(Origin, Job)>,
    pub cron_jobs: Vec<(Origin, CronJob)>,
    /// karpenter.sh/v1 NodePools.
    pub node_pools: Vec<(Origin, NodePool)>,
}

/// Just enough of an object to dispatch on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    kind: Option<String>,
    api_version: Option<String>,
    #[serde(default)]
    metadata: HeaderMeta,
    items: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize, Default)]
struct HeaderMeta {
    #[serde(default)]
    name: String,
}

/// How deep `kind: List` may nest (a List of Lists is legal but unusual).
const MAX_LIST_DEPTH: usize = 4;

pub(crate) fn collect(
    ctx: &mut Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
) -> Result<Objects, LoadError> {
    let mut objects = Objects::default();
    let mut skipped = Vec::new();
    for (i, entry) in spec.manifests.iter().enumerate() {
        let at = root.key("manifests").index(i);
        match entry {
            ManifestEntry::Inline => visit(ctx, &at, 0, &mut objects, &mut skipped)?,
            ManifestEntry::Path(rel) => {
                let (path, text) = ctx.read_referenced(&at.key("path"), rel, MAX_FILE_BYTES)?;
                let file = path.display().to_string();
                let docs: Vec<Source> = yaml::split_documents(&text)
                    .into_iter()
                    .map(|(line_offset, doc)| Source {
                        file: path.clone(),
                        text: doc.to_string(),
                        line_offset,
                    })
                    .collect();
                if docs.is_empty() {
                    ctx.warnings
                        .push(format!("{file}: no Kubernetes objects in this file"));
                }
                let mut file_skipped = Vec::new();
                for doc in docs {
                    ctx.sources.push(doc);
                    let src = ctx.sources.len() - 1;
                    visit(
                        ctx,
                        &Origin {
                            src,
                            path: Vec::new(),
                        },
                        0,
                        &mut objects,
                        &mut file_skipped,
                    )?;
                }
                warn_skipped(ctx, &file, &file_skipped);
            }
        }
    }
    let scenario_file = ctx.sources[0].file.display().to_string();
    warn_skipped(ctx, &scenario_file, &skipped);
    Ok(objects)
}

fn warn_skipped(ctx: &mut Ctx, file: &str, skipped: &[String]) {
    if !skipped.is_empty() {
        ctx.warnings.push(format!(
            "{file}: skipped {} object(s) of kinds headroom does not simulate: {}",
            skipped.len(),
            skipped.join(", ")
        ));
    }
}

/// Reads the object at `at` and files it by kind.
fn visit(
    ctx: &Ctx,
    at: &Origin,
    depth: usize,
    out: &mut Objects,
    skipped: &mut Vec<String>,
) -> Result<(), LoadError> {
    let text = &ctx.sources[at.src].text;
    let header: Option<Header> =
        yaml::parse_node(text, 0, &at.path).map_err(|e| ctx.yaml_err(at.src, e))?;
    // An empty document (a trailing `---`) holds no object.
    let Some(header) = header else { return Ok(()) };
    let Some(kind) = header.kind else {
        return Err(ctx.err(at, "missing `kind`: expected a Kubernetes object (Deployment, HorizontalPodAutoscaler, PodDisruptionBudget, PriorityClass, Job, CronJob, NodePool or List)"));
    };
    macro_rules! file {
        ($list:ident) => {{
            let obj = yaml::parse_node(text, 0, &at.path).map_err(|e| ctx.yaml_err(at.src, e))?;
            out.$list.push((at.clone(), obj));
        }};
    }
    match kind.as_str() {
        "Deployment" => file!(deployments),
        "HorizontalPodAutoscaler" => {
            if header
                .api_version
                .as_deref()
                .is_some_and(|v| v != "autoscaling/v2")
            {
                return Err(ctx.err(
                    &at.key("apiVersion"),
                    format!(
                        "HorizontalPodAutoscaler {} is not supported; write it as autoscaling/v2",
                        header.api_version.unwrap_or_default()
                    ),
                ));
            }
            file!(hpas)
        }
        "PodDisruptionBudget" => file!(pdbs),
        "PriorityClass" => file!(priority_classes),
        "Job" => file!(jobs),
        "CronJob" => file!(cron_jobs),
        "NodePool" => {
            if header.api_version.as_deref() != Some("karpenter.sh/v1") {
                return Err(ctx.err(
                    &at.key("apiVersion"),
                    format!(
                        "NodePool {} is not supported; write it as karpenter.sh/v1",
                        header.api_version.unwrap_or_default()
                    ),
                ));
            }
            file!(node_pools)
        }
        "List" => {
            if depth >= MAX_LIST_DEPTH {
                return Err(ctx.err(at, "List nested too deeply"));
            }
            for i in 0..header.items.map_or(0, |v| v.len()) {
                visit(ctx, &at.key("items").index(i), depth + 1, out, skipped)?;
            }
        }
        other => skipped.push(format!("{other}/{}", header.metadata.name)),
    }
    Ok(())
}
