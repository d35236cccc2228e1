//! Date formatting and parsing: `$dateToString` (MongoDB's `%` specifiers) and
//! `$dateFromString` (ISO-8601 strings, or a `format` with the same specifiers), plus the ISO
//! parser `$toDate`/`$convert` use for strings. Offsets in strings (`Z`, `+02:00`) win over the
//! `timezone` argument, as in MongoDB.

use bson::Bson;

use super::EvalContext;
use super::date::{
    MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, Parts, civil_from_days, date_ms, days_from_civil,
    days_in_month, tz_arg,
};
use super::operators::{Call, present, show, type_name};
use super::zone::Zone;
use crate::error::{MongoCode, QueryError, Result};

// ---------------------------------------------------------------------------------------------
// $dateToString / $dateFromString.

/// Formats `ms` in a zone with MongoDB's `%` specifiers.
pub(crate) fn format_date(fmt: &str, ms: i64, offset_ms: i64) -> Result<String> {
    let p = Parts::of(ms, offset_ms);
    let mut out = String::new();
    let mut chars = fmt.chars();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let Some(spec) = chars.next() else {
            return Err(QueryError::location(
                18535,
                "Unmatched '%' at end of format string",
            ));
        };
        let off_min = offset_ms / MS_PER_MINUTE;
        let s = match spec {
            'Y' => format!("{:04}", p.year),
            'm' => format!("{:02}", p.month),
            'd' => format!("{:02}", p.day),
            'H' => format!("{:02}", p.hour),
            'M' => format!("{:02}", p.minute),
            'S' => format!("{:02}", p.second),
            'L' => format!("{:03}", p.millis),
            'j' => format!("{:03}", p.yday),
            'w' => format!("{}", p.weekday + 1),
            'u' => format!("{}", p.iso_weekday()),
            'U' => format!("{:02}", p.sunday_week()),
            'V' => format!("{:02}", p.iso_week().1),
            'G' => format!("{:04}", p.iso_week().0),
            'z' => format!(
                "{}{:02}{:02}",
                if off_min < 0 { '-' } else { '+' },
                off_min.abs() / 60,
                off_min.abs() % 60
            ),
            'Z' => format!("{off_min}"),
            'b' => MONTHS[(p.month - 1) as usize][..3].to_string(),
            'B' => MONTHS[(p.month - 1) as usize].to_string(),
            '%' => "%".to_string(),
            other => {
                return Err(QueryError::location(
                    18536,
                    format!("Invalid format character '%{other}' in format string"),
                ));
            }
        };
        out.push_str(&s);
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// MongoDB's default `$dateToString` format.
const DEFAULT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S.%LZ";

pub(super) fn eval_to_string(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let date = present(c.eval_arg(0, ctx)?);
    let format = match c.eval_arg(1, ctx)? {
        None if !c.has(1) => None,
        v => match present(v) {
            None => return Ok(Some(Bson::Null)),
            Some(Bson::String(s)) => Some(s),
            Some(v) => {
                return Err(QueryError::location(
                    18533,
                    format!(
                        "$dateToString requires that 'format' be a string, found: {} with value {}",
                        type_name(&v),
                        show(&v)
                    ),
                ));
            }
        },
    };
    let Some(tz) = tz_arg(c, 2, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(date) = date else {
        return if c.has(3) {
            c.eval_arg(3, ctx)
        } else {
            Ok(Some(Bson::Null))
        };
    };
    let ms = date_ms("$dateToString", &date)?;
    let fmt = format.unwrap_or_else(|| {
        if tz.is_utc() {
            DEFAULT_FORMAT.to_string()
        } else {
            "%Y-%m-%dT%H:%M:%S.%L".to_string()
        }
    });
    Ok(Some(Bson::String(format_date(&fmt, ms, tz.offset_at(ms))?)))
}

/// A parsing cursor over a date string.
struct Cursor<'s> {
    s: &'s [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.i;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn offset(&mut self) -> Option<i64> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let sign = if self.eat(b'+') {
            1
        } else if self.eat(b'-') {
            -1
        } else {
            return None;
        };
        let h = self.digits(2, 2)?;
        self.eat(b':');
        let m = self.digits(0, 2).unwrap_or(0);
        Some(sign * (h * MS_PER_HOUR + m * MS_PER_MINUTE))
    }
}

/// Parsed fields of a date string; unset fields take their defaults.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
    offset: Option<i64>,
}

impl Fields {
    fn instant(&self, zone: &Zone) -> Option<i64> {
        let (y, m, d) = (self.year?, self.month.unwrap_or(1), self.day.unwrap_or(1));
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        if self.hour > 23 || self.minute > 59 || self.second > 59 {
            return None;
        }
        let local = days_from_civil(y, m, d) * MS_PER_DAY
            + self.hour * MS_PER_HOUR
            + self.minute * MS_PER_MINUTE
            + self.second * 1000
            + self.millis;
        Some(match self.offset {
            Some(off) => local - off,
            None => zone.to_utc(local),
        })
    }
}

