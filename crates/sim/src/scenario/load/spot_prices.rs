//! `settings.spot.priceHistory`: reads a spot price history CSV (the shape of EC2
//! `DescribeSpotPriceHistory`: one row per price change of an instance type in an AWS zone
//! ID), maps zone IDs to the scenario's zone names, aligns timestamps to simulated time and
//! builds [`SpotPrices`]. Errors in the file name `file:line:column` and the column.

use std::collections::BTreeMap;
use std::path::Path;

use crate::scenario::load::{parse_rfc3339, Ctx, LoadError, Origin, MAX_FILE_BYTES};
use crate::scenario::model::{CapacityType, NodePool};
use crate::scenario::spec::{PriceAlignSpec, PriceHistorySpec};
use crate::scenario::spot_prices::{PricePoint, PriceSeries, SpotPrices};
use crate::time::SimDuration;

const TIMESTAMP: &str = "timestamp_utc";
const ZONE_ID: &str = "availability_zone_id";
const INSTANCE_TYPE: &str = "instance_type";
const PRODUCT: &str = "product_description";
const PRICE: &str = "spot_price_usd_per_hour";
/// Every column the file may have, in the order AWS-derived files use.
const COLUMNS: [&str; 5] = [TIMESTAMP, ZONE_ID, INSTANCE_TYPE, PRODUCT, PRICE];

/// The zone-name -> zone-ID mapping used when a scenario gives none. AWS maps names to IDs
/// differently in every account; this one simply pairs the letters with the numbers in order.
pub const DEFAULT_ZONE_IDS: [(&str, &str); 6] = [
    ("us-east-1a", "use1-az1"),
    ("us-east-1b", "use1-az2"),
    ("us-east-1c", "use1-az3"),
    ("us-east-1d", "use1-az4"),
    ("us-east-1e", "use1-az5"),
    ("us-east-1f", "use1-az6"),
];

/// How history timestamps become simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    /// The earliest timestamp in the file is time 0.
    Start,
    /// Timestamps are read against the scenario's `start` instant.
    Absolute { start_unix_s: i64 },
}

/// The replayed prices of `spec` (empty without one). Warns about each spot pool zone the
/// history does not cover, since its price silently stays the catalog discount otherwise.
pub(crate) fn price_history(
    ctx: &mut Ctx,
    spec: Option<&PriceHistorySpec>,
    pools: &[NodePool],
    (start_unix_s, duration): (i64, SimDuration),
    at: &Origin,
) -> Result<SpotPrices, LoadError> {
    let Some(spec) = spec else {
        return Ok(SpotPrices::default());
    };
    let zone_ids: BTreeMap<String, String> = if spec.zone_ids.is_empty() {
        DEFAULT_ZONE_IDS
            .iter()
            .map(|(n, i)| (n.to_string(), i.to_string()))
            .collect()
    } else {
        spec.zone_ids.clone()
    };
    let mut zone_of_id: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, id) in &zone_ids {
        if let Some(other) = zone_of_id.insert(id, name) {
            let why = format!(
                "zones `{other}` and `{name}` both map to `{id}`; each zone has its own ID"
            );
            return Err(ctx.err(&at.key("zoneIds").key(name), why));
        }
    }
    let align = match spec.align {
        None | Some(PriceAlignSpec::Start) => Align::Start,
        Some(PriceAlignSpec::Absolute) => Align::Absolute { start_unix_s },
    };
    let (path, text) = ctx.read_referenced(&at.key("path"), &spec.path, MAX_FILE_BYTES)?;
    let rows = parse_rows(&path, &text)?;
    let prices = SpotPrices::new(build_series(&path, &rows, &zone_of_id, align)?);
    if let Some(why) = outside_the_run(&rows, align, duration) {
        let warning = format!("{}: {why}", ctx.place(&at.key("align")));
        ctx.warnings.push(warning);
    }
    for pool in pools
        .iter()
        .filter(|p| p.capacity_type == CapacityType::Spot)
    {
        let it = &pool.instance_types[0].name;
        for zone in &pool.zones {
            if prices.find(it, zone).is_none() {
                let id = zone_ids
                    .get(zone)
                    .map_or("no zone ID in `zoneIds`", String::as_str);
                let warning = format!(
                    "{}: the spot price history has no {it} in {zone} ({id}); node pool `{}` pays the catalog discount there",
                    ctx.place(&at.key("path")),
                    pool.name
                );
                ctx.warnings.push(warning);
            }
        }
    }
    Ok(prices)
}

/// Why an `absolute` history replays no change within the run (it lies wholly before or
/// after it), if it does not: most likely the scenario's `start` was not set to match it.
fn outside_the_run(rows: &[Row], align: Align, duration: SimDuration) -> Option<String> {
    let Align::Absolute { start_unix_s } = align else {
        return None;
    };
    let first = rows.iter().map(|r| r.unix_s).min()?;
    let last = rows.iter().map(|r| r.unix_s).max()?;
    let end_unix_s = start_unix_s + duration.as_millis() / 1000;
    if last < start_unix_s {
        Some("the price history ends before the scenario's `start`: every pair keeps its last price throughout".into())
    } else if first > end_unix_s {
        Some("the price history begins after the scenario ends: every pair keeps its first price throughout".into())
    } else {
        None
    }
}

/// One price change as read, with where it was read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub unix_s: i64,
    pub zone_id: String,
    pub instance_type: String,
    pub usd_per_hour: f64,
    pub line: u64,
    /// 1-based column of the timestamp, for errors about the row's place in time.
    pub timestamp_column: usize,
}

