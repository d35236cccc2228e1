//! Time zones of the date operators: `"UTC"`/`"GMT"`/`"Z"`, fixed offsets (`"+05:30"`,
//! `"-0800"`, `"+03"`) and IANA names (`"Europe/Paris"`, DST-aware, from the tz database
//! bundled with `jiff`, so results do not depend on the host's zoneinfo).
//!
//! A [`Zone`] maps a UTC instant to its local offset, and a local wall-clock time back to UTC.
//! Wall-clock times that do not exist (spring-forward gaps) or occur twice (fall-back
//! overlaps) resolve "compatibly" (RFC 5545): a gap moves forward by its length, an overlap
//! takes the earlier instant.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::{QueryError, Result};

const MS_PER_DAY: i64 = 86_400_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_MINUTE: i64 = 60_000;

/// A time zone argument.
#[derive(Debug, Clone)]
pub enum Zone {
    /// A fixed offset from UTC in milliseconds (UTC is `Fixed(0)`).
    Fixed(i64),
    /// An IANA time zone.
    Named(TimeZone),
}

impl Zone {
    /// UTC.
    pub const UTC: Zone = Zone::Fixed(0);

    /// Parses a `timezone` argument; error 40485 names an unknown zone.
    pub fn parse(tz: &str) -> Result<Zone> {
        if matches!(tz, "UTC" | "GMT" | "Z") {
            return Ok(Zone::UTC);
        }
        if let Some(off) = parse_offset(tz) {
            return Ok(Zone::Fixed(off));
        }
        if tz.starts_with(['+', '-']) {
            return Err(unknown(tz));
        }
        TimeZone::get(tz).map(Zone::Named).map_err(|_| unknown(tz))
    }

    /// Whether this is UTC (offset zero, not a named zone).
    pub fn is_utc(&self) -> bool {
        matches!(self, Zone::Fixed(0))
    }

    /// The offset (milliseconds, local − UTC) in force at the UTC instant `ms`.
    pub fn offset_at(&self, ms: i64) -> i64 {
        match self {
            Zone::Fixed(off) => *off,
            Zone::Named(tz) => {
                let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
                    Timestamp::MIN
                } else {
                    Timestamp::MAX
                });
                i64::from(tz.to_offset(ts).seconds()) * 1000
            }
        }
    }

    /// The UTC instant of the local wall-clock time `local` (milliseconds since the epoch as
    /// if the wall clock were UTC).
    pub fn to_utc(&self, local: i64) -> i64 {
        match self {
            Zone::Fixed(off) => local.saturating_sub(*off),
            Zone::Named(tz) => {
                let days = local.div_euclid(MS_PER_DAY);
                let rem = local.rem_euclid(MS_PER_DAY);
                let (y, m, d) = super::date::civil_from_days(days);
                let civil = i16::try_from(y).ok().and_then(|y| {
                    jiff::civil::DateTime::new(
                        y,
                        m as i8,
                        d as i8,
                        (rem / MS_PER_HOUR) as i8,
                        (rem / MS_PER_MINUTE % 60) as i8,
                        (rem / 1000 % 60) as i8,
                        (rem % 1000) as i32 * 1_000_000,
                    )
                    .ok()
                });
                match civil.and_then(|dt| tz.to_ambiguous_timestamp(dt).compatible().ok()) {
                    Some(ts) => ts.as_millisecond(),
                    // Outside jiff's range (years ±9999): the offset at that instant.
                    None => local.saturating_sub(self.offset_at(local)),
                }
            }
        }
    }
}

fn unknown(tz: &str) -> QueryError {
    QueryError::location(
        40485,
        format!("unrecognized time zone identifier: \"{tz}\""),
    )
}

/// A fixed offset `±hh`, `±hhmm` or `±hh:mm` in milliseconds.
fn parse_offset(tz: &str) -> Option<i64> {
    let (sign, rest) = match tz.as_bytes().first() {
        Some(b'+') => (1, &tz[1..]),
        Some(b'-') => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if m > 59 {
        return None;
    }
    Some(sign * (h * MS_PER_HOUR + m * MS_PER_MINUTE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_named_zones() {
        assert_eq!(
            Zone::parse("+05:30").ok().map(|z| z.offset_at(0)),
            Some(19_800_000)
        );
        assert_eq!(
            Zone::parse("-0800").ok().map(|z| z.offset_at(0)),
            Some(-28_800_000)
        );
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert!(Zone::parse("+5").is_err());
        let paris = Zone::parse("Europe/Paris").expect("bundled tzdb has Europe/Paris");
        // 2021-01-15 (CET, +1) and 2021-07-15 (CEST, +2).
        assert_eq!(paris.offset_at(1_610_668_800_000), 3_600_000);
        assert_eq!(paris.offset_at(1_626_307_200_000), 7_200_000);
        // Local 2021-07-15T02:00 in Paris is 00:00 UTC.
        assert_eq!(paris.to_utc(1_626_314_400_000), 1_626_307_200_000);
        // 2021-03-28T02:30 does not exist in Paris: it becomes 03:30 CEST (01:30 UTC).
        assert_eq!(paris.to_utc(1_616_898_600_000), 1_616_895_000_000);
        // 2021-10-31T02:30 occurs twice: the earlier one, CEST (00:30 UTC).
        assert_eq!(paris.to_utc(1_635_647_400_000), 1_635_640_200_000);
    }
}
