//! Click timestamps: the plain RFC 3339 spelling `domain.budgets._plain_timestamp`
//! accepts, read into what the handler needs (the ledger's text and the KST day).
//!
//! Narrower than the Python path on purpose: ASCII digits only, and instants from
//! 1970 to 2099 UTC, where Python's float `timestamp()` still resolves a
//! microsecond, so both paths give the same KST day. Anything else is left to Python.

pub struct Stamp {
    /// `datetime.isoformat()` of the instant, with the offset it came with.
    pub text: String,
    /// The calendar day in Korea (UTC+9), `YYYY-MM-DD`.
    pub day: String,
}

const KST_OFFSET_US: i64 = 9 * 3600 * 1_000_000;
const DAY_US: i64 = 86_400 * 1_000_000;

fn number(bytes: &[u8]) -> Option<i64> {
    let mut n: i64 = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(b - b'0');
    }
    Some(n)
}

/// `n` (0 <= n < 10^width) in exactly `width` decimal digits, as `{n:0width$}`.
fn digits(out: &mut Vec<u8>, n: i64, width: u32) {
    let mut buf = [b'0'; 6];
    let mut rest = n;
    for at in (0..width as usize).rev() {
        buf[at] = b'0' + (rest % 10) as u8; // a constant divisor: no division instruction
        rest /= 10;
    }
    out.extend_from_slice(&buf[..width as usize]);
}

/// `YYYY-MM-DD`.
fn date(out: &mut Vec<u8>, year: i64, month: i64, day: i64) {
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if month <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        month,
        day,
    )
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)`, or None.
pub fn parse(ts: &str) -> Option<Stamp> {
    let b = ts.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(&b[0..4])?, number(&b[5..7])?, number(&b[8..10])?);
    let (hour, minute, second) = (
        number(&b[11..13])?,
        number(&b[14..16])?,
        number(&b[17..19])?,
    );
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 6 {
            return None;
        }
        micros = number(&rest[1..=digits])? * 10_i64.pow(6 - digits as u32);
        rest = &rest[1 + digits..];
    }
    let offset_minutes = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
            if oh > 23 || om > 59 {
                return None;
            }
            if *sign == b'-' {
                -(oh * 60 + om)
            } else {
                oh * 60 + om
            }
        }
        _ => return None,
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_minutes * 60;
    let instant_us = seconds * 1_000_000 + micros;
    // 1970-01-01 to 2099-12-31 UTC (see the module's comment).
    if !(0..4_102_444_800_000_000).contains(&instant_us) {
        return None;
    }
    let (ky, km, kd) = civil_from_days((instant_us + KST_OFFSET_US).div_euclid(DAY_US));
    let mut text = Vec::with_capacity(32);
    date(&mut text, year, month, day);
    text.push(b'T');
    digits(&mut text, hour, 2);
    text.push(b':');
    digits(&mut text, minute, 2);
    text.push(b':');
    digits(&mut text, second, 2);
    if micros != 0 {
        text.push(b'.');
        digits(&mut text, micros, 6);
    }
    text.push(if offset_minutes < 0 { b'-' } else { b'+' });
    let abs = offset_minutes.abs();
    digits(&mut text, abs / 60, 2);
    text.push(b':');
    digits(&mut text, abs % 60, 2);
    let mut kst = Vec::with_capacity(10);
    date(&mut kst, ky, km, kd);
    let ascii = |bytes: Vec<u8>| String::from_utf8(bytes).expect("ASCII digits and signs");
    Some(Stamp {
        text: ascii(text),
        day: ascii(kst),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_and_kst_day() {
        let s = parse("2026-11-24T15:00:00Z").unwrap();
        assert_eq!(
            (s.text.as_str(), s.day.as_str()),
            ("2026-11-24T15:00:00+00:00", "2026-11-25")
        );
        let s = parse("2026-11-24T12:00:00.25-00:00").unwrap();
        assert_eq!(
            (s.text.as_str(), s.day.as_str()),
            ("2026-11-24T12:00:00.250000+00:00", "2026-11-24")
        );
        assert!(parse("2026-02-29T00:00:00Z").is_none());
        assert!(parse("2024-02-29T00:00:00+05:30").is_some());
        assert!(parse("1969-12-31T23:59:59Z").is_none());
    }

    #[test]
    fn digits_pad_as_format_does() {
        for (n, width) in [
            (0, 2),
            (7, 2),
            (59, 2),
            (1970, 4),
            (2099, 4),
            (5, 6),
            (250000, 6),
        ] {
            let mut out = Vec::new();
            digits(&mut out, n, width);
            assert_eq!(out, format!("{n:0w$}", w = width as usize).as_bytes());
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
