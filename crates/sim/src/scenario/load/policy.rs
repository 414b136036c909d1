//! Objects that refer to others: PriorityClasses (pods read them), HPAs (they target
//! Deployments), PodDisruptionBudgets, and the SLOs (keyed by PriorityClass).

use autoscaler::model::PreemptionPolicy;

use crate::manifest::common::IntOrString;
use crate::manifest::hpa::ValidationOptions;
use crate::scenario::load::objects::Objects;
use crate::scenario::load::workloads::{ns, MAX_REPLICAS};
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{
    Deployment, Hpa, IntOrPercent, PodDisruptionBudget, PriorityClass, Slos,
};
use crate::scenario::spec::ScenarioSpec;

/// The PriorityClasses of the manifests plus the two built-in system classes.
pub(crate) fn priority_classes(
    ctx: &Ctx,
    objects: &Objects,
) -> Result<Vec<PriorityClass>, LoadError> {
    let system = |name: &str, value| PriorityClass {
        name: name.into(),
        value,
        global_default: false,
        preemption_policy: PreemptionPolicy::PreemptLowerPriority,
    };
    let mut classes = vec![
        system("system-cluster-critical", 2_000_000_000),
        system("system-node-critical", 2_000_001_000),
    ];
    for (at, pc) in &objects.priority_classes {
        let name = &pc.metadata.name;
        if classes.iter().any(|c| &c.name == name) {
            return Err(ctx.err(
                &at.keys("metadata.name"),
                format!("duplicate PriorityClass `{name}`"),
            ));
        }
        if pc.value > 1_000_000_000 {
            return Err(ctx.err(
                &at.key("value"),
                "must be no greater than 1000000000 (user-defined classes)",
            ));
        }
        if pc.global_default && classes.iter().any(|c| c.global_default) {
            return Err(ctx.err(
                &at.key("globalDefault"),
                "only one PriorityClass can be marked globalDefault",
            ));
        }
        classes.push(PriorityClass {
            name: name.clone(),
            value: pc.value,
            global_default: pc.global_default,
            preemption_policy: pc.preemption_policy.unwrap_or_default(),
        });
    }
    Ok(classes)
}

/// HPAs must target a Deployment of the scenario; their namespace is made explicit.
pub(crate) fn hpas(
    ctx: &Ctx,
    objects: &Objects,
    deployments: &[Deployment],
) -> Result<Vec<Hpa>, LoadError> {
    let mut out = Vec::new();
    for (at, h) in &objects.hpas {
        let namespace = ns(&h.metadata.namespace);
        let target = &h.spec.scale_target_ref;
        if target.kind != "Deployment" {
            return Err(ctx.err(
                &at.keys("spec.scaleTargetRef.kind"),
                format!(
                    "headroom scales Deployments; `{}` is not supported",
                    target.kind
                ),
            ));
        }
        if !deployments
            .iter()
            .any(|d| d.namespace == namespace && d.name == target.name)
        {
            let hint = crate::scenario::yaml::did_you_mean(
                &target.name,
                deployments.iter().map(|d| d.name.as_str()),
            );
            return Err(ctx.err_hint(
                &at.keys("spec.scaleTargetRef.name"),
                format!(
                    "no Deployment `{namespace}/{}` in the manifests",
                    target.name
                ),
                hint,
            ));
        }
        if h.spec.max_replicas > MAX_REPLICAS {
            return Err(ctx.err(
                &at.keys("spec.maxReplicas"),
                format!("must be at most {MAX_REPLICAS}"),
            ));
        }
        // The API server's own validation and defaulting (shared with `headroom hpa
        // evaluate`); its field paths are relative to the object, so they locate in the
        // manifest.
        let spec = h.to_spec(&ValidationOptions::default()).map_err(|e| {
            let first = &e.errors[0];
            let mut field = at.clone();
            field
                .path
                .extend(crate::scenario::yaml::parse_path_text(&first.path));
            ctx.err(&field, first.detail.clone())
        })?;
        let deployment = deployments
            .iter()
            .position(|d| d.namespace == namespace && d.name == target.name)
            .expect("checked above");
        out.push(Hpa {
            namespace,
            name: h.metadata.name.clone(),
            deployment,
            spec,
        });
    }
    Ok(out)
}

/// PDBs: `minAvailable` or `maxUnavailable` (an integer or a percentage), not both.
pub(crate) fn pdbs(ctx: &Ctx, objects: &Objects) -> Result<Vec<PodDisruptionBudget>, LoadError> {
    let mut out = Vec::new();
    for (at, p) in &objects.pdbs {
        let value = |v: &Option<IntOrString>,
                     key: &str|
         -> Result<Option<IntOrPercent>, LoadError> {
            let at = at.keys("spec").key(key);
            match v {
                None => Ok(None),
                Some(IntOrString::Int(n)) => i32::try_from(*n).ok().filter(|n| *n >= 0).map(|n| Some(IntOrPercent::Int(n))).ok_or_else(|| ctx.err(&at, "must be greater than or equal to 0")),
                Some(IntOrString::String(s)) => s
                    .strip_suffix('%')
                    .and_then(|p| p.parse::<i32>().ok())
                    .filter(|p| (0..=100).contains(p))
                    .map(|p| Some(IntOrPercent::Percent(p)))
                    .ok_or_else(|| ctx.err(&at, format!("Invalid value: \"{s}\": must be an integer or a percentage between 0% and 100%"))),
            }
        };
        let min_available = value(&p.spec.min_available, "minAvailable")?;
        let max_unavailable = value(&p.spec.max_unavailable, "maxUnavailable")?;
        if min_available.is_some() && max_unavailable.is_some() {
            return Err(ctx.err(
                &at.key("spec"),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        let selector = p
            .spec
            .selector
            .as_ref()
            .map(|s| s.to_model())
            .unwrap_or_default();
        out.push(PodDisruptionBudget {
            namespace: ns(&p.metadata.namespace),
            name: p.metadata.name.clone(),
            selector,
            min_available,
            max_unavailable,
        });
    }
    Ok(out)
}

/// SLOs: shares in 0..1, tiers named by existing PriorityClasses.
pub(crate) fn slos(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    classes: &[PriorityClass],
) -> Result<Slos, LoadError> {
    let at = root.key("slos");
    if let Some(v) = spec.slos.demand_served_min {
        if !(0.0..=1.0).contains(&v) {
            return Err(ctx.err(
                &at.key("demandServedMin"),
                "must be between 0 and 1 (0.999 means 99.9 %)",
            ));
        }
    }
    for tier in spec.slos.max_pending_by_tier.keys() {
        if !classes.iter().any(|c| &c.name == tier) {
            let hint =
                crate::scenario::yaml::did_you_mean(tier, classes.iter().map(|c| c.name.as_str()));
            return Err(ctx.err_hint(
                &at.key("maxPendingByTier").key(tier),
                format!("no PriorityClass named `{tier}`"),
                hint,
            ));
        }
    }
    Ok(Slos {
        demand_served_min: spec.slos.demand_served_min,
        max_pending_by_tier: spec
            .slos
            .max_pending_by_tier
            .iter()
            .map(|(k, v)| (k.clone(), v.0))
            .collect(),
    })
}
