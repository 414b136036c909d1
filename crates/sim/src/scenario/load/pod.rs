//! Pod templates: container requests with Kubernetes defaulting (requests default to limits),
//! effective requests (app containers + sidecars vs. the largest init container, plus
//! overhead), priority from PriorityClasses, and the scheduling constraints.

use std::sync::Arc;

use autoscaler::model::{self as m, PreemptionPolicy, Resources, SpreadPolicy, TolerationOperator};

use crate::manifest::common::{resources_of, LabelSelector};
use crate::manifest::pod::{self as k, PodTemplateSpec};
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{Container, PodTemplate, PriorityClass, StartupModel};
use crate::time::SimDuration;

/// Kubernetes' default `terminationGracePeriodSeconds`.
const DEFAULT_GRACE_S: i64 = 30;

/// Converts a pod template found at `at` (the `template` node) in namespace `namespace`.
pub(crate) fn pod_template(
    ctx: &Ctx,
    t: &PodTemplateSpec,
    at: &Origin,
    namespace: &str,
    classes: &[PriorityClass],
    startup: StartupModel,
) -> Result<PodTemplate, LoadError> {
    let spec_at = at.key("spec");
    let s = &t.spec;
    if s.containers.is_empty() {
        return Err(ctx.err(
            &spec_at,
            "spec.containers: Required value: a pod needs at least one container",
        ));
    }
    let containers = containers(ctx, &s.containers, &spec_at.key("containers"), false)?;
    let init_containers = containers_init(ctx, &s.init_containers, &spec_at.key("initContainers"))?;
    let overhead = resources_of(&s.overhead);
    let (priority, class_name, preemption_policy) = priority(ctx, s, &spec_at, classes)?;
    let grace_s = s
        .termination_grace_period_seconds
        .unwrap_or(DEFAULT_GRACE_S);
    if grace_s < 0 {
        return Err(ctx.err(
            &spec_at.key("terminationGracePeriodSeconds"),
            "must be greater than or equal to 0",
        ));
    }
    let mut tolerations = Vec::new();
    for (i, tol) in s.tolerations.iter().enumerate() {
        tolerations.push(toleration(ctx, tol, &spec_at.key("tolerations").index(i))?);
    }
    let affinity = s.affinity.clone().unwrap_or_default();
    let scheduling = m::PodSchedulingSpec {
        namespace: namespace.to_string(),
        labels: t.metadata.labels.clone(),
        requests: effective_requests(&containers, &init_containers, &overhead),
        node_selector: s.node_selector.clone(),
        node_affinity: node_affinity(affinity.node_affinity.as_ref()),
        pod_affinity: pod_affinity(affinity.pod_affinity.as_ref()),
        pod_anti_affinity: pod_affinity(affinity.pod_anti_affinity.as_ref()),
        tolerations,
        topology_spread: s.topology_spread_constraints.iter().map(spread).collect(),
        priority,
        priority_class_name: class_name,
        preemption_policy,
        node_name: s.node_name.clone(),
        // Set by the owner: a Deployment's ReplicaSet selector; Jobs get none.
        controller_selector: None,
    };
    Ok(PodTemplate {
        scheduling: Arc::new(scheduling),
        containers,
        init_containers,
        termination_grace: SimDuration::from_secs(grace_s),
        annotations: t.metadata.annotations.clone(),
        startup,
    })
}

/// max(sum of app containers + sidecars, each init container + the sidecars started before
/// it) + overhead, per resource, as the scheduler computes a pod's request.
pub fn effective_requests(
    app: &[Container],
    init: &[Container],
    overhead: &Resources,
) -> Resources {
    let max = |a: Resources, b: Resources| Resources {
        cpu_m: a.cpu_m.max(b.cpu_m),
        memory_bytes: a.memory_bytes.max(b.memory_bytes),
        gpu: a.gpu.max(b.gpu),
        pods: 0,
    };
    let mut sidecars = Resources::ZERO;
    let mut init_peak = Resources::ZERO;
    for c in init {
        if c.sidecar {
            sidecars = sidecars.add(&c.requests);
            init_peak = max(init_peak, sidecars);
        } else {
            init_peak = max(init_peak, sidecars.add(&c.requests));
        }
    }
    let running = app.iter().fold(sidecars, |acc, c| acc.add(&c.requests));
    let total = max(running, init_peak).add(overhead);
    Resources { pods: 1, ..total }
}

