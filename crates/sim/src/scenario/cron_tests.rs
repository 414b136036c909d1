//! Table tests of the cron parser and `next_after`.

use super::*;

/// Unix seconds of a UTC date and time.
fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60
}

/// `expect`: the next activations after `from`, or the error text.
fn check(spec: &str, from: i64, expect: Result<&[i64], &str>) {
    match (CronSchedule::parse(spec), expect) {
        (Ok(s), Ok(want)) => {
            let mut t = from;
            for w in want {
                let next = s.next_after(t);
                assert_eq!(next, Some(*w), "`{spec}` after {t}");
                t = *w;
            }
        }
        (Err(e), Err(want)) => assert!(e.0.contains(want), "`{spec}`: `{}` lacks `{want}`", e.0),
        (got, want) => panic!("`{spec}`: got {got:?}, want {want:?}"),
    }
}

#[test]
fn civil_round_trip() {
    for days in [-1000, 0, 59, 365, 10_957, 20_000, 60_000] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(civil_from_days(0), (1970, 1, 1));
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
}

#[test]
fn schedules() {
    let t0 = at(2026, 1, 1, 0, 0); // a Thursday
    let table: &[(&str, i64, Result<&[i64], &str>)] = &[
        (
            "0 2 * * *",
            t0,
            Ok(&[at(2026, 1, 1, 2, 0), at(2026, 1, 2, 2, 0)]),
        ),
        (
            "*/15 * * * *",
            t0,
            Ok(&[at(2026, 1, 1, 0, 15), at(2026, 1, 1, 0, 30)]),
        ),
        (
            "5-10/5 1 * * *",
            t0,
            Ok(&[
                at(2026, 1, 1, 1, 5),
                at(2026, 1, 1, 1, 10),
                at(2026, 1, 2, 1, 5),
            ]),
        ),
        (
            "0 9 * * MON-FRI",
            t0,
            Ok(&[
                at(2026, 1, 1, 9, 0),
                at(2026, 1, 2, 9, 0),
                at(2026, 1, 5, 9, 0),
            ]),
        ),
        (
            "0 0 1 jan,Jul ?",
            t0,
            Ok(&[at(2026, 7, 1, 0, 0), at(2027, 1, 1, 0, 0)]),
        ),
        // Both day fields restricted: either may match (the 13th, or any Friday).
        (
            "0 0 13 * 5",
            t0,
            Ok(&[
                at(2026, 1, 2, 0, 0),
                at(2026, 1, 9, 0, 0),
                at(2026, 1, 13, 0, 0),
            ]),
        ),
        // Day-of-week `*`: only the day of month counts.
        (
            "0 0 13 * *",
            t0,
            Ok(&[at(2026, 1, 13, 0, 0), at(2026, 2, 13, 0, 0)]),
        ),
        (
            "30 4 1,15 * *",
            t0,
            Ok(&[at(2026, 1, 1, 4, 30), at(2026, 1, 15, 4, 30)]),
        ),
        ("0 0 29 2 *", t0, Ok(&[at(2028, 2, 29, 0, 0)])),
        (
            "10/20 * * * *",
            t0,
            Ok(&[
                at(2026, 1, 1, 0, 10),
                at(2026, 1, 1, 0, 30),
                at(2026, 1, 1, 0, 50),
            ]),
        ),
        (
            "@hourly",
            t0,
            Ok(&[at(2026, 1, 1, 1, 0), at(2026, 1, 1, 2, 0)]),
        ),
        ("@daily", t0 + 1, Ok(&[at(2026, 1, 2, 0, 0)])),
        ("@midnight", t0, Ok(&[at(2026, 1, 2, 0, 0)])),
        ("@weekly", t0, Ok(&[at(2026, 1, 4, 0, 0)])),
        ("@monthly", t0, Ok(&[at(2026, 2, 1, 0, 0)])),
        ("@yearly", t0, Ok(&[at(2027, 1, 1, 0, 0)])),
        ("@annually", t0, Ok(&[at(2027, 1, 1, 0, 0)])),
        ("@every 90m", t0, Ok(&[t0 + 5400, t0 + 10_800])),
        (
            "61 * * * *",
            t0,
            Err("minute field `61`: value 61 above maximum 59"),
        ),
        ("* 24 * * *", t0, Err("hour field `24`")),
        (
            "* * 0 * *",
            t0,
            Err("day-of-month field `0`: value 0 below minimum 1"),
        ),
        ("* * * 13 *", t0, Err("month field `13`")),
        ("* * * * 7", t0, Err("day-of-week field `7`")),
        (
            "* * * FOO *",
            t0,
            Err("month field `FOO`: `FOO` is not a number or a valid name"),
        ),
        ("*/0 * * * *", t0, Err("step must be a positive number")),
        (
            "30-10 * * * *",
            t0,
            Err("beginning of range (30) beyond end of range (10)"),
        ),
        ("* * * *", t0, Err("expected exactly 5 fields")),
        ("* * * * * *", t0, Err("found 6")),
        ("", t0, Err("found 0")),
        ("@fortnightly", t0, Err("unrecognized descriptor")),
        (
            "CRON_TZ=UTC 0 2 * * *",
            t0,
            Err("cannot use TZ or CRON_TZ in schedule"),
        ),
        (
            "TZ=Europe/Paris 0 2 * * *",
            t0,
            Err("use timeZone field instead"),
        ),
    ];
    for (spec, from, expect) in table {
        check(spec, *from, *expect);
    }
}

#[test]
fn never_firing_schedule_gives_none() {
    let s = CronSchedule::parse("0 0 30 2 *").unwrap();
    assert_eq!(s.next_after(0), None);
}
