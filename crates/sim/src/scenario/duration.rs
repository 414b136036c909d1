//! Durations as scenario files write them: `500ms`, `90s`, `5m`, `1h30m`, `14d`.

use std::fmt;

use crate::time::SimDuration;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    #[error("empty duration; write a number with a unit, e.g. `90s`")]
    Empty,
    #[error("negative duration `{0}` is not allowed")]
    Negative(String),
    #[error("invalid duration `{text}`: {why}; use units ms, s, m, h, d (e.g. `1h30m`)")]
    Malformed { text: String, why: String },
    #[error("duration `{0}` is too large")]
    Overflow(String),
}

/// Parses `<int><unit>` groups, units `ms`, `s`, `m`, `h`, `d`, each used at most once and
/// from the largest down (as Go's `time.Duration` prints them). A bare `0` is zero.
pub fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative(s.to_string()));
    }
    if s == "0" {
        return Ok(SimDuration::ZERO);
    }
    let malformed = |why: &str| DurationError::Malformed {
        text: s.to_string(),
        why: why.to_string(),
    };
    let bytes = s.as_bytes();
    let (mut i, mut total_ms, mut last_rank) = (0usize, 0i64, usize::MAX);
    while i < bytes.len() {
        let digits_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == digits_start {
            return Err(malformed("expected a number"));
        }
        let number: i64 = s[digits_start..i]
            .parse()
            .map_err(|_| DurationError::Overflow(s.to_string()))?;
        if bytes.get(i) == Some(&b'.') {
            return Err(malformed(
                "fractions are not supported (write `1h30m`, not `1.5h`)",
            ));
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[unit_start..i];
        let (rank, unit_ms) = match unit {
            "d" => (0, 86_400_000),
            "h" => (1, 3_600_000),
            "m" => (2, 60_000),
            "s" => (3, 1_000),
            "ms" => (4, 1),
            "" => return Err(malformed("missing unit")),
            _ => return Err(malformed(&format!("unknown unit `{unit}`"))),
        };
        if last_rank != usize::MAX && rank <= last_rank {
            return Err(malformed(
                "units must go from largest to smallest, each once",
            ));
        }
        last_rank = rank;
        let part = number
            .checked_mul(unit_ms)
            .ok_or_else(|| DurationError::Overflow(s.to_string()))?;
        total_ms = total_ms
            .checked_add(part)
            .ok_or_else(|| DurationError::Overflow(s.to_string()))?;
    }
    Ok(SimDuration(total_ms))
}

/// Prints a duration in the form [`parse_duration`] reads back (`1h30m`, `0`).
pub struct DurationText(pub SimDuration);

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0");
        }
        for (unit, unit_ms) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if ms >= unit_ms {
                write!(f, "{}{}", ms / unit_ms, unit)?;
                ms %= unit_ms;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Result<i64, &str>) {
        let got = parse_duration(text)
            .map(|d| d.as_millis())
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(ms), Ok(want)) => {
                assert_eq!(ms, want, "{text}");
                assert_eq!(
                    parse_duration(&DurationText(SimDuration(ms)).to_string())
                        .unwrap()
                        .as_millis(),
                    ms
                );
            }
            (Err(e), Err(want)) => assert!(e.contains(want), "{text}: `{e}` lacks `{want}`"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn durations() {
        let table: &[(&str, Result<i64, &str>)] = &[
            ("90s", Ok(90_000)),
            ("5m", Ok(300_000)),
            ("1h30m", Ok(5_400_000)),
            ("14d", Ok(14 * 86_400_000)),
            ("500ms", Ok(500)),
            ("1d2h3m4s5ms", Ok(93_784_005)),
            ("0", Ok(0)),
            ("0s", Ok(0)),
            (" 10s ", Ok(10_000)),
            ("5x", Err("unknown unit `x`")),
            ("", Err("empty duration")),
            ("-5s", Err("negative")),
            ("10", Err("missing unit")),
            ("s", Err("expected a number")),
            ("1.5h", Err("fractions are not supported")),
            ("30m1h", Err("largest to smallest")),
            ("5s5s", Err("largest to smallest")),
            ("99999999999999999999s", Err("too large")),
            ("9999999999999999d", Err("too large")),
        ];
        for (text, expect) in table {
            check(text, *expect);
        }
    }
}
