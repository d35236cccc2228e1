//! String operators: `$concat $substr $substrBytes $substrCP $toLower $toUpper $trim $ltrim
//! $rtrim $split $strLenCP $strLenBytes $strcasecmp $indexOfCP $indexOfBytes $regexMatch
//! $regexFind $regexFindAll $replaceOne $replaceAll`.
//!
//! Byte-based operators (`$substrBytes`, `$indexOfBytes`, `$strLenBytes`) count UTF-8 bytes and
//! refuse ranges that split a character; `…CP` operators count Unicode code points. Case
//! mapping is ASCII-only, as in MongoDB. Regular expressions use the `regex` crate (close to
//! PCRE for common patterns; look-around and back-references are refused with error 51111).

use std::cell::RefCell;
use std::collections::HashMap;

use bson::Bson;
use regex::Regex;

use super::num::Num;
use super::operators::{
    Call, check_array_len, check_string_len, fixed, named, present, show, type_name, type_name_opt,
};
use super::{EvalContext, ParseOptions};
use crate::error::{QueryError, Result};

/// Maximum length of a regular expression pattern (MongoDB's PCRE limit is 16 KiB).
pub const MAX_REGEX_LENGTH: usize = 16 * 1024;
/// Compiled regular expressions kept per thread (the cache is emptied when full), so a
/// constant pattern is compiled once per pipeline rather than once per document.
pub const REGEX_CACHE_SIZE: usize = 64;

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<(String, String), Regex>> =
        RefCell::new(HashMap::new());
}

/// [`compile_regex`] through the per-thread cache.
pub(crate) fn cached_regex(op: &str, pattern: &str, options: &str) -> Result<Regex> {
    let key = (pattern.to_string(), options.to_string());
    if let Some(r) = REGEX_CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(r);
    }
    let re = compile_regex(op, pattern, options)?;
    REGEX_CACHE.with(|c| {
        let mut m = c.borrow_mut();
        if m.len() >= REGEX_CACHE_SIZE {
            m.clear();
        }
        m.insert(key, re.clone());
    });
    Ok(re)
}

/// Parses a string operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let any = usize::MAX;
    let trim_fields: &[&str] = &["input", "chars"];
    let regex_fields: &[&str] = &["input", "regex", "options"];
    let replace_fields: &[&str] = &["input", "find", "replacement"];
    let call = match name {
        "$concat" => fixed("$concat", arg, opts, depth, 0, any, eval_concat)?,
        "$substr" => fixed("$substr", arg, opts, depth, 3, 3, eval_substr_bytes)?,
        "$substrBytes" => fixed("$substrBytes", arg, opts, depth, 3, 3, eval_substr_bytes)?,
        "$substrCP" => fixed("$substrCP", arg, opts, depth, 3, 3, eval_substr_cp)?,
        "$toLower" => fixed("$toLower", arg, opts, depth, 1, 1, eval_case)?,
        "$toUpper" => fixed("$toUpper", arg, opts, depth, 1, 1, eval_case)?,
        "$trim" => named(
            "$trim",
            arg,
            opts,
            depth,
            trim_fields,
            &["input"],
            eval_trim,
        )?,
        "$ltrim" => named(
            "$ltrim",
            arg,
            opts,
            depth,
            trim_fields,
            &["input"],
            eval_trim,
        )?,
        "$rtrim" => named(
            "$rtrim",
            arg,
            opts,
            depth,
            trim_fields,
            &["input"],
            eval_trim,
        )?,
        "$split" => fixed("$split", arg, opts, depth, 2, 2, eval_split)?,
        "$strLenCP" => fixed("$strLenCP", arg, opts, depth, 1, 1, eval_strlen)?,
        "$strLenBytes" => fixed("$strLenBytes", arg, opts, depth, 1, 1, eval_strlen)?,
        "$strcasecmp" => fixed("$strcasecmp", arg, opts, depth, 2, 2, eval_strcasecmp)?,
        "$indexOfCP" => fixed("$indexOfCP", arg, opts, depth, 2, 4, eval_index_of)?,
        "$indexOfBytes" => fixed("$indexOfBytes", arg, opts, depth, 2, 4, eval_index_of)?,
        "$regexMatch" => named(
            "$regexMatch",
            arg,
            opts,
            depth,
            regex_fields,
            &["input", "regex"],
            eval_regex,
        )?,
        "$regexFind" => named(
            "$regexFind",
            arg,
            opts,
            depth,
            regex_fields,
            &["input", "regex"],
            eval_regex,
        )?,
        "$regexFindAll" => named(
            "$regexFindAll",
            arg,
            opts,
            depth,
            regex_fields,
            &["input", "regex"],
            eval_regex,
        )?,
        "$replaceOne" => named(
            "$replaceOne",
            arg,
            opts,
            depth,
            replace_fields,
            replace_fields,
            eval_replace,
        )?,
        "$replaceAll" => named(
            "$replaceAll",
            arg,
            opts,
            depth,
            replace_fields,
            replace_fields,
            eval_replace,
        )?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// MongoDB's string coercion (`$substr`, `$toLower`, `$strcasecmp`): strings as is, numbers
/// printed, dates in ISO-8601, null/undefined/missing as "", anything else error 16007.
pub(crate) fn coerce_to_string(v: Option<&Bson>) -> Result<String> {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => Ok(String::new()),
        Some(Bson::String(s) | Bson::Symbol(s)) => Ok(s.clone()),
        Some(Bson::DateTime(d)) => Ok(super::date::format_iso(d.timestamp_millis())),
        Some(Bson::Timestamp(t)) => Ok(format!("Timestamp({}, {})", t.time, t.increment)),
        Some(Bson::JavaScriptCode(c)) => Ok(c.clone()),
        Some(other) => match Num::of(other) {
            Some(n) => Ok(number_to_string(n)),
            None => Err(QueryError::location(
                16007,
                format!(
                    "can't convert from BSON type {} to String",
                    type_name(other)
                ),
            )),
        },
    }
}