fn containers(
    ctx: &Ctx,
    list: &[k::Container],
    at: &Origin,
    init: bool,
) -> Result<Vec<Container>, LoadError> {
    let mut out: Vec<Container> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let c_at = at.index(i);
        if out.iter().any(|o| o.name == c.name) {
            return Err(ctx.err(
                &c_at.key("name"),
                format!("Duplicate value: \"{}\"", c.name),
            ));
        }
        let limits = resources_of(&c.resources.limits);
        let mut requests = resources_of(&c.resources.requests);
        // API defaulting: a limit without a request sets the request.
        for (name, q) in &c.resources.limits {
            if !c.resources.requests.contains_key(name) {
                let one = resources_of(&[(name.clone(), *q)].into_iter().collect());
                requests = requests.add(&one);
            }
        }
        for (name, req, lim) in [
            ("cpu", requests.cpu_m, limits.cpu_m),
            ("memory", requests.memory_bytes, limits.memory_bytes),
        ] {
            if c.resources.limits.contains_key(name) && req > lim {
                return Err(ctx.err(
                    &c_at.keys("resources.requests").key(name),
                    format!("must be less than or equal to {name} limit"),
                ));
            }
        }
        let sidecar = match c.restart_policy.as_deref() {
            None => false,
            Some("Always") if init => true,
            Some(other) => {
                let why = if init {
                    format!("Unsupported value: \"{other}\": supported values: \"Always\"")
                } else {
                    "Forbidden: may not be set for non-init containers".into()
                };
                return Err(ctx.err(&c_at.key("restartPolicy"), why));
            }
        };
        out.push(Container {
            name: c.name.clone(),
            requests: Resources {
                pods: 0,
                ..requests
            },
            limits,
            sidecar,
        });
    }
    Ok(out)
}

fn containers_init(
    ctx: &Ctx,
    list: &[k::Container],
    at: &Origin,
) -> Result<Vec<Container>, LoadError> {
    containers(ctx, list, at, true)
}

fn priority(
    ctx: &Ctx,
    s: &k::PodSpec,
    at: &Origin,
    classes: &[PriorityClass],
) -> Result<(i32, String, PreemptionPolicy), LoadError> {
    let class = match s.priority_class_name.as_deref().filter(|n| !n.is_empty()) {
        Some(name) => Some(classes.iter().find(|c| c.name == name).ok_or_else(|| {
            let hint =
                crate::scenario::yaml::did_you_mean(name, classes.iter().map(|c| c.name.as_str()));
            ctx.err_hint(
                &at.key("priorityClassName"),
                format!("no PriorityClass with name {name} was found"),
                hint,
            )
        })?),
        None => classes.iter().find(|c| c.global_default),
    };
    Ok(match class {
        Some(c) => (c.value, c.name.clone(), c.preemption_policy),
        None => (0, String::new(), s.preemption_policy.unwrap_or_default()),
    })
}

fn toleration(ctx: &Ctx, t: &k::Toleration, at: &Origin) -> Result<m::Toleration, LoadError> {
    let operator = t.operator.unwrap_or(TolerationOperator::Equal);
    if t.key.is_empty() && operator != TolerationOperator::Exists {
        return Err(ctx.err(&at.key("operator"), "Invalid value: operator must be Exists when `key` is empty, which means \"match all values and all keys\""));
    }
    if operator == TolerationOperator::Exists && !t.value.is_empty() {
        return Err(ctx.err(
            &at.key("value"),
            "Invalid value: value must be empty when `operator` is 'Exists'",
        ));
    }
    Ok(m::Toleration {
        key: t.key.clone(),
        operator,
        value: t.value.clone(),
        effect: t.effect,
        toleration_seconds: t.toleration_seconds,
    })
}

