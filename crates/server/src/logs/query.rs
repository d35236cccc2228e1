//! [`LogQuery`]: the filters and paging of a log listing, parsed from the admin endpoint's
//! query parameters, and their translation into a MongoDB-style filter (matched on each stored entry).
//!
//! Parameters (docs/request-logs.md): `api`, `status` (`404` or `4xx`), `from`, `to`
//! (ISO-8601; `from` inclusive, `to` exclusive), `q` (case-insensitive substring), `requestId`,
//! `limit` (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]), `offset` (at most
//! [`MAX_OFFSET`]). Unknown parameters are ignored; every bad value is reported with its
//! parameter name, all at once.

use bson::{Bson, DateTime, Document, doc};

/// Entries per page when `limit` is absent.
pub const DEFAULT_LIMIT: u64 = 50;

/// Largest accepted `limit`.
pub const MAX_LIMIT: u64 = 500;

/// Largest accepted `offset` (deeper pages: narrow the time range instead).
pub const MAX_OFFSET: u64 = 1_000_000;

/// Longest accepted `q`, `api` or `requestId` value, in characters.
pub const MAX_TEXT_FILTER_CHARS: usize = 200;

/// Filters and paging of [`crate::logs::RequestLogs::query`]. Every filter given must match.
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    /// Exact API name.
    pub api: Option<String>,
    /// Status class: `2` matches 200–299, … (1 to 5).
    pub status_class: Option<u16>,
    /// Exact status code.
    pub status: Option<u16>,
    /// Entries at or after this time.
    pub from: Option<DateTime>,
    /// Entries strictly before this time.
    pub to: Option<DateTime>,
    /// Case-insensitive substring of the path, API name, error, request id or debug values.
    pub text: Option<String>,
    /// Exact request id.
    pub request_id: Option<String>,
    /// Page size (1..=[`MAX_LIMIT`]).
    pub limit: u64,
    /// Entries to skip (newest first).
    pub offset: u64,
}

impl Default for LogQuery {
    fn default() -> Self {
        LogQuery {
            api: None,
            status_class: None,
            status: None,
            from: None,
            to: None,
            text: None,
            request_id: None,
            limit: DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of entries (newest first) and the number of entries matching the filters.
#[derive(Debug, Clone, PartialEq)]
pub struct LogPage {
    /// The entries as API JSON (fields in docs/request-logs.md).
    pub data: Vec<serde_json::Value>,
    /// How many entries match the filters in all (ignoring `limit`/`offset`).
    pub total: u64,
}

type ParamErrors = Vec<(String, String)>;

fn text_param(name: &str, value: &str, errors: &mut ParamErrors) -> Option<String> {
    if value.is_empty() {
        errors.push((name.into(), "must not be empty".into()));
        None
    } else if value.chars().count() > MAX_TEXT_FILTER_CHARS {
        errors.push((
            name.into(),
            format!("must be at most {MAX_TEXT_FILTER_CHARS} characters"),
        ));
        None
    } else {
        Some(value.to_string())
    }
}

fn int_param(name: &str, value: &str, min: u64, max: u64, errors: &mut ParamErrors) -> Option<u64> {
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.push((
                name.into(),
                format!("expected an integer from {min} to {max}"),
            ));
            None
        }
    }
}

fn time_param(name: &str, value: &str, errors: &mut ParamErrors) -> Option<DateTime> {
    match DateTime::parse_rfc3339_str(value) {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push((
                name.into(),
                "expected an ISO-8601 date-time such as 2024-03-27T10:00:00Z".into(),
            ));
            None
        }
    }
}

/// Parses `404` (exact) or `4xx` (class) into `(status, class)`.
fn status_param(value: &str, errors: &mut ParamErrors) -> (Option<u16>, Option<u16>) {
    let lower = value.to_ascii_lowercase();
    if let Some(digit) = lower.strip_suffix("xx")
        && let Ok(class) = digit.parse::<u16>()
        && (1..=5).contains(&class)
        && digit.len() == 1
    {
        return (None, Some(class));
    }
    match value.parse::<u16>() {
        Ok(s) if (100..=599).contains(&s) => (Some(s), None),
        _ => {
            errors.push((
                "status".into(),
                "expected a status code (100-599) or a class such as 4xx".into(),
            ));
            (None, None)
        }
    }
}