/// A number as MongoDB prints it in string conversions.
pub(crate) fn number_to_string(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Long(i) => i.to_string(),
        Num::Double(d) => double_to_string(d),
        Num::Dec(d) => d.to_decimal128().to_string(),
    }
}

/// A double as MongoDB prints it (`1`, `2.5`, `1e+300`, `NaN`, `Infinity`).
pub(crate) fn double_to_string(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let a = d.abs();
    if a != 0.0 && !(1e-5..1e21).contains(&a) {
        let s = format!("{d:e}");
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => s,
        };
    }
    format!("{d}")
}

/// Evaluates a string argument: `Ok(None)` for nullish, error `code` for a non-string.
fn string_arg(
    c: &Call,
    i: usize,
    ctx: &mut EvalContext<'_>,
    code: u32,
    what: &str,
) -> Result<Option<String>> {
    match present(c.eval_arg(i, ctx)?) {
        None => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s)),
        Some(v) => Err(QueryError::location(
            code,
            format!("{} {what}, found: {}", c.name, type_name(&v)),
        )),
    }
}

fn eval_concat(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut out = String::new();
    for i in 0..c.len() {
        match present(c.eval_arg(i, ctx)?) {
            None => return Ok(Some(Bson::Null)),
            Some(Bson::String(s)) => {
                check_string_len("$concat", out.len() + s.len())?;
                out.push_str(&s);
            }
            Some(v) => {
                return Err(QueryError::location(
                    16702,
                    format!("$concat only supports strings, not {}", type_name(&v)),
                ));
            }
        }
    }
    Ok(Some(Bson::String(out)))
}

/// An integral index argument of `$substr*` (doubles with integral values are accepted).
fn index_arg(c: &Call, v: Option<&Bson>, code: u32, what: &str) -> Result<i64> {
    v.and_then(Num::of)
        .and_then(|n| n.exact_i64().or_else(|| Some(n.f64().trunc() as i64)))
        .ok_or_else(|| {
            QueryError::location(
                code,
                format!(
                    "{}: {what} must be a numeric type (is BSON type {})",
                    c.name,
                    type_name_opt(v)
                ),
            )
        })
}

