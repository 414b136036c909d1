//! Price-history loader tests: broken files through one `check_err` helper, alignment, zone
//! mapping and duplicates, and a whole scenario with a history beside it.

use std::path::Path;

use super::*;
use crate::scenario::load_str;

const HEADER: &str =
    "timestamp_utc,availability_zone_id,instance_type,product_description,spot_price_usd_per_hour\n";

fn parse(csv: &str) -> Result<Vec<Row>, LoadError> {
    parse_rows(Path::new("prices.csv"), csv)
}

/// Parses `csv` and expects exactly the error `expect`.
fn check_err(csv: &str, expect: &str) {
    match parse(csv).and_then(|rows| series(&rows, Align::Start)) {
        Ok(_) => panic!("parsed, expected `{expect}`:\n{csv}"),
        Err(e) => assert_eq!(e.to_string(), expect, "{csv}"),
    }
}

fn series(rows: &[Row], align: Align) -> Result<Vec<PriceSeries>, LoadError> {
    let ids: BTreeMap<&str, &str> = [("use1-az4", "us-east-1a"), ("use1-az6", "us-east-1b")].into();
    build_series(Path::new("prices.csv"), rows, &ids, align)
}

#[test]
fn broken_files_name_line_and_column() {
    let row = "2022-05-31T20:00:00+00:00,use1-az4,m5.large,Linux/UNIX,0.04\n";
    let table = [
        (
            format!("{HEADER}{row}2022-05-31T21:00:00+00:00,use1-az4,m5.large,Linux/UNIX,cheap\n"),
            "prices.csv:3:56: column `spot_price_usd_per_hour`: `cheap` is not a number",
        ),
        (
            format!("{HEADER}2022-05-31T21:00:00+00:00,use1-az4,m5.large,Linux/UNIX,-0.5\n"),
            "prices.csv:2:56: column `spot_price_usd_per_hour`: `-0.5` must be a non-negative price",
        ),
        (
            format!("{HEADER}2022-05-31 21:00,use1-az4,m5.large,Linux/UNIX,0.05\n"),
            "prices.csv:2:1: column `timestamp_utc`: `2022-05-31 21:00` is not an RFC 3339 instant such as `2022-05-31T18:47:00+00:00`",
        ),
        (
            format!("{HEADER}2022-05-31T21:00:00+00:00,,m5.large,Linux/UNIX,0.05\n"),
            "prices.csv:2:27: column `availability_zone_id`: is empty",
        ),
        (
            format!("timestamp_utc,availability_zone_id,instance_type,region,spot_price_usd_per_hour\n{row}"),
            "prices.csv:1:50: unknown column `region`; expected timestamp_utc, availability_zone_id, instance_type, product_description, spot_price_usd_per_hour",
        ),
        (
            "timestamp_utc,availability_zone_id,instance_type\n2022-05-31T20:00:00+00:00,use1-az4,m5.large\n".to_string(),
            "prices.csv:1:1: missing column `spot_price_usd_per_hour`",
        ),
        (
            format!("{HEADER}{row}2022-05-31T21:00:00+00:00,use1-az4,m5.large\n"),
            "prices.csv:3:1: the row has 3 fields; the header has 5",
        ),
        (
            HEADER.to_string(),
            "prices.csv:1:1: no Linux price rows",
        ),
        (
            // Newest first is fine, but two prices for one pair at one second are not.
            format!("{HEADER}2022-05-31T21:00:00+00:00,use1-az4,m5.large,Linux/UNIX,0.05\n{row}2022-05-31T21:00:00+00:00,use1-az4,m5.large,Linux/UNIX,0.06\n"),
            "prices.csv:4:1: column `timestamp_utc`: a second price for m5.large in use1-az4 at the same time (first on line 2)",
        ),
        (
            // A duplicate in a zone the scenario does not map is still a broken file.
            format!("{HEADER}{row}2022-05-31T20:00:00+00:00,use1-az1,m5.large,Linux/UNIX,0.04\n2022-05-31T20:00:00+00:00,use1-az1,m5.large,Linux/UNIX,0.04\n"),
            "prices.csv:4:1: column `timestamp_utc`: a second price for m5.large in use1-az1 at the same time (first on line 3)",
        ),
    ];
    for (csv, expect) in table {
        check_err(&csv, expect);
    }
}

