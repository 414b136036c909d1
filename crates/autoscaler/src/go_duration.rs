//! Go `time.ParseDuration` strings (`30s`, `1h30m`, `720h`, `500ms`), as Kubernetes
//! annotations and Karpenter's NodePool durations write them, in milliseconds.

/// Parses a Go duration into milliseconds; `None` if malformed or negative.
pub fn parse_ms(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut total = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let n: f64 = num.parse().ok()?;
        let scale = match unit {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return None,
        };
        total += n * scale;
        rest = next;
    }
    (!s.is_empty()).then(|| total.round() as i64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_durations() {
        fn check(s: &str, expect: Option<i64>) {
            assert_eq!(super::parse_ms(s), expect, "{s}");
        }
        check("30s", Some(30_000));
        check("1h30m", Some(5_400_000));
        check("720h", Some(2_592_000_000));
        check("500ms", Some(500));
        check("1.5m", Some(90_000));
        check("0", Some(0));
        check("", None);
        check("10", None);
        check("5d", None);
        check("-1s", None);
    }
}
