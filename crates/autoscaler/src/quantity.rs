//! Kubernetes `Quantity` strings (`"250m"`, `"1.5"`, `"512Mi"`, `"1e3"`): parsing to exact
//! integers and rendering milli-values the way the API server prints them.
//!
//! The grammar is the one of `k8s.io/apimachinery/pkg/api/resource`:
//!
//! ```text
//! quantity  ::= [sign] number [suffix]
//! number    ::= digits | digits "." [digits] | "." digits
//! suffix    ::= binarySI | decimalSI | ("e" | "E") [sign] digits
//! binarySI  ::= Ki | Mi | Gi | Ti | Pi | Ei
//! decimalSI ::= n | u | m | "" | k | M | G | T | P | E
//! ```
//!
//! Like Kubernetes, a value with more precision than a nano-unit is rounded *up* (away from
//! zero) to the next nano-unit, and the integer views ([`Quantity::as_milli`],
//! [`Quantity::as_units`]) round away from zero as `MilliValue()` / `Value()` do. Values are
//! held exactly as an `i128` count of nano-units; anything beyond that range is rejected with
//! [`QuantityError::OutOfRange`] rather than wrapped.

use std::fmt;

/// Nano-units per unit.
const NANO_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units per milli-unit.
const NANO_PER_MILLI: i128 = 1_000_000;

/// A parsed Kubernetes quantity, exact to the nano-unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nano: i128,
}

/// Why a string is not a Kubernetes quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityError {
    #[error("quantity is empty")]
    Empty,
    #[error("quantity {0:?} must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
    Format(String),
    #[error("quantity {0:?} has an unknown suffix")]
    Suffix(String),
    #[error("quantity {0:?} is too large")]
    OutOfRange(String),
}

/// Parses a Kubernetes quantity string.
pub fn parse_quantity(text: &str) -> Result<Quantity, QuantityError> {
    if text.is_empty() {
        return Err(QuantityError::Empty);
    }
    let format_err = || QuantityError::Format(text.to_string());
    let range_err = || QuantityError::OutOfRange(text.to_string());
    let (negative, rest) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, suffix) = rest.split_at(number_len);
    let (int_digits, frac_digits) = match number.split_once('.') {
        Some((i, f)) if !f.contains('.') => (i, f),
        Some(_) => return Err(format_err()),
        None => (number, ""),
    };
    if int_digits.is_empty() && frac_digits.is_empty() {
        return Err(format_err());
    }
    let (exp10, pow2) = interpret_suffix(suffix).ok_or_else(|| suffix_error(text, suffix))?;
    // Trailing zeros of the fraction carry no value; dropping them keeps long literals such
    // as "1.000000000000000000000000000000000000000" inside the mantissa's range.
    let frac_digits = frac_digits.trim_end_matches('0');
    let mut mantissa: i128 = 0;
    for digit in int_digits.bytes().chain(frac_digits.bytes()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(digit - b'0')))
            .ok_or_else(range_err)?;
    }
    let mantissa = mantissa.checked_mul(1i128 << pow2).ok_or_else(range_err)?;
    // value = mantissa * 10^(exp10 - frac_len); in nano-units add 9 to the exponent.
    let exp_nano = i64::from(exp10) - frac_digits.len() as i64 + 9;
    let magnitude = scale_pow10_round_up(mantissa, exp_nano).ok_or_else(range_err)?;
    Ok(Quantity {
        nano: if negative { -magnitude } else { magnitude },
    })
}

/// The error for a bad suffix: a suffix that is not even made of suffix characters is a
/// format error (`5x`), a well-formed but unknown one (`250mm`) a suffix error.
fn suffix_error(text: &str, suffix: &str) -> QuantityError {
    let known_chars = suffix.trim_start_matches(|c: char| "eEinumkKMGTP".contains(c));
    let known_chars = known_chars.trim_start_matches(['+', '-']);
    if known_chars.bytes().all(|b| b.is_ascii_digit()) {
        QuantityError::Suffix(text.to_string())
    } else {
        QuantityError::Format(text.to_string())
    }
}

/// `(power of ten, power of two)` a suffix multiplies by; `None` for an unknown suffix.
fn interpret_suffix(suffix: &str) -> Option<(i32, u32)> {
    let known = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        _ => return interpret_exponent(suffix).map(|e| (e, 0)),
    };
    Some(known)
}