impl LogQuery {
    /// Parses the admin endpoint's query parameters; every invalid parameter is reported as
    /// `(name, message)`.
    pub fn from_query_params(params: &[(String, String)]) -> Result<LogQuery, ParamErrors> {
        let mut q = LogQuery::default();
        let mut errors = ParamErrors::new();
        for (name, value) in params {
            let value = value.trim();
            match name.as_str() {
                "api" => q.api = text_param(name, value, &mut errors),
                "q" => q.text = text_param(name, value, &mut errors),
                "requestId" => q.request_id = text_param(name, value, &mut errors),
                "status" => (q.status, q.status_class) = status_param(value, &mut errors),
                "from" => q.from = time_param(name, value, &mut errors),
                "to" => q.to = time_param(name, value, &mut errors),
                "limit" => {
                    q.limit =
                        int_param(name, value, 1, MAX_LIMIT, &mut errors).unwrap_or(DEFAULT_LIMIT);
                }
                "offset" => {
                    q.offset = int_param(name, value, 0, MAX_OFFSET, &mut errors).unwrap_or(0)
                }
                _ => {}
            }
        }
        if let (Some(from), Some(to)) = (q.from, q.to)
            && from > to
        {
            errors.push(("to".into(), "must not be before `from`".into()));
        }
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(errors)
        }
    }

    /// Checks a query built by hand (the parser already enforces the same rules).
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return Err(format!("limit must be from 1 to {MAX_LIMIT}"));
        }
        if self.offset > MAX_OFFSET {
            return Err(format!("offset must be at most {MAX_OFFSET}"));
        }
        if let Some(c) = self.status_class
            && !(1..=5).contains(&c)
        {
            return Err("status class must be from 1 to 5".into());
        }
        if let Some(t) = &self.text
            && t.chars().count() > MAX_TEXT_FILTER_CHARS
        {
            return Err(format!(
                "q must be at most {MAX_TEXT_FILTER_CHARS} characters"
            ));
        }
        Ok(())
    }

    /// The filter of this query over stored entries (paging excluded).
    pub(crate) fn to_filter(&self) -> Document {
        let mut and: Vec<Bson> = Vec::new();
        if let Some(api) = &self.api {
            and.push(doc! {"api": api.clone()}.into());
        }
        if let Some(s) = self.status {
            and.push(doc! {"status": i32::from(s)}.into());
        }
        if let Some(c) = self.status_class {
            let low = i32::from(c) * 100;
            and.push(doc! {"status": {"$gte": low, "$lt": low + 100}}.into());
        }
        // The search also skips whole segments outside the range (`search::run`).
        let mut range = Document::new();
        if let Some(from) = self.from {
            range.insert("$gte", from);
        }
        if let Some(to) = self.to {
            range.insert("$lt", to);
        }
        if !range.is_empty() {
            and.push(doc! {"time": range}.into());
        }
        if let Some(id) = &self.request_id {
            and.push(doc! {"requestId": id.clone()}.into());
        }
        if let Some(text) = &self.text {
            and.push(doc! {"search": {"$regex": escape_regex(text), "$options": "i"}}.into());
        }
        match and.len() {
            0 => Document::new(),
            1 => match and.pop() {
                Some(Bson::Document(d)) => d,
                _ => Document::new(),
            },
            _ => doc! {"$and": and},
        }
    }
}

