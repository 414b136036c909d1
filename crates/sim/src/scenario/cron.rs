//! Cron schedules as the Kubernetes CronJob controller reads them: the standard five fields
//! (minute hour day-of-month month day-of-week) with ranges, steps, lists, month and weekday
//! names and `?`, the `@hourly`-style macros and `@every <duration>`. Times are UTC.

use std::fmt;

use crate::scenario::duration::parse_duration;

/// A parsed schedule. `text` keeps what the user wrote, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    pub text: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Fields(Fields),
    /// `@every 90m`: a constant delay, in whole seconds.
    Every(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
    /// The day-of-month / day-of-week field was `*` or `?`: the two day fields are then
    /// ANDed; when both are restricted they are ORed (classic cron, as robfig/cron does).
    dom_star: bool,
    dow_star: bool,
}

/// Why a schedule was rejected; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

#[derive(Clone, Copy)]
struct FieldDef {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MONTH_NAMES: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DOW_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: [FieldDef; 5] = [
    FieldDef {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    FieldDef {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    FieldDef {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    FieldDef {
        name: "month",
        min: 1,
        max: 12,
        names: MONTH_NAMES,
    },
    FieldDef {
        name: "day-of-week",
        min: 0,
        max: 6,
        names: DOW_NAMES,
    },
];

/// How far ahead `next_after` looks before deciding a schedule never fires (Feb 30 ...);
/// robfig/cron gives up after five years too.
const SEARCH_DAYS: i64 = 5 * 366;

impl CronSchedule {
    pub fn parse(text: &str) -> Result<CronSchedule, CronError> {
        let spec = text.trim();
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            // The exact words of the Kubernetes API validation.
            return Err(CronError(
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into(),
            ));
        }
        let kind = if let Some(rest) = spec.strip_prefix('@') {
            parse_descriptor(rest)?
        } else {
            Kind::Fields(parse_fields(spec)?)
        };
        Ok(CronSchedule {
            text: text.to_string(),
            kind,
        })
    }

    /// The first activation strictly after `unix_s` (UTC), or `None` if the schedule never
    /// fires in the next five years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, unix_s: i64) -> Option<i64> {
        match &self.kind {
            Kind::Every(delay_s) => unix_s.checked_add(*delay_s),
            Kind::Fields(f) => f.next_after(unix_s),
        }
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_descriptor(rest: &str) -> Result<Kind, CronError> {
    let fields = match rest {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => {
            if let Some(d) = rest.strip_prefix("every ") {
                let delay = parse_duration(d).map_err(|e| CronError(format!("@every: {e}")))?;
                // robfig/cron rounds the delay down to whole seconds, with a floor of 1 s.
                return Ok(Kind::Every((delay.as_millis() / 1000).max(1)));
            }
            return Err(CronError(format!("unrecognized descriptor: @{rest}")));
        }
    };
    Ok(Kind::Fields(parse_fields(fields)?))
}

fn parse_fields(spec: &str) -> Result<Fields, CronError> {
    let parts: Vec<&str> = spec.split_whitespace().collect();
    if parts.len() != 5 {
        return Err(CronError(format!(
            "expected exactly 5 fields (minute hour day-of-month month day-of-week), found {}: `{spec}`",
            parts.len()
        )));
    }
    let mut bits = [0u64; 5];
    let mut star = [false; 5];
    for (i, (part, def)) in parts.iter().zip(FIELDS).enumerate() {
        (bits[i], star[i]) = parse_field(part, def)
            .map_err(|why| CronError(format!("{} field `{part}`: {why}", def.name)))?;
    }
    Ok(Fields {
        minute: bits[0],
        hour: bits[1],
        dom: bits[2],
        month: bits[3],
        dow: bits[4],
        dom_star: star[2],
        dow_star: star[4],
    })
}

/// One field: a comma-separated list of `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn parse_field(field: &str, def: FieldDef) -> Result<(u64, bool), String> {
    let (mut bits, mut star) = (0u64, false);
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        let is_star = range == "*" || range == "?";
        let (start, mut end) = if is_star {
            (def.min, def.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (parse_value(a, def)?, parse_value(b, def)?)
        } else {
            let v = parse_value(range, def)?;
            (v, v)
        };
        let step = match step {
            None => 1,
            Some(s) => {
                let n: u32 = s
                    .parse()
                    .map_err(|_| format!("step `{s}` is not a positive number"))?;
                if n == 0 {
                    return Err("step must be a positive number".into());
                }
                // `N/step` means N through the maximum, as in robfig/cron.
                if !is_star && !range.contains('-') {
                    end = def.max;
                }
                n
            }
        };
        if start > end {
            return Err(format!(
                "beginning of range ({start}) beyond end of range ({end})"
            ));
        }
        star |= is_star && step == 1;
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

fn parse_value(text: &str, def: FieldDef) -> Result<u32, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(pos) = def.names.iter().position(|n| *n == upper) {
        // Month names count from 1, weekday names from 0 (SUN).
        return Ok(pos as u32 + def.min);
    }
    let v: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number or a valid name"))?;
    if v < def.min {
        return Err(format!("value {v} below minimum {}", def.min));
    }
    if v > def.max {
        return Err(format!("value {v} above maximum {}", def.max));
    }
    Ok(v)
}

impl Fields {
    fn day_matches(&self, dom: u32, dow: u32) -> bool {
        let dom_ok = self.dom & (1 << dom) != 0;
        let dow_ok = self.dow & (1 << dow) != 0;
        if self.dom_star || self.dow_star {
            dom_ok && dow_ok
        } else {
            dom_ok || dow_ok
        }
    }

    fn next_after(&self, unix_s: i64) -> Option<i64> {
        // Start at the next whole minute; scan day by day, then hour and minute within it.
        let start = unix_s.div_euclid(60) * 60 + 60;
        let first_day = start.div_euclid(86_400);
        let first_minute_of_day = (start.rem_euclid(86_400) / 60) as u32;
        for day in first_day..first_day + SEARCH_DAYS {
            let (_, month, dom) = civil_from_days(day);
            let dow = (day + 4).rem_euclid(7) as u32; // 1970-01-01 was a Thursday.
            if self.month & (1 << month) == 0 || !self.day_matches(dom, dow) {
                continue;
            }
            let from = if day == first_day {
                first_minute_of_day
            } else {
                0
            };
            for minute_of_day in from..1440 {
                let (h, m) = (minute_of_day / 60, minute_of_day % 60);
                if self.hour & (1 << h) != 0 && self.minute & (1 << m) != 0 {
                    return Some(day * 86_400 + i64::from(minute_of_day) * 60);
                }
            }
        }
        None
    }
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01 (proleptic Gregorian),
/// after Howard Hinnant's `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
#[path = "cron_tests.rs"]
mod tests;