fn eval_substr_bytes(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let s = coerce_to_string(c.eval_arg(0, ctx)?.as_ref())?;
    let start = index_arg(c, c.eval_arg(1, ctx)?.as_ref(), 16034, "starting index")?;
    let len = index_arg(c, c.eval_arg(2, ctx)?.as_ref(), 16035, "length")?;
    if start < 0 {
        return Err(QueryError::location(
            50752,
            format!(
                "{}: starting index must be non-negative (got: {start})",
                c.name
            ),
        ));
    }
    let b = s.as_bytes();
    let start = usize::try_from(start).unwrap_or(usize::MAX).min(b.len());
    let end = if len < 0 {
        b.len()
    } else {
        start
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(b.len())
    };
    if !s.is_char_boundary(start) {
        return Err(QueryError::location(
            28656,
            format!(
                "{}:  Invalid range, starting index is a UTF-8 continuation byte.",
                c.name
            ),
        ));
    }
    if !s.is_char_boundary(end) {
        return Err(QueryError::location(
            28657,
            format!(
                "{}:  Invalid range, ending index is in the middle of a UTF-8 character.",
                c.name
            ),
        ));
    }
    Ok(Some(Bson::String(s[start..end].to_string())))
}

fn eval_substr_cp(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let s = coerce_to_string(c.eval_arg(0, ctx)?.as_ref())?;
    let sv = c.eval_arg(1, ctx)?;
    let lv = c.eval_arg(2, ctx)?;
    let start = index_arg(c, sv.as_ref(), 34450, "starting index")?;
    let len = index_arg(c, lv.as_ref(), 34452, "length")?;
    if start < 0 {
        return Err(QueryError::location(
            34455,
            "$substrCP: the starting index must be nonnegative integer.",
        ));
    }
    if len < 0 {
        return Err(QueryError::location(
            34454,
            "$substrCP: length must be a nonnegative integer.",
        ));
    }
    let out: String = s
        .chars()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(len).unwrap_or(usize::MAX))
        .collect();
    Ok(Some(Bson::String(out)))
}

fn eval_case(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let s = coerce_to_string(c.eval_arg(0, ctx)?.as_ref())?;
    Ok(Some(Bson::String(if c.name == "$toLower" {
        s.to_ascii_lowercase()
    } else {
        s.to_ascii_uppercase()
    })))
}

