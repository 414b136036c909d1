//! Load traces: a CSV with a header row, a value column and optionally a time column (Unix
//! seconds), resampled to a fixed step and turned into requests per second.

use std::path::Path;

use crate::scenario::load::{Ctx, LoadError, Origin, MAX_FILE_BYTES};
use crate::scenario::spec::TraceSpec;
use crate::time::SimDuration;

/// Bounds the resampled series (a stray timestamp must not allocate gigabytes).
const MAX_TRACE_STEPS: i64 = 10_000_000;

/// Resampled demand, requests per second, one value per `step`.
pub(crate) fn load_trace(
    ctx: &Ctx,
    spec: &TraceSpec,
    at: &Origin,
) -> Result<(SimDuration, Vec<f64>), LoadError> {
    let step = spec.step.map_or(SimDuration::from_secs(60), |d| d.0);
    if step <= SimDuration::ZERO {
        return Err(ctx.err(&at.key("step"), "must be greater than zero"));
    }
    let scale = spec.scale.unwrap_or(1.0);
    if !(scale.is_finite() && scale >= 0.0) {
        return Err(ctx.err(&at.key("scale"), "must be a non-negative number"));
    }
    let per_s = spec.value_per.map_or(1.0, |d| d.0.as_secs_f64());
    if per_s <= 0.0 {
        return Err(ctx.err(&at.key("valuePer"), "must be greater than zero"));
    }
    let (path, text) = ctx.read_referenced(&at.key("path"), &spec.path, MAX_FILE_BYTES)?;
    let rows = read_rows(&path, &text, spec, at, ctx)?;
    let values = resample(
        &rows,
        step,
        spec.time_offset.map_or(0, |d| d.0.as_millis()),
        spec.time_column.is_some(),
    )
    .map_err(|m| ctx.err(&at.key("step"), m))?;
    if values.is_empty() {
        return Err(ctx.err(
            &at.key("path"),
            format!("`{}` has no rows after `timeOffset`", path.display()),
        ));
    }
    Ok((
        step,
        values.into_iter().map(|v| v * scale / per_s).collect(),
    ))
}

/// (time in ms, value) per row; without a time column, row i is at i × step (set later).
fn read_rows(
    path: &Path,
    text: &str,
    spec: &TraceSpec,
    at: &Origin,
    ctx: &Ctx,
) -> Result<Vec<(i64, f64)>, LoadError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let csv_err = |line: u64, message: String| LoadError {
        file: path.to_path_buf(),
        location: Some((line as usize, 1)),
        path: String::new(),
        message,
        hint: None,
    };
    let headers = reader
        .headers()
        .map_err(|e| csv_err(1, e.to_string()))?
        .clone();
    let column = |name: &str, key: &str| -> Result<usize, LoadError> {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            let known: Vec<&str> = headers.iter().collect();
            ctx.err(
                &at.key(key),
                format!(
                    "`{}` has no column `{name}`; its columns are {}",
                    path.display(),
                    known.join(", ")
                ),
            )
        })
    };
    let value_col = column(&spec.value_column, "valueColumn")?;
    let time_col = spec
        .time_column
        .as_deref()
        .map(|c| column(c, "timeColumn"))
        .transpose()?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| csv_err(line, e.to_string()))?;
        let number = |col: usize| -> Result<f64, LoadError> {
            let field = record.get(col).unwrap_or("");
            match field.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(csv_err(
                    line,
                    format!("column `{}`: `{field}` is not a number", &headers[col]),
                )),
            }
        };
        let value = number(value_col)?;
        if value < 0.0 {
            return Err(csv_err(
                line,
                format!("column `{}`: negative value {value}", &headers[value_col]),
            ));
        }
        let t_ms = match time_col {
            Some(c) => (number(c)? * 1000.0).round() as i64,
            None => i as i64,
        };
        rows.push((t_ms, value));
    }
    Ok(rows)
}

/// Averages the values per step from the first row plus `offset_ms`; empty steps repeat the
/// previous value (a gap in a log is missing data, not zero traffic). Without timestamps the
/// row index is the step index.
fn resample(
    rows: &[(i64, f64)],
    step: SimDuration,
    offset_ms: i64,
    timed: bool,
) -> Result<Vec<f64>, String> {
    let Some(&(first, _)) = rows.first() else {
        return Ok(Vec::new());
    };
    let step_ms = step.as_millis();
    let t0 = if timed {
        first + offset_ms
    } else {
        offset_ms / step_ms
    };
    let mut sums: Vec<(f64, u32)> = Vec::new();
    for &(t, v) in rows {
        let bucket = if timed {
            (t - t0).div_euclid(step_ms)
        } else {
            t - t0
        };
        if bucket < 0 {
            continue;
        }
        if bucket >= MAX_TRACE_STEPS {
            return Err(format!("the trace spans more than {MAX_TRACE_STEPS} steps of this size; use a larger `step`"));
        }
        let b = bucket as usize;
        if b >= sums.len() {
            sums.resize(b + 1, (0.0, 0));
        }
        sums[b].0 += v;
        sums[b].1 += 1;
    }
    let mut last = 0.0;
    Ok(sums
        .into_iter()
        .map(|(sum, n)| {
            if n > 0 {
                last = sum / f64::from(n);
            }
            last
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rows: &[(i64, f64)], step_s: i64, offset_ms: i64, timed: bool, expect: &[f64]) {
        assert_eq!(
            resample(rows, SimDuration::from_secs(step_s), offset_ms, timed).unwrap(),
            expect
        );
    }

    #[test]
    fn resampling() {
        // Two rows per minute average; a missing minute repeats the last value.
        check(
            &[(0, 1.0), (30_000, 3.0), (60_000, 4.0), (180_000, 8.0)],
            60,
            0,
            true,
            &[2.0, 4.0, 4.0, 8.0],
        );
        // The offset drops the start of the trace.
        check(
            &[(0, 1.0), (60_000, 2.0), (120_000, 3.0)],
            60,
            60_000,
            true,
            &[2.0, 3.0],
        );
        // Untimed rows are one step apart.
        check(
            &[(0, 5.0), (1, 6.0), (2, 7.0)],
            60,
            60_000,
            false,
            &[6.0, 7.0],
        );
        check(&[], 60, 0, true, &[]);
    }
}