/// Escapes the regex meta-characters of `s` (the `regex` crate's set), so it matches literally.
fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters and the names of the parameters expected to be refused.
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn good_parameters_parse() {
        let q = LogQuery::from_query_params(&params(&[
            ("api", "listProducts"),
            ("status", "4xx"),
            ("from", "2024-03-27T10:00:00Z"),
            ("to", "2024-03-28T10:00:00.500+02:00"),
            ("q", " Timeout "),
            ("requestId", "r-1"),
            ("limit", "500"),
            ("offset", "20"),
            ("unknown", "ignored"),
        ]));
        let q = q.unwrap_or_default();
        assert_eq!(q.api.as_deref(), Some("listProducts"));
        assert_eq!((q.status, q.status_class), (None, Some(4)));
        assert_eq!(
            q.from.map(|d| d.timestamp_millis()),
            Some(1_711_533_600_000)
        );
        assert_eq!(q.to.map(|d| d.timestamp_millis()), Some(1_711_612_800_500));
        assert_eq!(q.text.as_deref(), Some("Timeout"));
        assert_eq!(q.request_id.as_deref(), Some("r-1"));
        assert_eq!((q.limit, q.offset), (500, 20));

        let defaults = LogQuery::from_query_params(&[]).unwrap_or_default();
        assert_eq!((defaults.limit, defaults.offset), (DEFAULT_LIMIT, 0));
        for (v, want) in [
            ("404", (Some(404), None)),
            ("5XX", (None, Some(5))),
            ("1xx", (None, Some(1))),
        ] {
            let q = LogQuery::from_query_params(&params(&[("status", v)])).unwrap_or_default();
            assert_eq!((q.status, q.status_class), want, "status={v}");
        }
    }

    #[test]
    fn bad_parameters_are_all_reported_by_name() {
        let long = "x".repeat(MAX_TEXT_FILTER_CHARS + 1);
        let cases: Vec<Case> = vec![
            (vec![("status", "6xx")], vec!["status"]),
            (vec![("status", "44x")], vec!["status"]),
            (vec![("status", "42")], vec!["status"]),
            (vec![("status", "600")], vec!["status"]),
            (vec![("status", "abc")], vec!["status"]),
            (vec![("limit", "0")], vec!["limit"]),
            (vec![("limit", "501")], vec!["limit"]),
            (vec![("limit", "-1")], vec!["limit"]),
            (vec![("offset", "x")], vec!["offset"]),
            (vec![("offset", "1000001")], vec!["offset"]),
            (vec![("from", "yesterday")], vec!["from"]),
            (vec![("to", "2024-13-01T00:00:00Z")], vec!["to"]),
            (
                vec![
                    ("from", "2024-03-02T00:00:00Z"),
                    ("to", "2024-03-01T00:00:00Z"),
                ],
                vec!["to"],
            ),
            (vec![("q", "")], vec!["q"]),
            (vec![("q", long.as_str())], vec!["q"]),
            (vec![("api", "")], vec!["api"]),
            (
                vec![("limit", "x"), ("status", "x"), ("from", "x")],
                vec!["limit", "status", "from"],
            ),
        ];
        for (input, want) in cases {
            let errs = LogQuery::from_query_params(&params(&input))
                .err()
                .unwrap_or_default();
            let names: Vec<&str> = errs.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, want, "input {input:?}");
            assert!(errs.iter().all(|(_, m)| !m.is_empty()));
        }
    }

    #[test]
    fn filters_translate_to_documents() {
        assert_eq!(LogQuery::default().to_filter(), Document::new());
        let q = LogQuery {
            status: Some(404),
            ..Default::default()
        };
        assert_eq!(q.to_filter(), doc! {"status": 404});
        let q = LogQuery {
            status_class: Some(5),
            ..Default::default()
        };
        assert_eq!(q.to_filter(), doc! {"status": {"$gte": 500, "$lt": 600}});
        let q = LogQuery {
            from: Some(DateTime::from_millis(0)),
            to: Some(DateTime::from_millis(16)),
            ..Default::default()
        };
        assert_eq!(
            q.to_filter(),
            doc! {"time": {"$gte": DateTime::from_millis(0), "$lt": DateTime::from_millis(16)}}
        );
        let q = LogQuery {
            api: Some("a".into()),
            text: Some("a.b*(c)".into()),
            ..Default::default()
        };
        assert_eq!(
            q.to_filter(),
            doc! {"$and": [{"api": "a"}, {"search": {"$regex": "a\\.b\\*\\(c\\)", "$options": "i"}}]}
        );
    }

    #[test]
    fn validate_rejects_out_of_range_hand_built_queries() {
        assert!(LogQuery::default().validate().is_ok());
        assert!(
            LogQuery {
                limit: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            LogQuery {
                limit: MAX_LIMIT + 1,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            LogQuery {
                offset: MAX_OFFSET + 1,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            LogQuery {
                status_class: Some(9),
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }
}