/// The exponent of a `e<signed integer>` / `E<signed integer>` suffix.
fn interpret_exponent(suffix: &str) -> Option<i32> {
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Exponents beyond a few hundred only ever overflow or round to one nano-unit; clamp so
    // the parse itself cannot overflow.
    let magnitude: i32 = digits
        .parse::<i64>()
        .map(|e| e.min(10_000) as i32)
        .unwrap_or(10_000);
    Some(if rest.starts_with('-') {
        -magnitude
    } else {
        magnitude
    })
}

/// `mantissa * 10^exp`, rounded away from zero when `exp` is negative; `None` on overflow.
fn scale_pow10_round_up(mantissa: i128, exp: i64) -> Option<i128> {
    if mantissa == 0 {
        return Some(0);
    }
    if exp >= 0 {
        let factor = 10i128.checked_pow(u32::try_from(exp).ok()?)?;
        return mantissa.checked_mul(factor);
    }
    // Past 10^38 every positive mantissa is below the divisor: the value rounds up to 1.
    let Some(divisor) = u32::try_from(-exp).ok().and_then(|e| 10i128.checked_pow(e)) else {
        return Some(1);
    };
    Some(ceil_div(mantissa, divisor))
}

/// `a / b` rounded away from zero, for `b > 0`.
fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b == 0 {
        q
    } else if a > 0 {
        q + 1
    } else {
        q - 1
    }
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { nano: 0 };

    /// A quantity of `milli` thousandths of a unit.
    pub const fn from_milli(milli: i64) -> Quantity {
        Quantity {
            nano: milli as i128 * NANO_PER_MILLI,
        }
    }

    /// A quantity of whole units (bytes, cores, requests, ...).
    pub const fn from_units(units: i64) -> Quantity {
        Quantity {
            nano: units as i128 * NANO_PER_UNIT,
        }
    }

    /// The exact value in nano-units.
    pub const fn as_nano(&self) -> i128 {
        self.nano
    }

    /// Exact milli-units (rounded away from zero, as `MilliValue()`), not saturated.
    pub fn as_milli_i128(&self) -> i128 {
        ceil_div(self.nano, NANO_PER_MILLI)
    }

    /// Milli-units (`"250m"` → 250, `"1"` → 1000), rounded away from zero as `MilliValue()`,
    /// saturating at the `i64` range.
    pub fn as_milli(&self) -> i64 {
        saturate_i64(self.as_milli_i128())
    }

    /// Milli-units, or `None` when the value does not fit an `i64`.
    pub fn try_milli(&self) -> Option<i64> {
        i64::try_from(self.as_milli_i128()).ok()
    }

    /// Whole units (`"512Mi"` → 536_870_912), rounded away from zero as `Value()`,
    /// saturating at the `i64` range.
    pub fn as_units(&self) -> i64 {
        saturate_i64(ceil_div(self.nano, NANO_PER_UNIT))
    }

    /// Bytes: [`Quantity::as_units`] under the name memory code reads best with.
    pub fn as_bytes(&self) -> i64 {
        self.as_units()
    }

    /// The nearest `f64` (`AsApproximateFloat64`), used for tolerances.
    pub fn as_f64(&self) -> f64 {
        self.nano as f64 / NANO_PER_UNIT as f64
    }

    pub fn is_negative(&self) -> bool {
        self.nano < 0
    }
}

fn saturate_i64(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Quantity, QuantityError> {
        parse_quantity(s)
    }
}

impl fmt::Display for Quantity {
    /// The canonical decimal form Kubernetes prints for a `DecimalSI` quantity.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_canonical(self.nano, -9))
    }
}

/// Renders a milli-value as Kubernetes prints `resource.NewMilliQuantity(v, DecimalSI)`:
/// `360` → `"360m"`, `20_000` → `"20"`, `1_500` → `"1500m"`, `2_000_000` → `"2k"`.
pub fn format_milli(milli: i64) -> String {
    format_canonical(i128::from(milli), -3)
}

