//! Date operators: `$year $month $dayOfMonth $dayOfWeek $dayOfYear $hour $minute $second
//! $millisecond $week $isoWeek $isoWeekYear $isoDayOfWeek $dateAdd $dateSubtract $dateDiff
//! $dateTrunc $dateToString $dateFromString $dateToParts $dateFromParts $tsSecond
//! $tsIncrement` (`$toDate` is in `types.rs`, formatting and parsing in `date_format.rs`).
//!
//! Dates are UTC milliseconds (`bson::DateTime`); civil dates use the proleptic Gregorian
//! calendar with hand-rolled arithmetic. Time zones ([`super::zone`]): `"UTC"`, fixed offsets
//! and IANA names (DST-aware); units of a day and more are calendar units in the zone.
//! Date-like inputs accepted where MongoDB accepts them: dates, timestamps and ObjectIds.

use bson::{Bson, Document};

use super::num::Num;
use super::operators::{Call, OpFn, named, named_slots, present, show, type_name};
use super::zone::Zone;
use super::{EvalContext, ParseOptions};
use crate::error::{MongoCode, QueryError, Result};

/// Milliseconds per day.
pub(crate) const MS_PER_DAY: i64 = 86_400_000;
pub(super) const MS_PER_HOUR: i64 = 3_600_000;
pub(super) const MS_PER_MINUTE: i64 = 60_000;

