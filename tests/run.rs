//! `headroom run` through the binary: byte-identical reports for the same scenario and seed,
//! different ones for another seed, the timeline files, and exit codes for bad overrides.

use crate::common::{headroom, headroom_twice_identical};

#[test]
fn same_scenario_and_seed_give_a_byte_identical_report() {
    let args = [
        "run",
        "scenarios/production.yaml",
        "--format",
        "json",
        "--duration",
        "2d",
    ];
    let stdout = headroom_twice_identical(&args);
    let c = headroom(&[
        "run",
        "scenarios/production.yaml",
        "--format",
        "json",
        "--duration",
        "2d",
        "--seed",
        "8",
    ]);
    assert_ne!(
        stdout, c.stdout,
        "another seed draws other start-up delays, load noise and job outcomes"
    );
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(report["duration_s"], 172_800);
    assert!(report["cost"]["total_usd"].as_f64().unwrap() > 0.0);
}

#[test]
fn the_timeline_is_written_as_csv() {
    let dir = std::env::temp_dir().join(format!("headroom-run-{}", std::process::id()));
    let out = headroom(&[
        "run",
        "scenarios/quickstart.yaml",
        "--duration",
        "2h",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let workloads = std::fs::read_to_string(dir.join("workloads.csv")).unwrap();
    assert!(workloads.starts_with("t_s,namespace,workload,desired_replicas,pods,ready,demand_rps"));
    // One row per workload per 60 s step over 2 h.
    assert!(workloads.lines().count() > 120);
    for f in ["nodes.csv", "pending.csv", "report.json"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_overrides_and_scenarios_exit_2() {
    for args in [
        &["run", "scenarios/quickstart.yaml", "--duration", "5x"][..],
        &["run", "scenarios/quickstart.yaml", "--duration", "0s"],
        &["run", "tests/data/broken/unknown-field.yaml"],
        &["run", "no/such/file.yaml"],
    ] {
        let out = headroom(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{args:?}"
        );
    }
}
