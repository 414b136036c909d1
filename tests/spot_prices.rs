//! Spot prices replayed from a history, through the binary: the bundled spot-storm scenario
//! replays the real us-east-1 history deterministically and its timeline shows the prices;
//! a broken history file is refused with its line and column.

use crate::common::headroom;

#[test]
fn spot_storm_replays_the_history_deterministically() {
    let dir = std::env::temp_dir().join(format!("headroom-spot-prices-{}", std::process::id()));
    let out_dir = dir.to_str().expect("utf-8 temp path");
    let args = ["run", "scenarios/spot-storm.yaml", "--format", "json"];
    let a = headroom(&[&args[..], &["--out", out_dir]].concat());
    let b = headroom(&args);
    assert_eq!(
        a.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&a.stderr)
    );
    assert_eq!(a.stdout, b.stdout, "same scenario, same report");
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    let spot_usd = report["cost"]["by_pool_usd"]["spot"].as_f64().unwrap();
    let spot_hours = report["node_hours"]["by_pool"]["spot"].as_f64().unwrap();
    // Every spot node pays m5.xlarge's price in use1-az1 (0.0717) or use1-az4 (0.068).
    let mean = spot_usd / spot_hours;
    assert!((0.068..=0.0717).contains(&mean), "{mean} $/h");
    // At time 0 the eight initial spot nodes sit four per zone.
    let nodes = std::fs::read_to_string(dir.join("nodes.csv")).expect("nodes.csv");
    let _ = std::fs::remove_dir_all(&dir);
    let header = nodes.lines().next().unwrap();
    assert_eq!(
        header,
        "t_s,pool,capacity_type,ready,provisioning,draining,cost_usd_per_hour"
    );
    assert!(
        nodes.lines().any(|l| l == "0,spot,spot,8,0,0,0.5588"),
        "{nodes}"
    );
}

#[test]
fn a_broken_history_names_file_line_and_column() {
    let out = headroom(&["validate", "tests/data/broken/bad-spot-price.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: tests/data/broken/../spot_prices/broken.csv:3:56: column `spot_price_usd_per_hour`: `n/a` is not a number\n"
    );
}