fn selector(s: Option<&LabelSelector>) -> m::LabelSelector {
    s.map(LabelSelector::to_model).unwrap_or_default()
}

fn term(t: &k::NodeSelectorTerm) -> m::NodeSelectorTerm {
    m::NodeSelectorTerm {
        match_expressions: t.match_expressions.iter().map(|r| r.to_model()).collect(),
        match_fields: t.match_fields.iter().map(|r| r.to_model()).collect(),
    }
}

fn node_affinity(a: Option<&k::NodeAffinity>) -> m::NodeAffinity {
    let Some(a) = a else {
        return m::NodeAffinity::default();
    };
    m::NodeAffinity {
        required: a
            .required_during_scheduling_ignored_during_execution
            .iter()
            .flat_map(|s| s.node_selector_terms.iter().map(term))
            .collect(),
        preferred: a
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .map(|p| (p.weight, term(&p.preference)))
            .collect(),
    }
}

fn affinity_term(t: &k::PodAffinityTerm) -> m::PodAffinityTerm {
    m::PodAffinityTerm {
        label_selector: selector(t.label_selector.as_ref()),
        topology_key: t.topology_key.clone(),
        namespaces: t.namespaces.clone(),
    }
}

fn pod_affinity(a: Option<&k::PodAffinity>) -> m::PodAffinity {
    let Some(a) = a else {
        return m::PodAffinity::default();
    };
    m::PodAffinity {
        required: a
            .required_during_scheduling_ignored_during_execution
            .iter()
            .map(affinity_term)
            .collect(),
        preferred: a
            .preferred_during_scheduling_ignored_during_execution
            .iter()
            .map(|w| (w.weight, affinity_term(&w.pod_affinity_term)))
            .collect(),
    }
}

fn spread(c: &k::TopologySpreadConstraint) -> m::TopologySpreadConstraint {
    m::TopologySpreadConstraint {
        max_skew: c.max_skew,
        topology_key: c.topology_key.clone(),
        when_unsatisfiable: c.when_unsatisfiable,
        label_selector: selector(c.label_selector.as_ref()),
        min_domains: c.min_domains,
        node_affinity_policy: c.node_affinity_policy.unwrap_or(SpreadPolicy::Honor),
        node_taints_policy: c.node_taints_policy.unwrap_or(SpreadPolicy::Ignore),
        match_label_keys: c.match_label_keys.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(cpu_m: i64, mem: i64, sidecar: bool) -> Container {
        Container {
            name: String::new(),
            requests: Resources::new(cpu_m, mem),
            limits: Resources::ZERO,
            sidecar,
        }
    }

    fn check(app: &[Container], init: &[Container], overhead: Resources, expect: (i64, i64)) {
        let r = effective_requests(app, init, &overhead);
        assert_eq!((r.cpu_m, r.memory_bytes, r.pods), (expect.0, expect.1, 1));
    }

    #[test]
    fn effective_requests_table() {
        check(
            &[c(100, 10, false), c(200, 20, false)],
            &[],
            Resources::ZERO,
            (300, 30),
        );
        // A big init container dominates, per resource.
        check(
            &[c(100, 10, false)],
            &[c(500, 5, false)],
            Resources::ZERO,
            (500, 10),
        );
        // Sidecars run alongside the app and the init containers after them.
        check(
            &[c(100, 10, false)],
            &[c(50, 50, true), c(400, 5, false)],
            Resources::ZERO,
            (450, 60),
        );
        check(
            &[c(100, 10, false)],
            &[c(400, 5, false), c(50, 50, true)],
            Resources::ZERO,
            (400, 60),
        );
        // Overhead is added on top.
        check(&[c(100, 10, false)], &[], Resources::new(250, 1), (350, 11));
    }
}
