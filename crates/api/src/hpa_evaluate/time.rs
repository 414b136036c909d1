//! RFC 3339 timestamps and Go duration strings, the two time formats Kubernetes objects use.

/// Unix milliseconds of Go's zero `time.Time` (0001-01-01T00:00:00Z), which is what a
/// Kubernetes condition without `lastTransitionTime` carries.
pub const GO_ZERO_TIME_MS: i64 = -62_135_596_800_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Parses `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.250+02:00` to Unix milliseconds
/// (fractions below a millisecond are truncated).
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 time (like \"2026-01-01T00:00:00Z\")");
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let s = text.get(range).ok_or_else(bad)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let ms_text = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = ms_text.parse::<i64>().map_err(|_| bad())?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && &rest[3..4] == ":" =>
        {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let base = text.len() - 6;
            let (h, m) = (num(base + 1..base + 3)?, num(base + 4..base + 6)?);
            sign * (h * 60 + m)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_min * 60;
    Ok(seconds * 1000 + millis)
}

/// Formats Unix milliseconds as RFC 3339 in UTC, with milliseconds only when non-zero.
pub fn format_rfc3339(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, sod % 3600 / 60, sod % 60);
    if millis == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z")
    }
}

/// Parses a Go duration (`"30s"`, `"1m0s"`, `"1.5s"`, `"500ms"`) to milliseconds.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration (like \"30s\" or \"1m0s\")");
    if text == "0" {
        return Ok(0);
    }
    let mut rest = text;
    let mut total_ns: f64 = 0.0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        let value: f64 = rest[..n].parse().map_err(|_| bad())?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit_ns = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[u..];
        total_ns += value * unit_ns;
    }
    if !total_ns.is_finite() || total_ns > 1e18 {
        return Err(bad());
    }
    Ok((total_ns / 1e6) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2026-01-01T00:00:00Z", 1_767_225_600_000),
            ("2025-12-31T23:59:45Z", 1_767_225_585_000),
            ("2026-01-01T00:00:00.250Z", 1_767_225_600_250),
            ("0001-01-01T00:00:00Z", GO_ZERO_TIME_MS),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_rfc3339(text), Ok(ms), "{text}");
            assert_eq!(format_rfc3339(ms), text);
        }
        assert_eq!(
            parse_rfc3339("2026-01-01T02:00:00+02:00"),
            Ok(1_767_225_600_000)
        );
        assert_eq!(
            parse_rfc3339("2026-01-01T00:00:00.5-01:30"),
            Ok(1_767_225_600_000 + 500 + 5_400_000)
        );
        for bad in [
            "",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00.Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn go_durations() {
        let cases = [
            ("30s", Ok(30_000)),
            ("1m0s", Ok(60_000)),
            ("1.5s", Ok(1_500)),
            ("500ms", Ok(500)),
            ("1h", Ok(3_600_000)),
        ];
        for (text, ms) in cases {
            assert_eq!(parse_go_duration(text).map_err(|_| ()), ms, "{text}");
        }
        for bad in ["", "30", "s", "30x", "1e400s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?}");
        }
    }
}