/// The characters `$trim` removes by default (MongoDB's whitespace set).
fn default_trim(ch: char) -> bool {
    matches!(
        ch,
        '\0' | ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn eval_trim(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let input = c.eval_arg(0, ctx)?;
    let s = match present(input) {
        None => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        Some(v) => {
            return Err(QueryError::location(
                50699,
                format!(
                    "{} requires its input to be a string, got {} (of type {}) instead.",
                    c.name,
                    show(&v),
                    type_name(&v)
                ),
            ));
        }
    };
    let chars: Option<Vec<char>> = if c.has(1) {
        match present(c.eval_arg(1, ctx)?) {
            None => return Ok(Some(Bson::Null)),
            Some(Bson::String(cs)) => Some(cs.chars().collect()),
            Some(v) => {
                return Err(QueryError::location(
                    50700,
                    format!(
                        "{} requires 'chars' to be a string, got {} (of type {}) instead.",
                        c.name,
                        show(&v),
                        type_name(&v)
                    ),
                ));
            }
        }
    } else {
        None
    };
    let strip = |ch: char| match &chars {
        Some(set) => set.contains(&ch),
        None => default_trim(ch),
    };
    let out = match c.name {
        "$ltrim" => s.trim_start_matches(strip),
        "$rtrim" => s.trim_end_matches(strip),
        _ => s.trim_matches(strip),
    };
    Ok(Some(Bson::String(out.to_string())))
}

fn eval_split(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let s = string_arg(
        c,
        0,
        ctx,
        40085,
        "requires an expression that evaluates to a string as a first argument",
    )?;
    let d = string_arg(
        c,
        1,
        ctx,
        40086,
        "requires an expression that evaluates to a string as a second argument",
    )?;
    let (Some(s), Some(d)) = (s, d) else {
        return Ok(Some(Bson::Null));
    };
    if d.is_empty() {
        return Err(QueryError::location(
            40087,
            "$split requires a non-empty separator",
        ));
    }
    Ok(Some(Bson::Array(
        s.split(d.as_str())
            .map(|p| Bson::String(p.to_string()))
            .collect(),
    )))
}

fn eval_strlen(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let v = c.eval_arg(0, ctx)?;
    let Some(Bson::String(s)) = v else {
        let code = if c.name == "$strLenCP" { 34471 } else { 34473 };
        return Err(QueryError::location(
            code,
            format!(
                "{} requires a string argument, found: {}",
                c.name,
                type_name_opt(v.as_ref())
            ),
        ));
    };
    let n = if c.name == "$strLenCP" {
        s.chars().count()
    } else {
        s.len()
    };
    Ok(Some(
        Num::narrow(i64::try_from(n).unwrap_or(i64::MAX)).to_bson(),
    ))
}

fn eval_strcasecmp(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = coerce_to_string(c.eval_arg(0, ctx)?.as_ref())?.to_ascii_lowercase();
    let b = coerce_to_string(c.eval_arg(1, ctx)?.as_ref())?.to_ascii_lowercase();
    Ok(Some(Bson::Int32(match a.cmp(&b) {
        std::cmp::Ordering::Less => -1,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    })))
}

fn eval_index_of(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let s = match present(c.eval_arg(0, ctx)?) {
        None => return Ok(Some(Bson::Null)),
        Some(Bson::String(s)) => s,
        Some(v) => {
            return Err(QueryError::location(
                40091,
                format!(
                    "{} requires a string as the first argument, found: {}",
                    c.name,
                    type_name(&v)
                ),
            ));
        }
    };
    let needle = match c.eval_arg(1, ctx)? {
        Some(Bson::String(s)) => s,
        v => {
            return Err(QueryError::location(
                40092,
                format!(
                    "{} requires a string as the second argument, found: {}",
                    c.name,
                    type_name_opt(v.as_ref())
                ),
            ));
        }
    };
    let cp = c.name == "$indexOfCP";
    // Work on a vector of units: code points or bytes.
    let hay: Vec<u32> = if cp {
        s.chars().map(u32::from).collect()
    } else {
        s.bytes().map(u32::from).collect()
    };
    let pat: Vec<u32> = if cp {
        needle.chars().map(u32::from).collect()
    } else {
        needle.bytes().map(u32::from).collect()
    };
    let mut bounds = [0usize, hay.len()];
    for (slot, what) in [(2usize, "starting"), (3, "ending")] {
        if !c.has(slot) {
            continue;
        }
        let v = c.eval_arg(slot, ctx)?;
        let n = v.as_ref().and_then(Num::of);
        let Some(i) = n.and_then(Num::exact_i64) else {
            return Err(QueryError::location(
                40096,
                format!(
                    "{} requires an integral {what} index, found a value of type: {}, with value: {}",
                    c.name,
                    type_name_opt(v.as_ref()),
                    v.as_ref().map_or_else(|| "missing".to_string(), show)
                ),
            ));
        };
        if i < 0 {
            return Err(QueryError::location(
                40097,
                format!("{} requires a nonnegative {what} index, found: {i}", c.name),
            ));
        }
        bounds[slot - 2] = usize::try_from(i).unwrap_or(usize::MAX);
    }
    let [start, end] = bounds;
    let end = end.min(hay.len());
    if start > end || start > hay.len() {
        return Ok(Some(Bson::Int32(-1)));
    }
    let found = (start..=end)
        .find(|&i| i + pat.len() <= end && hay[i..i + pat.len()] == pat[..])
        .map_or(-1, |i| i64::try_from(i).unwrap_or(-1));
    Ok(Some(Num::narrow(found).to_bson()))
}

/// Compiles a MongoDB regex (pattern plus `imsx` options) for the regex operators.
pub(crate) fn compile_regex(op: &str, pattern: &str, options: &str) -> Result<Regex> {
    if pattern.len() > MAX_REGEX_LENGTH {
        return Err(QueryError::location(
            51111,
            format!("{op}: regular expression is too long (limit {MAX_REGEX_LENGTH} bytes)"),
        ));
    }
    let mut flags = String::new();
    for o in options.chars() {
        match o {
            'i' | 'm' | 's' | 'x' => flags.push(o),
            'u' => {}
            _ => {
                return Err(QueryError::location(
                    51108,
                    format!("{op}: invalid flag in regex options: {o}"),
                ));
            }
        }
    }
    let full = if flags.is_empty() {
        pattern.to_string()
    } else {
        format!("(?{flags}){pattern}")
    };
    Regex::new(&full)
        .map_err(|e| QueryError::location(51111, format!("{op}: Invalid regular expression: {e}")))
}

fn eval_regex(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let input = c.eval_arg(0, ctx)?;
    let regex = c.eval_arg(1, ctx)?;
    let options = c.eval_arg(2, ctx)?;
    let (pattern, mut flags) = match present(regex) {
        None => (None, String::new()),
        Some(Bson::String(p)) => (Some(p), String::new()),
        Some(Bson::RegularExpression(r)) => (Some(r.pattern.to_string()), r.options.to_string()),
        Some(v) => {
            return Err(QueryError::location(
                51105,
                format!(
                    "{} needs 'regex' to be of type string or regex, found: {}",
                    c.name,
                    type_name(&v)
                ),
            ));
        }
    };
    match present(options) {
        None => {}
        Some(Bson::String(o)) => {
            if !flags.is_empty() {
                return Err(QueryError::location(
                    51075,
                    format!(
                        "{}: regex option(s) specified in both 'regex' and 'option' fields",
                        c.name
                    ),
                ));
            }
            flags = o;
        }
        Some(v) => {
            return Err(QueryError::location(
                51106,
                format!(
                    "{} needs 'options' to be of type string, found: {}",
                    c.name,
                    type_name(&v)
                ),
            ));
        }
    }
    let empty = || match c.name {
        "$regexMatch" => Bson::Boolean(false),
        "$regexFind" => Bson::Null,
        _ => Bson::Array(Vec::new()),
    };
    let input = match present(input) {
        None => return Ok(Some(empty())),
        Some(Bson::String(s)) => s,
        Some(v) => {
            return Err(QueryError::location(
                51104,
                format!(
                    "{} needs 'input' to be of type string, found: {}",
                    c.name,
                    type_name(&v)
                ),
            ));
        }
    };
    let Some(pattern) = pattern else {
        return Ok(Some(empty()));
    };
    let re = cached_regex(c.name, &pattern, &flags)?;
    let result = match c.name {
        "$regexMatch" => Bson::Boolean(re.is_match(&input)),
        "$regexFind" => re
            .captures(&input)
            .map_or(Bson::Null, |caps| match_doc(&input, &caps)),
        _ => {
            let mut out = Vec::new();
            for caps in re.captures_iter(&input) {
                check_array_len(c.name, out.len() + 1)?;
                out.push(match_doc(&input, &caps));
            }
            Bson::Array(out)
        }
    };
    Ok(Some(result))
}

/// `{match, idx, captures}` of one regex match; `idx` counts code points.
fn match_doc(input: &str, caps: &regex::Captures<'_>) -> Bson {
    let m = caps.get(0).expect("invariant: group 0 always participates");
    let idx = input[..m.start()].chars().count();
    let captures: Vec<Bson> = caps
        .iter()
        .skip(1)
        .map(|g| g.map_or(Bson::Null, |g| Bson::String(g.as_str().to_string())))
        .collect();
    let mut d = bson::Document::new();
    d.insert("match", m.as_str());
    d.insert(
        "idx",
        Num::narrow(i64::try_from(idx).unwrap_or(i64::MAX)).to_bson(),
    );
    d.insert("captures", captures);
    Bson::Document(d)
}

fn eval_replace(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut parts = Vec::with_capacity(3);
    let mut null = false;
    for (i, what) in ["input", "find", "replacement"].iter().enumerate() {
        match present(c.eval_arg(i, ctx)?) {
            None => null = true,
            Some(Bson::String(s)) => parts.push(s),
            Some(v) => {
                return Err(QueryError::location(
                    51746,
                    format!(
                        "{} requires that '{what}' be a string, found: {}",
                        c.name,
                        show(&v)
                    ),
                ));
            }
        }
    }
    if null {
        return Ok(Some(Bson::Null));
    }
    let [input, find, repl]: [String; 3] = parts
        .try_into()
        .map_err(|_| QueryError::new(crate::error::MongoCode::InternalError, "replace args"))?;
    let hits = if c.name == "$replaceOne" {
        usize::from(input.contains(find.as_str()))
    } else if find.is_empty() {
        input.chars().count() + 1
    } else {
        input.matches(find.as_str()).count()
    };
    let len = input.len() - hits * find.len() + hits.saturating_mul(repl.len());
    check_string_len(c.name, len)?;
    let out = if c.name == "$replaceOne" {
        input.replacen(&find, &repl, 1)
    } else {
        input.replace(&find, &repl)
    };
    Ok(Some(Bson::String(out)))
}