/// Canonical DecimalSI rendering of `value * 10^exp`: strip factors of ten, then bring the
/// exponent down to a multiple of three and pick that exponent's suffix.
fn format_canonical(value: i128, exp: i32) -> String {
    if value == 0 {
        return "0".to_string();
    }
    let (mut mantissa, mut exp) = (value, exp);
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exp += 1;
    }
    while exp.rem_euclid(3) != 0 {
        let Some(scaled) = mantissa.checked_mul(10) else {
            return format!("{mantissa}e{exp}");
        };
        mantissa = scaled;
        exp -= 1;
    }
    let suffix = match exp {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => return format!("{mantissa}e{exp}"),
    };
    format!("{mantissa}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `text` and checks its milli-value, or that it fails.
    fn check(text: &str, expect_milli: Option<i128>) {
        let got = parse_quantity(text).map(|q| q.as_milli_i128()).ok();
        assert_eq!(got, expect_milli, "parse_quantity({text:?})");
    }

    #[test]
    fn parses_kubernetes_grammar() {
        let cases: &[(&str, Option<i128>)] = &[
            ("250m", Some(250)),
            ("1", Some(1000)),
            ("0", Some(0)),
            ("0.5", Some(500)),
            (".5", Some(500)),
            ("5.", Some(5000)),
            ("+2", Some(2000)),
            ("-2", Some(-2000)),
            ("-250m", Some(-250)),
            ("1k", Some(1_000_000)),
            ("1M", Some(1_000_000_000)),
            ("1G", Some(1_000_000_000_000)),
            ("1T", Some(1_000_000_000_000_000)),
            ("1P", Some(1_000_000_000_000_000_000)),
            ("1E", Some(1_000_000_000_000_000_000_000)),
            ("1Ki", Some(1_024_000)),
            ("1Mi", Some(1_048_576_000)),
            ("512Mi", Some(536_870_912_000)),
            ("1.5Gi", Some(1_610_612_736_000)),
            ("1Ti", Some(1_099_511_627_776_000)),
            ("1Ei", Some(1_152_921_504_606_846_976_000)),
            ("1e3", Some(1_000_000)),
            ("1E3", Some(1_000_000)),
            ("1e-3", Some(1)),
            ("1.5e+2", Some(150_000)),
            ("100u", Some(1)), // 0.1m rounds up to 1m
            ("1n", Some(1)),
            ("1000n", Some(1)),
            ("1000000n", Some(1)),
            ("2000000n", Some(2)),
            ("0.0001", Some(1)),
            ("1.0000000000000000000000000000000000000000000", Some(1000)),
            ("00012", Some(12_000)),
            ("", None),
            ("250mm", None),
            ("5x", None),
            ("m", None),
            (".", None),
            ("-", None),
            ("+", None),
            ("1..2", None),
            ("1.2.3", None),
            (" 1", None),
            ("1 ", None),
            ("1e", None),
            ("1e+", None),
            ("1ki", None),
            ("1KI", None),
            ("--1", None),
            ("1e3m", None),
            ("99999999999999999999999999999999999999999", None),
            ("1e400", None),
            ("9E", Some(9_000_000_000_000_000_000_000)),
            ("1e-400", Some(1)),
        ];
        for (text, expect) in cases {
            check(text, *expect);
        }
    }

    #[test]
    fn integer_views_round_away_from_zero() {
        let q = parse_quantity("1500m").unwrap();
        assert_eq!(q.as_units(), 2);
        assert_eq!(parse_quantity("-1500m").unwrap().as_units(), -2);
        assert_eq!(parse_quantity("512Mi").unwrap().as_bytes(), 536_870_912);
        assert_eq!(parse_quantity("100E").unwrap().as_milli(), i64::MAX);
        assert_eq!(parse_quantity("100E").unwrap().try_milli(), None);
        assert_eq!(parse_quantity("0.05").unwrap().as_f64(), 0.05);
        assert_eq!(Quantity::from_milli(250), parse_quantity("250m").unwrap());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(parse_quantity(""), Err(QuantityError::Empty));
        assert!(matches!(
            parse_quantity("250mm"),
            Err(QuantityError::Suffix(_))
        ));
        assert!(matches!(
            parse_quantity("5x"),
            Err(QuantityError::Format(_))
        ));
        assert!(matches!(
            parse_quantity("1e400"),
            Err(QuantityError::OutOfRange(_))
        ));
    }

    #[test]
    fn formats_milli_values_canonically() {
        let cases: &[(i64, &str)] = &[
            (0, "0"),
            (360, "360m"),
            (1, "1m"),
            (1_500, "1500m"),
            (20_000, "20"),
            (120_000, "120"),
            (1_000_000, "1k"),
            (2_000_000, "2k"),
            (1_500_000, "1500"),
            (209_715_200_000, "209715200"),
            (-360, "-360m"),
            (10, "10m"),
            (100, "100m"),
            (i64::MAX, "9223372036854775807m"),
        ];
        for (milli, expect) in cases {
            assert_eq!(format_milli(*milli), *expect, "format_milli({milli})");
        }
        assert_eq!(parse_quantity("512Mi").unwrap().to_string(), "536870912");
        assert_eq!(parse_quantity("0.5").unwrap().to_string(), "500m");
    }
}
