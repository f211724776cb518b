//! Timestamps as microseconds since the Unix epoch (UTC), parsed from and written as ISO-8601.
//!
//! Hand-written rather than pulled from a date crate: the wire only carries ISO-8601 (with `Z`,
//! an offset, or naive = UTC as stemtrace 0.4.x writes) or epoch seconds, and this is on the
//! ingest hot path.

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

use std::cell::Cell;

const MICROS_PER_SEC: i64 = 1_000_000;

/// Parse an ISO-8601 date or date-time; naive times are UTC. Returns `None` for anything else.
pub fn parse_iso(s: &str) -> Option<Micros> {
    parse_utc_micros(s.as_bytes()).or_else(|| parse_any_iso(s))
}

/// The form nearly every event carries, `YYYY-MM-DDTHH:MM:SS.ffffff` then `Z` or `+00:00`, read
/// at fixed places (a fraction of the general parser's cost, paid on every event); `None`
/// sends anything else to [`parse_any_iso`], which reads this form to the same value.
fn parse_utc_micros(b: &[u8]) -> Option<Micros> {
    if !matches!(b.len(), 27 | 32) || !matches!(&b[26..], b"Z" | b"+00:00") || b[16] != b':' || b[19] != b'.' {
        return None;
    }
    let (second, micros) = (digits(&b[17..19])?, digits(&b[20..26])?);
    if second > 60 {
        return None;
    }
    Some(minute_start(b[..16].try_into().expect("16 bytes"))? + second * MICROS_PER_SEC + micros)
}

thread_local! {
    /// The last minute read (`YYYY-MM-DDTHH:MM`, as one word) and when it starts. Events arrive
    /// roughly in time order, so nearly every one shares its minute with the one before, and
    /// reading the date and time again cost ~110 instructions per event (bench/RESULTS-engine.md).
    static LAST_MINUTE: Cell<(u128, Micros)> = const { Cell::new((0, 0)) };
}

/// When the minute written `YYYY-MM-DDTHH:MM` starts.
fn minute_start(text: &[u8; 16]) -> Option<Micros> {
    let word = u128::from_le_bytes(*text);
    let (last, start) = LAST_MINUTE.get();
    if word == last {
        return Some(start);
    }
    if text[4] != b'-' || text[7] != b'-' || text[10] != b'T' || text[13] != b':' {
        return None;
    }
    let (year, month, day) = (digits(&text[0..4])?, digits(&text[5..7])?, digits(&text[8..10])?);
    let (hour, minute) = (digits(&text[11..13])?, digits(&text[14..16])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let start = (days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60) * MICROS_PER_SEC;
    LAST_MINUTE.set((word, start));
    Some(start)
}

fn parse_any_iso(s: &str) -> Option<Micros> {
    let b = s.trim().as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut micros = 0i64;
    let mut rest = &b[10..];
    if !rest.is_empty() {
        if !(rest[0] == b'T' || rest[0] == b't' || rest[0] == b' ') || rest.len() < 6 || rest[3] != b':' {
            return None;
        }
        let hour = digits(&rest[1..3])?;
        let minute = digits(&rest[4..6])?;
        let mut second = 0;
        rest = &rest[6..];
        if rest.first() == Some(&b':') {
            second = digits(rest.get(1..3)?)?;
            rest = &rest[3..];
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        secs += hour * 3600 + minute * 60 + second;
        if let Some(b'.' | b',') = rest.first() {
            let frac_len = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if frac_len == 0 {
                return None;
            }
            let frac = &rest[1..=frac_len];
            let mut scale = 100_000;
            for &c in frac.iter().take(6) {
                micros += i64::from(c - b'0') * scale;
                scale /= 10;
            }
            rest = &rest[1 + frac_len..];
        }
        match rest {
            [] | [b'Z' | b'z'] => {}
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
                let offset = digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60;
                secs -= if *sign == b'+' { offset } else { -offset };
            }
            [sign @ (b'+' | b'-'), h1, h2] => {
                let offset = digits(&[*h1, *h2])? * 3600;
                secs -= if *sign == b'+' { offset } else { -offset };
            }
            _ => return None,
        }
    }
    Some(secs * MICROS_PER_SEC + micros)
}

/// Epoch seconds (as Celery's own events carry them) to micros; `None` when not finite or absurd.
pub fn from_epoch_seconds(value: f64) -> Option<Micros> {
    (value.is_finite() && value.abs() < 1e11).then(|| (value * 1e6).round() as i64)
}

/// Write `2024-05-01T12:00:00.123456Z`.
pub fn write_iso(out: &mut Vec<u8>, t: Micros) {
    let secs = t.div_euclid(MICROS_PER_SEC);
    let micros = t.rem_euclid(MICROS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        // Outside four-digit years (never on the wire, but representable): the slow general form.
        let text = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", sod / 3600, (sod % 3600) / 60, sod % 60);
        return out.extend_from_slice(text.as_bytes());
    }
    // Written by hand: this runs for every timestamp of every response and live update.
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for c in text[at..at + width].iter_mut().rev() {
            *c = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, (sod % 3600) / 60);
    put(17, 2, sod % 60);
    put(20, 6, micros);
    out.extend_from_slice(&text);
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

// Howard Hinnant's days-from-civil algorithm (public domain), proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(t: Micros) -> String {
        let mut v = Vec::new();
        write_iso(&mut v, t);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn round_trips_utc() {
        let t = parse_iso("2024-02-29T23:59:58.123456Z").unwrap();
        assert_eq!(iso(t), "2024-02-29T23:59:58.123456Z");
    }

    #[test]
    fn naive_is_utc_and_offsets_apply() {
        let z = parse_iso("2025-01-01T10:00:00Z").unwrap();
        assert_eq!(parse_iso("2025-01-01T10:00:00"), Some(z));
        assert_eq!(parse_iso("2025-01-01T12:00:00+02:00"), Some(z));
        assert_eq!(parse_iso("2025-01-01T05:00:00-0500"), Some(z));
        assert_eq!(parse_iso("2025-01-01 10:00:00.000+00:00"), Some(z));
    }

    #[test]
    fn dates_and_epoch() {
        assert_eq!(parse_iso("1970-01-02"), Some(86_400_000_000));
        assert_eq!(from_epoch_seconds(1.5), Some(1_500_000));
        assert_eq!(from_epoch_seconds(f64::NAN), None);
    }

    proptest::proptest! {
        /// The fixed-place reader and the general one agree on strings of the form's shape, in
        /// and out of range.
        #[test]
        fn the_common_form_reads_as_the_general_parser_reads_it(
            s in "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9]\\.[0-9]{6}(Z|\\+00:00|-00:00|\\+01:00)",
        ) {
            proptest::prop_assert_eq!(parse_iso(&s), parse_any_iso(&s));
        }

        /// And when the minute is the one read just before, valid or not.
        #[test]
        fn a_repeated_minute_reads_as_the_general_parser_reads_it(
            minute in "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]",
            ends in proptest::collection::vec(":[0-6][0-9]\\.[0-9]{6}(Z|\\+00:00)|:6x\\.000000Z|\\.[0-9]{6}Z", 2..5),
        ) {
            for end in ends {
                let s = format!("{minute}{end}");
                proptest::prop_assert_eq!(parse_iso(&s), parse_any_iso(&s), "{}", s);
            }
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in ["", "yesterday", "2024-13-01", "2024-01-01T25:00:00", "2024-01-01T10:00:00Zjunk", "2024-01-01T1"] {
            assert_eq!(parse_iso(s), None, "{s}");
        }
    }
}