/// The rows of a price-history CSV. Rows whose `product_description` is not Linux are
/// skipped (headroom's nodes run Linux); every other row must parse.
pub(crate) fn parse_rows(path: &Path, text: &str) -> Result<Vec<Row>, LoadError> {
    let err = |line: u64, column: usize, message: String| located(path, line, column, message);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| csv_err(path, &e))?.clone();
    let index = column_index(path, &headers)?;
    let col = |c: &str| index[c];
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_err(path, &e))?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |c: &str| record.get(col(c)).unwrap_or("");
        let bad = |c: &str, why: String| {
            err(
                line,
                column_of(&record, col(c)),
                format!("column `{c}`: {why}"),
            )
        };
        if index.contains_key(PRODUCT) && !field(PRODUCT).starts_with("Linux/UNIX") {
            continue;
        }
        let stamp = field(TIMESTAMP);
        let unix_s = parse_rfc3339(stamp.trim()).ok_or_else(|| {
            bad(
                TIMESTAMP,
                format!("`{stamp}` is not an RFC 3339 instant such as `2022-05-31T18:47:00+00:00`"),
            )
        })?;
        let price_text = field(PRICE);
        let usd_per_hour = match price_text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => v,
            Ok(_) => {
                return Err(bad(
                    PRICE,
                    format!("`{price_text}` must be a non-negative price"),
                ))
            }
            Err(_) => return Err(bad(PRICE, format!("`{price_text}` is not a number"))),
        };
        for c in [ZONE_ID, INSTANCE_TYPE] {
            if field(c).trim().is_empty() {
                return Err(bad(c, "is empty".into()));
            }
        }
        rows.push(Row {
            unix_s,
            zone_id: field(ZONE_ID).trim().to_string(),
            instance_type: field(INSTANCE_TYPE).trim().to_string(),
            usd_per_hour,
            line,
            timestamp_column: column_of(&record, col(TIMESTAMP)),
        });
    }
    if rows.is_empty() {
        return Err(err(1, 1, "no Linux price rows".into()));
    }
    Ok(rows)
}

/// Where each known column is; unknown, repeated or missing columns are errors.
fn column_index<'h>(
    path: &Path,
    headers: &'h csv::StringRecord,
) -> Result<BTreeMap<&'h str, usize>, LoadError> {
    let mut index = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let column = column_of(headers, i);
        if !COLUMNS.contains(&h) {
            let why = format!("unknown column `{h}`; expected {}", COLUMNS.join(", "));
            return Err(located(path, 1, column, why));
        }
        if index.insert(h, i).is_some() {
            return Err(located(
                path,
                1,
                column,
                format!("column `{h}` appears twice"),
            ));
        }
    }
    for c in [TIMESTAMP, ZONE_ID, INSTANCE_TYPE, PRICE] {
        if !index.contains_key(c) {
            return Err(located(path, 1, 1, format!("missing column `{c}`")));
        }
    }
    Ok(index)
}

fn located(path: &Path, line: u64, column: usize, message: String) -> LoadError {
    LoadError {
        file: path.to_path_buf(),
        location: Some((line as usize, column)),
        path: String::new(),
        message,
        hint: None,
    }
}

/// Groups rows into one series per (instance type, zone name), sorted in time (AWS lists
/// newest first, so order in the file is free), dropping zone IDs the mapping lacks. Two
/// changes of one pair at the same second are ambiguous and refused.
pub(crate) fn build_series(
    path: &Path,
    rows: &[Row],
    zone_of_id: &BTreeMap<&str, &str>,
    align: Align,
) -> Result<Vec<PriceSeries>, LoadError> {
    let origin_s = match align {
        Align::Start => rows.iter().map(|r| r.unix_s).min().unwrap_or(0),
        Align::Absolute { start_unix_s } => start_unix_s,
    };
    let mut groups: BTreeMap<(&str, &str), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups
            .entry((&r.instance_type, &r.zone_id))
            .or_default()
            .push(r);
    }
    let mut series = Vec::new();
    for ((instance_type, zone_id), mut group) in groups {
        group.sort_by_key(|r| (r.unix_s, r.line));
        if let Some(w) = group.windows(2).find(|w| w[0].unix_s == w[1].unix_s) {
            let (first, second) = if w[0].line < w[1].line {
                (w[0], w[1])
            } else {
                (w[1], w[0])
            };
            let why = format!(
                "column `{TIMESTAMP}`: a second price for {instance_type} in {zone_id} at the same time (first on line {})",
                first.line
            );
            return Err(located(path, second.line, second.timestamp_column, why));
        }
        let Some(zone) = zone_of_id.get(zone_id) else {
            continue;
        };
        let points = group
            .iter()
            .map(|r| PricePoint {
                at: SimDuration::from_secs(r.unix_s - origin_s),
                usd_per_hour: r.usd_per_hour,
            })
            .collect();
        series.push(PriceSeries::new(instance_type, zone, points));
    }
    Ok(series)
}

/// The 1-based column where field `i` of an unquoted CSV record starts.
fn column_of(record: &csv::StringRecord, i: usize) -> usize {
    1 + record.iter().take(i).map(|f| f.len() + 1).sum::<usize>()
}

/// A malformed CSV record: its line, and the reader's reason.
fn csv_err(path: &Path, e: &csv::Error) -> LoadError {
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("the row has {len} fields; the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    LoadError {
        file: path.to_path_buf(),
        location: e.position().map(|p| (p.line() as usize, 1)),
        path: String::new(),
        message,
        hint: None,
    }
}

#[cfg(test)]
#[path = "spot_prices_tests.rs"]
mod tests;