/// Parses an ISO-8601 date string (`2021-01-05`, `2021-01-05T10:20:30.123Z`,
/// `2021-01-05 10:20:30+02:00`); `zone` applies when the string has no offset.
pub(crate) fn parse_iso(s: &str, zone: &Zone) -> Option<i64> {
    let mut c = Cursor {
        s: s.trim().as_bytes(),
        i: 0,
    };
    let mut f = Fields {
        year: Some(c.digits(4, 4)?),
        ..Fields::default()
    };
    let sep = if c.eat(b'-') {
        Some(b'-')
    } else if c.eat(b'/') {
        Some(b'/')
    } else {
        None
    };
    f.month = Some(c.digits(2, 2)?);
    if let Some(sep) = sep
        && !c.eat(sep)
    {
        return None;
    }
    f.day = Some(c.digits(2, 2)?);
    if c.eat(b'T') || c.eat(b' ') {
        f.hour = c.digits(2, 2)?;
        c.eat(b':');
        f.minute = c.digits(2, 2)?;
        if c.eat(b':') || c.s.get(c.i).is_some_and(u8::is_ascii_digit) {
            f.second = c.digits(2, 2)?;
            if c.eat(b'.') {
                let start = c.i;
                let frac = c.digits(1, 9)?;
                let n = c.i - start;
                f.millis = if n >= 3 {
                    frac / 10i64.pow(u32::try_from(n - 3).ok()?)
                } else {
                    frac * 10i64.pow(u32::try_from(3 - n).ok()?)
                };
            }
        }
    }
    if !c.done() {
        f.offset = Some(c.offset()?);
    }
    if !c.done() {
        return None;
    }
    f.instant(zone)
}

/// Parses `s` with a `%` format (the specifiers of [`format_date`] that carry values).
fn parse_with_format(s: &str, fmt: &str, zone: &Zone) -> Result<Option<i64>> {
    let mut c = Cursor {
        s: s.as_bytes(),
        i: 0,
    };
    let mut f = Fields::default();
    let mut it = fmt.chars();
    while let Some(ch) = it.next() {
        if ch != '%' {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                if !c.eat(b) {
                    return Ok(None);
                }
            }
            continue;
        }
        let spec = it
            .next()
            .ok_or_else(|| QueryError::location(18535, "Unmatched '%' at end of format string"))?;
        let ok = match spec {
            'Y' => c.digits(4, 4).map(|v| f.year = Some(v)),
            'm' => c.digits(1, 2).map(|v| f.month = Some(v)),
            'd' => c.digits(1, 2).map(|v| f.day = Some(v)),
            'H' => c.digits(1, 2).map(|v| f.hour = v),
            'M' => c.digits(1, 2).map(|v| f.minute = v),
            'S' => c.digits(1, 2).map(|v| f.second = v),
            'L' => c.digits(1, 3).map(|v| f.millis = v),
            'j' => c.digits(1, 3).map(|v| {
                f.month = Some(1);
                f.day = Some(v);
            }),
            'z' | 'Z' => c.offset().map(|v| f.offset = Some(v)),
            '%' => c.eat(b'%').then_some(()),
            other => {
                return Err(QueryError::location(
                    18536,
                    format!("Invalid format character '%{other}' in format string"),
                ));
            }
        };
        if ok.is_none() {
            return Ok(None);
        }
    }
    if !c.done() {
        return Ok(None);
    }
    // `%j` sets a day of the year: fold it into a date.
    if let (Some(y), Some(1), Some(d)) = (f.year, f.month, f.day)
        && d > 31
    {
        let (yy, mm, dd) = civil_from_days(days_from_civil(y, 1, 1) + d - 1);
        if yy != y {
            return Ok(None);
        }
        f.month = Some(mm);
        f.day = Some(dd);
    }
    Ok(f.instant(zone))
}

fn conversion_failure(msg: String) -> QueryError {
    QueryError::new(MongoCode::ConversionFailure, msg)
}

pub(super) fn eval_from_string(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let input = present(c.eval_arg(0, ctx)?);
    let format = match present(c.eval_arg(1, ctx)?) {
        None if c.has(1) => return Ok(Some(Bson::Null)),
        None => None,
        Some(Bson::String(s)) => Some(s),
        Some(v) => {
            return Err(QueryError::location(
                40684,
                format!(
                    "$dateFromString requires that 'format' be a string, found: {}",
                    type_name(&v)
                ),
            ));
        }
    };
    let Some(tz) = tz_arg(c, 2, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    let Some(input) = input else {
        return if c.has(4) {
            c.eval_arg(4, ctx)
        } else {
            Ok(Some(Bson::Null))
        };
    };
    let parsed = match &input {
        Bson::String(s) => match &format {
            Some(f) => parse_with_format(s, f, &tz)?,
            None => parse_iso(s, &tz),
        }
        .ok_or_else(|| {
            conversion_failure(format!(
                "Error parsing date string '{s}'{}",
                format
                    .as_ref()
                    .map_or_else(String::new, |f| format!(" with format '{f}'"))
            ))
        }),
        other => Err(conversion_failure(format!(
            "$dateFromString requires that 'dateString' be a string, found: {} with value {}",
            type_name(other),
            show(other)
        ))),
    };
    match parsed {
        Ok(ms) => Ok(Some(Bson::DateTime(bson::DateTime::from_millis(ms)))),
        Err(_) if c.has(3) => c.eval_arg(3, ctx),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_parse() {
        assert_eq!(parse_iso("2021-01-01", &Zone::UTC), Some(1_609_459_200_000));
        assert_eq!(
            parse_iso("2021-01-01T01:00:00+01:00", &Zone::UTC),
            Some(1_609_459_200_000)
        );
        assert_eq!(parse_iso("2021-02-30", &Zone::UTC), None);
    }
}
