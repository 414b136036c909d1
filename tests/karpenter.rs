//! `headroom run` of the bundled Karpenter scenario through the binary: the same seed gives
//! a byte-identical JSON report, and Karpenter did its work (launches, consolidation).

use crate::common::headroom_twice_identical;

#[test]
fn production_karpenter_is_deterministic() {
    let args = [
        "run",
        "scenarios/production-karpenter.yaml",
        "--format",
        "json",
        "--duration",
        "3d",
    ];
    let stdout = headroom_twice_identical(&args);
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let counters = &report["node_autoscaler"];
    assert!(
        counters["nodes launched"].as_u64().unwrap() > 0,
        "{counters}"
    );
    assert!(
        counters["nodes consolidated"].as_u64().unwrap() > 0,
        "{counters}"
    );
    // The four NodePools are the report's pools.
    let pools: Vec<&String> = report["cost"]["by_pool_usd"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(pools, ["general", "gpu", "memory", "spot"]);
}
