//! Loader tests of Karpenter: the bundled production-karpenter scenario, then one broken
//! input per check, each error naming file:line:column.

use std::path::Path;

use super::*;
use crate::scenario::model::{CapacityType, NodeAutoscaler};

/// A Karpenter scenario: `settings` is the `karpenter` value (flow YAML), `pool` the body of
/// one NodePool's `spec.template.spec` (block YAML at 8 spaces), `extra` appended manifests.
fn scenario(settings: &str, pool: &str, extra: &str) -> String {
    format!(
        "duration: 1h\nsettings:\n  nodeAutoscaler:\n    karpenter: {settings}\nnodePools: []\n\
         manifests:\n  - apiVersion: karpenter.sh/v1\n    kind: NodePool\n    metadata:\n      \
         name: general\n      annotations: {{headroom.io/initial-nodes: \"m5.large=2\"}}\n    \
         spec:\n      template:\n        spec:\n{pool}\n{extra}"
    )
}

const M5: &str = "          requirements:\n            \
    - {key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}";

fn check_err(text: &str, expect: &str) {
    match load_str(text, Path::new("mem.yaml")) {
        Ok(_) => panic!("loaded, expected error `{expect}`\n{text}"),
        Err(e) => assert_eq!(e.to_string(), expect, "\n{text}"),
    }
}

#[test]
fn production_karpenter_resolves_as_written() {
    let s = load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/production-karpenter.yaml"
    )))
    .unwrap();
    let NodeAutoscaler::Karpenter(k) = &s.settings.node_autoscaler else {
        panic!("Karpenter")
    };
    let names: Vec<&str> = s.node_pools.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["general", "memory", "gpu", "spot"]);
    let pool = |name: &str| {
        let i = names.iter().position(|n| *n == name).unwrap();
        (
            &s.node_pools[i],
            &k.pools[s.node_pools[i].karpenter.unwrap()],
        )
    };
    let (gpu, kgpu) = pool("gpu");
    assert_eq!(gpu.zones, ["us-east-1a", "us-east-1b"]);
    assert_eq!(gpu.taints[0].key, "nvidia.com/gpu");
    assert_eq!(kgpu.spec.budgets[0].allowed(10), 1);
    let (spot, kspot) = pool("spot");
    assert_eq!(spot.capacity_type, CapacityType::Spot);
    let (t, ct, count) = kspot.initial[0];
    assert_eq!(
        (k.instance_types[t].name.as_str(), ct, count),
        ("m5.xlarge", CapacityType::Spot, 2)
    );
    let (_, kgeneral) = pool("general");
    assert_eq!(kgeneral.spec.expire_after_ms, Some(168 * 3_600_000));
    assert_eq!(kgeneral.spec.weight, 50);
    // The union of the types the pools accept: t3, m5, m6i, c5 up to 16 vCPU; r5+ large to
    // 2xlarge; p3; and the spot pool's m5a.
    let has = |n: &str| k.instance_types.iter().any(|t| t.name == n);
    assert!(has("t3.large") && has("r5.xlarge") && has("p3.2xlarge") && has("m5a.xlarge"));
    assert!(!has("m5.24xlarge") && !has("r5.4xlarge"));
    assert_eq!(k.batch_idle.as_millis(), 1_000);
    assert_eq!(k.batch_max.as_millis(), 10_000);
    assert!(!k.disruption.spot_to_spot_consolidation);
    assert_eq!(s.deployments.len(), 3);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn karpenter_errors_name_file_line_column() {
    let ok = scenario("{}", M5, "");
    load_str(&ok, Path::new("mem.yaml")).unwrap();
    let cases = [
        (
            ok.replace("karpenter: {}", "karpenter: {}\n    clusterAutoscaler: {}"),
            "mem.yaml:4:5: settings.nodeAutoscaler: choose one node autoscaler: `clusterAutoscaler` or `karpenter`",
        ),
        (
            ok.replace("values: [m5]", "values: [m99]"),
            "mem.yaml:16:13: manifests[0].spec.template.spec.requirements: NodePool `general` accepts no instance type of the built-in catalog in zones [\"us-east-1a\", \"us-east-1b\", \"us-east-1c\"]",
        ),
        (
            ok.replace("m5.large=2", "m5.large"),
            "mem.yaml:11:48: manifests[0].metadata.annotations.headroom.io/initial-nodes: `m5.large`: missing `=<count>`; write `<instance-type>[:spot]=<count>, ...`",
        ),
        (
            ok.replace("m5.large=2", "c5.large=2"),
            "mem.yaml:11:48: manifests[0].metadata.annotations.headroom.io/initial-nodes: `c5.large=2`: NodePool `general` does not accept on-demand c5.large; write `<instance-type>[:spot]=<count>, ...`",
        ),
        (
            ok.replace("karpenter.sh/v1", "karpenter.sh/v1beta1"),
            "mem.yaml:7:17: manifests[0].apiVersion: NodePool karpenter.sh/v1beta1 is not supported; write it as karpenter.sh/v1",
        ),
        (
            ok.replace("karpenter: {}", "karpenter: {zones: []}"),
            "mem.yaml:4:24: settings.nodeAutoscaler.karpenter.zones: needs at least one zone",
        ),
        (
            format!("{ok}      disruption: {{consolidationPolicy: WhenIdle}}\n"),
            "mem.yaml:17:41: manifests[0].spec.disruption.consolidationPolicy: nodepool general: unknown consolidationPolicy \"WhenIdle\"",
        ),
        (
            format!("{ok}      limits: {{cpu: lots}}\n"),
            "mem.yaml:17:21: manifests[0].spec.limits.cpu: nodepool general: limits.cpu: invalid quantity \"lots\"",
        ),
    ];
    for (text, expect) in &cases {
        check_err(text, expect);
    }
    // Without Karpenter, NodePools are read but ignored, with a warning.
    let without = ok
        .replace("  nodeAutoscaler:\n    karpenter: {}\n", "  {}\n")
        .replace(
            "nodePools: []",
            "nodePools: [{name: static, instanceType: m5.large, zones: [a]}]",
        );
    let s = load_str(&without, Path::new("mem.yaml")).unwrap();
    assert_eq!(s.node_pools.len(), 1);
    assert!(
        s.warnings[0].contains("NodePool/general ignored"),
        "{:?}",
        s.warnings
    );
}