/// Parses a date operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    const PART_NAMES: &[&str] = &[
        "$year",
        "$month",
        "$dayOfMonth",
        "$dayOfWeek",
        "$dayOfYear",
        "$hour",
        "$minute",
        "$second",
        "$millisecond",
        "$week",
        "$isoWeek",
        "$isoWeekYear",
        "$isoDayOfWeek",
    ];
    if let Some(n) = PART_NAMES.iter().find(|n| **n == name) {
        return parse_part(n, arg, opts, depth).map(Some);
    }
    let call = match name {
        "$dateToString" => named(
            "$dateToString",
            arg,
            opts,
            depth,
            &["date", "format", "timezone", "onNull"],
            &["date"],
            super::date_format::eval_to_string,
        )?,
        "$dateFromString" => named(
            "$dateFromString",
            arg,
            opts,
            depth,
            &["dateString", "format", "timezone", "onError", "onNull"],
            &["dateString"],
            super::date_format::eval_from_string,
        )?,
        "$dateToParts" => named(
            "$dateToParts",
            arg,
            opts,
            depth,
            &["date", "timezone", "iso8601"],
            &["date"],
            eval_to_parts,
        )?,
        "$dateFromParts" => named(
            "$dateFromParts",
            arg,
            opts,
            depth,
            &FROM_PARTS_FIELDS,
            &[],
            eval_from_parts,
        )?,
        "$dateAdd" | "$dateSubtract" => {
            let n: &'static str = if name == "$dateAdd" {
                "$dateAdd"
            } else {
                "$dateSubtract"
            };
            let f: &[&str] = &["startDate", "unit", "amount", "timezone"];
            named(n, arg, opts, depth, f, &f[..3], eval_add)?
        }
        "$dateTrunc" => {
            let f: &[&str] = &["date", "unit", "binSize", "timezone", "startOfWeek"];
            named("$dateTrunc", arg, opts, depth, f, &f[..2], eval_trunc)?
        }
        "$tsSecond" => super::operators::fixed("$tsSecond", arg, opts, depth, 1, 1, eval_ts)?,
        "$tsIncrement" => super::operators::fixed("$tsIncrement", arg, opts, depth, 1, 1, eval_ts)?,
        "$dateDiff" => {
            let f: &[&str] = &["startDate", "endDate", "unit", "timezone", "startOfWeek"];
            named("$dateDiff", arg, opts, depth, f, &f[..3], eval_diff)?
        }
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// `$year`-style operators take a date, `[date]` or `{date, timezone}`; slots `[date, tz]`.
fn parse_part(name: &'static str, arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Call> {
    let func: OpFn = eval_part;
    match arg {
        Bson::Document(d) if d.keys().next().is_some_and(|k| !k.starts_with('$')) => {
            let args = named_slots(name, d, opts, depth, &["date", "timezone"], &["date"])?;
            Ok(Call {
                name,
                args,
                names: Vec::new(),
                func,
            })
        }
        _ => {
            let mut c = super::operators::fixed(name, arg, opts, depth, 1, 1, func)?;
            c.args.push(None);
            Ok(c)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Civil-date arithmetic.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` of a day number since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub(super) fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// The broken-down local time of an instant.
#[derive(Debug, Clone, Copy)]
pub(super) struct Parts {
    pub(super) year: i64,
    pub(super) month: i64,
    pub(super) day: i64,
    pub(super) hour: i64,
    pub(super) minute: i64,
    pub(super) second: i64,
    pub(super) millis: i64,
    /// Days since the epoch (local).
    pub(super) days: i64,
    /// 0 = Sunday … 6 = Saturday.
    pub(super) weekday: i64,
    /// 1-based day of the year.
    pub(super) yday: i64,
}

impl Parts {
    pub(super) fn of(ms: i64, offset_ms: i64) -> Parts {
        let local = ms.saturating_add(offset_ms);
        let days = local.div_euclid(MS_PER_DAY);
        let rem = local.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: rem / MS_PER_HOUR,
            minute: rem / MS_PER_MINUTE % 60,
            second: rem / 1000 % 60,
            millis: rem % 1000,
            days,
            weekday: (days + 4).rem_euclid(7),
            yday: days - days_from_civil(year, 1, 1) + 1,
        }
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub(super) fn iso_weekday(&self) -> i64 {
        if self.weekday == 0 { 7 } else { self.weekday }
    }

    /// `(isoWeekYear, isoWeek)`.
    pub(super) fn iso_week(&self) -> (i64, i64) {
        let thursday = self.days - self.iso_weekday() + 4;
        let (y, _, _) = civil_from_days(thursday);
        let week = (thursday - days_from_civil(y, 1, 1)) / 7 + 1;
        (y, week)
    }

    /// Week of the year with weeks starting on Sunday (`%U`): 0 before the first Sunday.
    pub(super) fn sunday_week(&self) -> i64 {
        (self.yday - 1 + 7 - self.weekday) / 7
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a UTC instant in milliseconds.
pub(crate) fn format_iso(ms: i64) -> String {
    let p = Parts::of(ms, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

// ---------------------------------------------------------------------------------------------
// Argument helpers.

/// Evaluates the optional timezone slot: `Ok(None)` if it evaluated to null (result null).
pub(super) fn tz_arg(c: &Call, i: usize, ctx: &mut EvalContext<'_>) -> Result<Option<Zone>> {
    if !c.has(i) {
        return Ok(Some(Zone::UTC));
    }
    match present(c.eval_arg(i, ctx)?) {
        None => Ok(None),
        Some(Bson::String(s)) => Zone::parse(&s).map(Some),
        Some(v) => Err(QueryError::location(
            40517,
            format!(
                "timezone must evaluate to a string, found {}",
                type_name(&v)
            ),
        )),
    }
}

/// The instant of a date-like value (date, timestamp, ObjectId), or error 16006.
pub(crate) fn date_ms(op: &str, v: &Bson) -> Result<i64> {
    match v {
        Bson::DateTime(d) => Ok(d.timestamp_millis()),
        Bson::Timestamp(t) => Ok(i64::from(t.time) * 1000),
        Bson::ObjectId(o) => Ok(o.timestamp().timestamp_millis()),
        other => Err(QueryError::location(
            16006,
            format!(
                "{op}: can't convert from BSON type {} to Date",
                type_name(other)
            ),
        )),
    }
}

fn int32(i: i64) -> Bson {
    Num::narrow(i).to_bson()
}

fn eval_part(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let Some(date) = present(c.eval_arg(0, ctx)?) else {
        return Ok(Some(Bson::Null));
    };
    let Some(tz) = tz_arg(c, 1, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    let ms = date_ms(c.name, &date)?;
    let p = Parts::of(ms, tz.offset_at(ms));
    let v = match c.name {
        "$year" => p.year,
        "$month" => p.month,
        "$dayOfMonth" => p.day,
        "$dayOfWeek" => p.weekday + 1,
        "$dayOfYear" => p.yday,
        "$hour" => p.hour,
        "$minute" => p.minute,
        "$second" => p.second,
        "$millisecond" => p.millis,
        "$week" => p.sunday_week(),
        "$isoWeek" => p.iso_week().1,
        "$isoWeekYear" => p.iso_week().0,
        _ => p.iso_weekday(),
    };
    Ok(Some(int32(v)))
}

// ---------------------------------------------------------------------------------------------
// $dateToParts / $dateFromParts.

fn eval_to_parts(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let Some(date) = present(c.eval_arg(0, ctx)?) else {
        return Ok(Some(Bson::Null));
    };
    let Some(tz) = tz_arg(c, 1, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    let iso = match present(c.eval_arg(2, ctx)?) {
        None => false,
        Some(Bson::Boolean(b)) => b,
        Some(v) => {
            return Err(QueryError::location(
                40521,
                format!("iso8601 must evaluate to a bool, found {}", type_name(&v)),
            ));
        }
    };
    let ms = date_ms("$dateToParts", &date)?;
    let p = Parts::of(ms, tz.offset_at(ms));
    let mut d = Document::new();
    if iso {
        let (wy, w) = p.iso_week();
        d.insert("isoWeekYear", int32(wy));
        d.insert("isoWeek", int32(w));
        d.insert("isoDayOfWeek", int32(p.iso_weekday()));
    } else {
        d.insert("year", int32(p.year));
        d.insert("month", int32(p.month));
        d.insert("day", int32(p.day));
    }
    d.insert("hour", int32(p.hour));
    d.insert("minute", int32(p.minute));
    d.insert("second", int32(p.second));
    d.insert("millisecond", int32(p.millis));
    Ok(Some(Bson::Document(d)))
}

const FROM_PARTS_FIELDS: [&str; 11] = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "millisecond",
    "timezone",
    "isoWeekYear",
    "isoWeek",
    "isoDayOfWeek",
];

fn eval_from_parts(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let iso = c.has(8);
    if c.has(0) == iso {
        return Err(QueryError::location(
            40516,
            "$dateFromParts requires either 'year' or 'isoWeekYear' to be specified (but not both)",
        ));
    }
    if iso && (c.has(1) || c.has(2)) {
        return Err(QueryError::location(
            40489,
            "$dateFromParts does not allow mixing natural dates with ISO dates",
        ));
    }
    let Some(tz) = tz_arg(c, 7, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    // Slot, default, allowed range (MongoDB's).
    let specs: [(usize, i64, i64, i64); 10] = [
        (0, 1970, 1, 9999),
        (1, 1, -32768, 32767),
        (2, 1, -32768, 32767),
        (3, 0, -32768, 32767),
        (4, 0, -32768, 32767),
        (5, 0, -32768, 32767),
        (6, 0, -32768, 32767),
        (8, 1970, 1, 9999),
        (9, 1, -32768, 32767),
        (10, 1, -32768, 32767),
    ];
    let mut vals = [0i64; 11];
    for (slot, default, lo, hi) in specs {
        vals[slot] = default;
        if !c.has(slot) {
            continue;
        }
        let Some(v) = present(c.eval_arg(slot, ctx)?) else {
            return Ok(Some(Bson::Null));
        };
        let field = FROM_PARTS_FIELDS[slot];
        let n = Num::of(&v).and_then(Num::exact_i64).ok_or_else(|| {
            QueryError::location(
                40515,
                format!(
                    "'{field}' must evaluate to an integer, found {} with value {}",
                    type_name(&v),
                    show(&v)
                ),
            )
        })?;
        if !(lo..=hi).contains(&n) {
            return Err(QueryError::location(
                if slot == 0 || slot == 8 { 40523 } else { 31034 },
                format!(
                    "'{field}' must evaluate to a value in the range [{lo}, {hi}]; value {n} is not in range"
                ),
            ));
        }
        vals[slot] = n;
    }
    let days = if iso {
        // Monday of ISO week 1 is the Monday on or before January 4th.
        let jan4 = days_from_civil(vals[8], 1, 4);
        let wd = (jan4 + 3).rem_euclid(7); // 0 = Monday
        jan4 - wd + (vals[9] - 1) * 7 + (vals[10] - 1)
    } else {
        let months = vals[0] * 12 + (vals[1] - 1);
        let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
        days_from_civil(y, m, 1) + vals[2] - 1
    };
    let local = days * MS_PER_DAY
        + vals[3] * MS_PER_HOUR
        + vals[4] * MS_PER_MINUTE
        + vals[5] * 1000
        + vals[6];
    Ok(Some(Bson::DateTime(bson::DateTime::from_millis(
        tz.to_utc(local),
    ))))
}

// ---------------------------------------------------------------------------------------------
// $dateAdd / $dateSubtract / $dateDiff.

/// Calendar units of `$dateAdd`/`$dateDiff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

fn unit_arg(c: &Call, i: usize, ctx: &mut EvalContext<'_>) -> Result<Option<Unit>> {
    let Some(v) = present(c.eval_arg(i, ctx)?) else {
        return Ok(None);
    };
    let unit = match &v {
        Bson::String(s) => match s.as_str() {
            "year" => Some(Unit::Year),
            "quarter" => Some(Unit::Quarter),
            "month" => Some(Unit::Month),
            "week" => Some(Unit::Week),
            "day" => Some(Unit::Day),
            "hour" => Some(Unit::Hour),
            "minute" => Some(Unit::Minute),
            "second" => Some(Unit::Second),
            "millisecond" => Some(Unit::Millisecond),
            _ => None,
        },
        _ => None,
    };
    unit.map(Some).ok_or_else(|| {
        QueryError::location(
            5439014,
            format!("{}: unknown time unit value: {}", c.name, show(&v)),
        )
    })
}

/// `ms` plus `amount` units in a zone; months clamp the day to the month's end.
fn add_units(ms: i64, unit: Unit, amount: i64, tz: &Zone, op: &str) -> Result<i64> {
    let overflow = || QueryError::new(MongoCode::Overflow, format!("{op}: date overflow"));
    let fixed = |unit_ms: i64| {
        amount
            .checked_mul(unit_ms)
            .and_then(|d| ms.checked_add(d))
            .ok_or_else(overflow)
    };
    match unit {
        Unit::Millisecond => fixed(1),
        Unit::Second => fixed(1000),
        Unit::Minute => fixed(MS_PER_MINUTE),
        Unit::Hour => fixed(MS_PER_HOUR),
        // Days and weeks are calendar days in the zone (23 or 25 hours across DST changes).
        Unit::Day | Unit::Week if matches!(tz, Zone::Named(_)) => {
            let days = if unit == Unit::Week {
                amount.checked_mul(7).ok_or_else(overflow)?
            } else {
                amount
            };
            let local = ms.saturating_add(tz.offset_at(ms));
            days.checked_mul(MS_PER_DAY)
                .and_then(|d| local.checked_add(d))
                .map(|l| tz.to_utc(l))
                .ok_or_else(overflow)
        }
        Unit::Day => fixed(MS_PER_DAY),
        Unit::Week => fixed(7 * MS_PER_DAY),
        Unit::Year | Unit::Quarter | Unit::Month => {
            let per = match unit {
                Unit::Year => 12,
                Unit::Quarter => 3,
                _ => 1,
            };
            let months = amount.checked_mul(per).ok_or_else(overflow)?;
            if months.abs() > 12 * 300_000 {
                return Err(overflow());
            }
            let off = tz.offset_at(ms);
            let p = Parts::of(ms, off);
            let total = p.year * 12 + (p.month - 1) + months;
            let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
            let d = p.day.min(days_in_month(y, m));
            let time = ms.saturating_add(off).rem_euclid(MS_PER_DAY);
            days_from_civil(y, m, d)
                .checked_mul(MS_PER_DAY)
                .and_then(|x| x.checked_add(time))
                .map(|l| tz.to_utc(l))
                .ok_or_else(overflow)
        }
    }
}

fn eval_add(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let start = present(c.eval_arg(0, ctx)?);
    let unit = unit_arg(c, 1, ctx)?;
    let amount = present(c.eval_arg(2, ctx)?);
    let tz = tz_arg(c, 3, ctx)?;
    let (Some(start), Some(unit), Some(amount), Some(tz)) = (start, unit, amount, tz) else {
        return Ok(Some(Bson::Null));
    };
    let ms = date_ms(c.name, &start)?;
    let n = Num::of(&amount).and_then(Num::exact_i64).ok_or_else(|| {
        QueryError::location(
            5166405,
            format!(
                "{} expects integer amount of time units, found {}",
                c.name,
                show(&amount)
            ),
        )
    })?;
    let n = if c.name == "$dateSubtract" {
        n.checked_neg()
            .ok_or_else(|| QueryError::new(MongoCode::Overflow, "$dateSubtract: overflow"))?
    } else {
        n
    };
    let out = add_units(ms, unit, n, &tz, c.name)?;
    Ok(Some(Bson::DateTime(bson::DateTime::from_millis(out))))
}

/// The `startOfWeek` slot as a weekday (0 = Sunday); Sunday when absent, `None` when null.
fn start_of_week_arg(c: &Call, i: usize, ctx: &mut EvalContext<'_>) -> Result<Option<i64>> {
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    const LONG: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    match present(c.eval_arg(i, ctx)?) {
        None if c.has(i) => Ok(None),
        None => Ok(Some(0)),
        Some(Bson::String(s)) => {
            let l = s.to_ascii_lowercase();
            let pos = DAYS
                .iter()
                .position(|d| *d == l)
                .or_else(|| LONG.iter().position(|d| *d == l));
            match pos {
                Some(p) => Ok(Some(i64::try_from(p).unwrap_or(0))),
                None => Err(QueryError::location(
                    5439015,
                    format!("{}: unknown startOfWeek value: {s}", c.name),
                )),
            }
        }
        Some(v) => Err(QueryError::location(
            5439016,
            format!(
                "{} requires 'startOfWeek' to be a string, found: {}",
                c.name,
                type_name(&v)
            ),
        )),
    }
}

fn eval_diff(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let start = present(c.eval_arg(0, ctx)?);
    let end = present(c.eval_arg(1, ctx)?);
    let unit = unit_arg(c, 2, ctx)?;
    let tz = tz_arg(c, 3, ctx)?;
    let Some(start_of_week) = start_of_week_arg(c, 4, ctx)? else {
        return Ok(Some(Bson::Null));
    };
    let (Some(start), Some(end), Some(unit), Some(tz)) = (start, end, unit, tz) else {
        return Ok(Some(Bson::Null));
    };
    let (a, b) = (date_ms(c.name, &start)?, date_ms(c.name, &end)?);
    let (oa, ob) = (tz.offset_at(a), tz.offset_at(b));
    let (pa, pb) = (Parts::of(a, oa), Parts::of(b, ob));
    let floor_diff = |unit_ms: i64| {
        b.saturating_add(ob).div_euclid(unit_ms) - a.saturating_add(oa).div_euclid(unit_ms)
    };
    let r = match unit {
        Unit::Year => pb.year - pa.year,
        Unit::Quarter => (pb.year * 4 + (pb.month - 1) / 3) - (pa.year * 4 + (pa.month - 1) / 3),
        Unit::Month => (pb.year * 12 + pb.month) - (pa.year * 12 + pa.month),
        Unit::Week => {
            // Day 0 (1970-01-01) was a Thursday (weekday 4).
            let week = |days: i64| (days - (start_of_week - 4)).div_euclid(7);
            week(pb.days) - week(pa.days)
        }
        Unit::Day => pb.days - pa.days,
        Unit::Hour => floor_diff(MS_PER_HOUR),
        Unit::Minute => floor_diff(MS_PER_MINUTE),
        Unit::Second => floor_diff(1000),
        Unit::Millisecond => b
            .checked_sub(a)
            .ok_or_else(|| QueryError::new(MongoCode::Overflow, "$dateDiff: overflow"))?,
    };
    Ok(Some(Bson::Int64(r)))
}

/// `$dateTrunc`: the start of the `binSize`-unit bin containing the date, bins counted from
/// 2000-01-01T00:00 in the zone (weeks from the `startOfWeek` day on or before it).
fn eval_trunc(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let date = present(c.eval_arg(0, ctx)?);
    let unit = unit_arg(c, 1, ctx)?;
    let bin = if c.has(2) {
        match present(c.eval_arg(2, ctx)?) {
            None => return Ok(Some(Bson::Null)),
            Some(v) => match Num::of(&v).and_then(Num::exact_i64).filter(|b| *b > 0) {
                Some(b) => b,
                None => {
                    return Err(QueryError::location(
                        5439017,
                        format!(
                            "$dateTrunc requires 'binSize' to be a positive 64-bit integer, found: {}",
                            show(&v)
                        ),
                    ));
                }
            },
        }
    } else {
        1
    };
    let tz = tz_arg(c, 3, ctx)?;
    let sow = start_of_week_arg(c, 4, ctx)?;
    let (Some(date), Some(unit), Some(tz), Some(sow)) = (date, unit, tz, sow) else {
        return Ok(Some(Bson::Null));
    };
    let ms = date_ms(c.name, &date)?;
    let off = tz.offset_at(ms);
    let local = ms.saturating_add(off);
    let overflow = || QueryError::new(MongoCode::Overflow, "$dateTrunc: date overflow");
    let ref_days = days_from_civil(2000, 1, 1);
    let floor_bin = |x: i64, origin: i64, width: i64| -> Option<i64> {
        let k = x.checked_sub(origin)?.div_euclid(width);
        origin.checked_add(k.checked_mul(width)?)
    };
    let out_local = match unit {
        Unit::Year | Unit::Quarter | Unit::Month => {
            let per = match unit {
                Unit::Year => 12,
                Unit::Quarter => 3,
                _ => 1,
            };
            let p = Parts::of(ms, off);
            let months = (p.year - 2000) * 12 + (p.month - 1);
            let width = bin.checked_mul(per).ok_or_else(overflow)?;
            let t = floor_bin(months, 0, width).ok_or_else(overflow)?;
            days_from_civil(2000 + t.div_euclid(12), t.rem_euclid(12) + 1, 1)
                .checked_mul(MS_PER_DAY)
                .ok_or_else(overflow)?
        }
        Unit::Week => {
            // 1970-01-01 (day 0) was a Thursday: weekday 4 with 0 = Sunday.
            let ref_weekday = (ref_days + 4).rem_euclid(7);
            let origin = ref_days - (ref_weekday - sow).rem_euclid(7);
            let width = bin.checked_mul(7).ok_or_else(overflow)?;
            floor_bin(local.div_euclid(MS_PER_DAY), origin, width)
                .and_then(|d| d.checked_mul(MS_PER_DAY))
                .ok_or_else(overflow)?
        }
        other => {
            let unit_ms = match other {
                Unit::Day => MS_PER_DAY,
                Unit::Hour => MS_PER_HOUR,
                Unit::Minute => MS_PER_MINUTE,
                Unit::Second => 1000,
                _ => 1,
            };
            let width = bin.checked_mul(unit_ms).ok_or_else(overflow)?;
            floor_bin(local, ref_days * MS_PER_DAY, width).ok_or_else(overflow)?
        }
    };
    Ok(Some(Bson::DateTime(bson::DateTime::from_millis(
        tz.to_utc(out_local),
    ))))
}

/// `$tsSecond` / `$tsIncrement`: the parts of a BSON timestamp, as longs.
fn eval_ts(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match present(c.eval_arg(0, ctx)?) {
        None => Ok(Some(Bson::Null)),
        Some(Bson::Timestamp(t)) => Ok(Some(Bson::Int64(i64::from(if c.name == "$tsSecond" {
            t.time
        } else {
            t.increment
        })))),
        Some(v) => Err(QueryError::location(
            5687301,
            format!(
                "{} requires a timestamp argument, found: {}",
                c.name,
                type_name(&v)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 59, 11_016, 18_628, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(format_iso(1_609_459_200_123), "2021-01-01T00:00:00.123Z");
        assert_eq!(format_iso(-1), "1969-12-31T23:59:59.999Z");
    }
}