#[test]
fn rows_become_sorted_series_per_zone_name() {
    // Out of order, one unmapped zone (use1-az1), one Windows row (skipped).
    let csv = format!(
        "{HEADER}\
         2022-05-31T20:30:00+00:00,use1-az4,m5.large,Linux/UNIX,0.0450\n\
         2022-05-31T20:00:00+00:00,use1-az4,m5.large,Linux/UNIX,0.0400\n\
         2022-05-31T20:10:00+00:00,use1-az1,m5.large,Linux/UNIX,0.0410\n\
         2022-05-31T20:20:00+00:00,use1-az6,m5.large,Windows,0.1000\n\
         2022-05-31T21:00:00+00:00,use1-az6,c5.large,Linux/UNIX,0.0380\n"
    );
    let rows = parse(&csv).unwrap();
    assert_eq!(rows.len(), 4);
    let start = series(&rows, Align::Start).unwrap();
    type Summary<'a> = Vec<(&'a str, &'a str, Vec<(i64, f64)>)>;
    let summary: Summary = start
        .iter()
        .map(|s| {
            let points = s
                .points()
                .iter()
                .map(|p| (p.at.as_millis() / 1000, p.usd_per_hour));
            (s.instance_type.as_str(), s.zone.as_str(), points.collect())
        })
        .collect();
    // The earliest row of the whole file (20:00, in use1-az4) is time 0, including the
    // unmapped zone's rows: the alignment does not depend on the mapping.
    assert_eq!(
        summary,
        vec![
            ("c5.large", "us-east-1b", vec![(3600, 0.038)]),
            ("m5.large", "us-east-1a", vec![(0, 0.04), (1800, 0.045)]),
        ]
    );
    // Absolute: read against the scenario start (here 19:00 UTC).
    let start_unix_s = crate::scenario::parse_rfc3339("2022-05-31T19:00:00Z").unwrap();
    let absolute = series(&rows, Align::Absolute { start_unix_s }).unwrap();
    assert_eq!(absolute[1].points()[0].at, SimDuration::from_secs(3600));
}

/// The scenario in tests/data/spot_prices with `settings.spot.priceHistory` set to `history`.
fn scenario(
    history: &str,
    pool_zones: &str,
) -> Result<crate::scenario::model::Scenario, LoadError> {
    let text = format!(
        "duration: 2h\n\
         settings:\n  spot:\n    priceHistory: {history}\n\
         nodePools:\n  - {{name: spot, instanceType: m5.large, capacityType: spot, zones: {pool_zones}, initialNodes: 1}}\n"
    );
    load_str(
        &text,
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/spot_prices/scenario.yaml"
        )),
    )
}

#[test]
fn a_scenario_replays_its_history() {
    let sc = scenario(
        "{path: prices.csv, zoneIds: {us-east-1a: use1-az4, us-east-1b: use1-az6}}",
        "[us-east-1a, us-east-1b]",
    )
    .unwrap();
    let prices = &sc.settings.spot.prices;
    let at = |m: i64| SimDuration::from_secs(m * 60);
    assert_eq!(
        prices.history_usd_per_hour("m5.large", "us-east-1a", at(0)),
        Some(0.04)
    );
    assert_eq!(
        prices.history_usd_per_hour("m5.large", "us-east-1a", at(45)),
        Some(0.06)
    );
    assert_eq!(
        prices.history_usd_per_hour("m5.large", "us-east-1b", at(0)),
        Some(0.035)
    );
    assert!(sc.warnings.is_empty(), "{:?}", sc.warnings);
    // The pool's own fallback for a pair without history: the catalog discount.
    let it = &sc.node_pools[0].instance_types[0];
    assert_eq!(
        sc.settings.spot.price_usd_per_hour(it, "us-east-1c", at(0)),
        it.price_usd_per_hour(crate::scenario::model::CapacityType::Spot)
    );
}

#[test]
fn scenario_errors_and_warnings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/spot_prices");
    // The default mapping puts us-east-1a on use1-az1, which the file lacks: a warning.
    let sc = scenario("{path: prices.csv}", "[us-east-1a]").unwrap();
    assert_eq!(
        sc.warnings,
        vec![format!("{dir}/scenario.yaml:4: the spot price history has no m5.large in us-east-1a (use1-az1); node pool `spot` pays the catalog discount there")]
    );
    // A history read against the default start (2024) lies wholly before the run.
    let sc = scenario(
        "{path: prices.csv, zoneIds: {us-east-1a: use1-az4}, align: absolute}",
        "[us-east-1a]",
    )
    .unwrap();
    assert_eq!(
        sc.warnings,
        vec![format!("{dir}/scenario.yaml:4: the price history ends before the scenario's `start`: every pair keeps its last price throughout")]
    );
    assert_eq!(
        sc.settings
            .spot
            .prices
            .history_usd_per_hour("m5.large", "us-east-1a", SimDuration::ZERO),
        Some(0.06)
    );
    let table = [
        (
            "{path: prices.csv, zoneIds: {us-east-1a: use1-az4, us-east-1b: use1-az4}}",
            format!("{dir}/scenario.yaml:4:82: settings.spot.priceHistory.zoneIds.us-east-1b: zones `us-east-1a` and `us-east-1b` both map to `use1-az4`; each zone has its own ID"),
        ),
        (
            "{path: broken.csv}",
            format!("{dir}/broken.csv:3:56: column `spot_price_usd_per_hour`: `n/a` is not a number"),
        ),
        (
            "{path: prices.csv, align: loop}",
            format!("{dir}/scenario.yaml:4:45: settings.spot.priceHistory.align: unknown variant `loop`, expected `start` or `absolute`"),
        ),
    ];
    for (history, expect) in table {
        let e = scenario(history, "[us-east-1a]").unwrap_err();
        assert_eq!(e.to_string(), expect, "{history}");
    }
}
