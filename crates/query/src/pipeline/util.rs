//! Helpers shared by the stages: dotted paths without array traversal (as `$unwind`,
//! `$lookup`'s `as` and `$count` read and write them), expression evaluation against a
//! document, variable names, and substitution of `$$variables` into `$expr` filters.

use bson::{Bson, Document};

use super::RunCtx;
use crate::error::{QueryError, Result};
use crate::expr::{EvalContext, Expr};

/// Splits a field path (without `$`) on dots, refusing empty components (15998) and `$`-prefixed
/// ones (16410).
pub(crate) fn split_field_path(path: &str) -> Result<Vec<String>> {
    if path.is_empty() {
        return Err(QueryError::location(
            40352,
            "FieldPath cannot be constructed with empty string",
        ));
    }
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    for p in &parts {
        if p.is_empty() {
            return Err(QueryError::location(
                15998,
                format!("FieldPath field names may not be empty strings. Given: {path}"),
            ));
        }
        if p.starts_with('$') {
            return Err(QueryError::location(
                16410,
                format!("FieldPath field names may not start with '$'. Given: {path}"),
            ));
        }
    }
    Ok(parts)
}

/// The value at `path` through embedded documents only (an array on the way means missing).
pub(crate) fn get_nested<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let (first, rest) = path.split_first()?;
    let v = doc.get(first)?;
    if rest.is_empty() {
        return Some(v);
    }
    match v {
        Bson::Document(d) => get_nested(d, rest),
        _ => None,
    }
}

/// Sets `value` at `path`, creating (or replacing non-document values by) embedded documents
/// on the way. An existing field keeps its position.
pub(crate) fn set_nested(doc: &mut Document, path: &[String], value: Bson) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        doc.insert(first.clone(), value);
        return;
    }
    if !matches!(doc.get(first), Some(Bson::Document(_))) {
        doc.insert(first.clone(), Document::new());
    }
    if let Some(Bson::Document(sub)) = doc.get_mut(first) {
        set_nested(sub, rest, value);
    }
}

/// Removes the field at `path` (through embedded documents only).
pub(crate) fn remove_nested(doc: &mut Document, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        doc.remove(first);
        return;
    }
    if let Some(Bson::Document(sub)) = doc.get_mut(first) {
        remove_nested(sub, rest);
    }
}

/// Evaluates `expr` with `$$ROOT`/`$$CURRENT` = `doc`; `None` is *missing*.
pub(crate) fn eval_on(expr: &Expr, doc: &Bson, rc: &RunCtx<'_>) -> Result<Option<Bson>> {
    let mut ctx = EvalContext::at(doc, rc.now);
    ctx.vars = rc.vars.clone();
    expr.eval(&mut ctx)
}

/// Evaluates `expr` against a document that is moved in and handed back (avoids a clone).
pub(crate) fn eval_doc(
    expr: &Expr,
    doc: Document,
    rc: &RunCtx<'_>,
) -> (Document, Result<Option<Bson>>) {
    let b = Bson::Document(doc);
    let r = eval_on(expr, &b, rc);
    match b {
        Bson::Document(d) => (d, r),
        _ => unreachable!("invariant: wrapped a document"),
    }
}

/// Checks a user variable name (`let` of the command, `$lookup`, `$merge`): it must start
/// with a lowercase ASCII letter or a non-ASCII character and contain only letters, digits and
/// `_` (MongoDB's rule; FailedToParse 9 otherwise).
pub(crate) fn validate_variable_name(name: &str) -> Result<()> {
    let Some(first) = name.chars().next() else {
        return Err(QueryError::failed_to_parse(
            "empty variable names are not allowed",
        ));
    };
    if !first.is_ascii_lowercase() && first.is_ascii() {
        return Err(QueryError::failed_to_parse(format!(
            "'{name}' starts with an invalid character for a user variable name"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || !c.is_ascii()))
    {
        return Err(QueryError::failed_to_parse(format!(
            "'{name}' contains an invalid character for a variable name: '{c}'"
        )));
    }
    Ok(())
}

/// System variables that filters resolve themselves; never substituted.
const SYSTEM_VARIABLES: &[&str] = &["ROOT", "CURRENT", "REMOVE"];

/// Whether a `$match` filter's `$expr` parts refer to variables the pipeline must supply
/// (anything but `$$ROOT`, `$$CURRENT`, `$$REMOVE`).
pub(crate) fn filter_uses_variables(filter: &Document) -> bool {
    filter.iter().any(|(k, v)| match (k.as_str(), v) {
        ("$expr", v) => expr_uses_variables(v),
        ("$and" | "$or" | "$nor", Bson::Array(items)) => items.iter().any(|i| match i {
            Bson::Document(d) => filter_uses_variables(d),
            _ => false,
        }),
        _ => false,
    })
}

fn expr_uses_variables(v: &Bson) -> bool {
    match v {
        Bson::String(s) => s
            .strip_prefix("$$")
            .is_some_and(|rest| !SYSTEM_VARIABLES.contains(&var_name(rest))),
        Bson::Array(items) => items.iter().any(expr_uses_variables),
        Bson::Document(d) => d
            .iter()
            .any(|(k, v)| k != "$literal" && expr_uses_variables(v)),
        _ => false,
    }
}

fn var_name(rest: &str) -> &str {
    rest.split('.').next().unwrap_or(rest)
}

/// A copy of `filter` whose `$expr` parts have every user variable (`"$$name.path"`) replaced
/// by `{"$literal": value}` (or `"$$REMOVE"` when missing), so the filter can be evaluated
/// without the pipeline's variables. Known deviation: a `$let`/`$map` inside `$expr` that
/// rebinds a name also used by the pipeline sees the pipeline's value.
pub(crate) fn substitute_filter_variables(filter: &Document, rc: &RunCtx<'_>) -> Document {
    let mut out = Document::new();
    for (k, v) in filter {
        let nv = match (k.as_str(), v) {
            ("$expr", v) => substitute_expr(v, rc),
            ("$and" | "$or" | "$nor", Bson::Array(items)) => Bson::Array(
                items
                    .iter()
                    .map(|i| match i {
                        Bson::Document(d) => Bson::Document(substitute_filter_variables(d, rc)),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            _ => v.clone(),
        };
        out.insert(k.clone(), nv);
    }
    out
}

fn substitute_expr(v: &Bson, rc: &RunCtx<'_>) -> Bson {
    match v {
        Bson::String(s) => {
            let Some(rest) = s.strip_prefix("$$") else {
                return v.clone();
            };
            let name = var_name(rest);
            if SYSTEM_VARIABLES.contains(&name) {
                return v.clone();
            }
            let value = if name == "NOW" {
                Some(Bson::DateTime(rc.now))
            } else {
                rc.vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let Some(value) = value else {
                // Unknown variable: leave it for the expression evaluator to report.
                return v.clone();
            };
            let path: Vec<String> = rest.split('.').skip(1).map(str::to_string).collect();
            let found = if path.is_empty() {
                Some(value)
            } else {
                crate::expr::path::get_path(&value, &path)
            };
            match found {
                Some(x) => {
                    let mut d = Document::new();
                    d.insert("$literal", x);
                    Bson::Document(d)
                }
                None => Bson::String("$$REMOVE".to_string()),
            }
        }
        Bson::Array(items) => Bson::Array(items.iter().map(|i| substitute_expr(i, rc)).collect()),
        Bson::Document(d) => {
            let mut out = Document::new();
            for (k, x) in d {
                if k == "$literal" {
                    out.insert(k.clone(), x.clone());
                } else {
                    out.insert(k.clone(), substitute_expr(x, rc));
                }
            }
            Bson::Document(out)
        }
        other => other.clone(),
    }
}

/// The BSON type name MongoDB uses in messages.
pub(crate) fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::Undefined => "undefined",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

/// A short rendering of a value for error messages.
pub(crate) fn show(v: &Bson) -> String {
    v.clone().into_relaxed_extjson().to_string()
}

/// A count as MongoDB returns it: Int32 when it fits, else Int64.
pub(crate) fn count_value(n: usize) -> Bson {
    match i32::try_from(n) {
        Ok(i) => Bson::Int32(i),
        Err(_) => Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

/// Whether an expression spec is "a `$`-prefixed path or an operator object" (what
/// `$sortByCount` and `$bucket.groupBy` require).
pub(crate) fn is_path_or_operator(v: &Bson) -> bool {
    match v {
        Bson::String(s) => s.starts_with('$'),
        Bson::Document(d) => d.keys().next().is_some_and(|k| k.starts_with('$')),
        _ => false,
    }
}

/// A BSON value ordered by MongoDB's comparison order ([`crate::compare::compare`]), so equal
/// values of different numeric types (`1`, `1.0`, `1L`) are one map key, as in `$group`.
#[derive(Debug, Clone)]
pub(crate) struct OrdBson(pub Bson);

impl PartialEq for OrdBson {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for OrdBson {}

impl PartialOrd for OrdBson {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrdBson {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        crate::compare::compare(&self.0, &other.0)
    }
}

/// Approximate BSON size of a document.
pub(crate) fn approx_doc_size(d: &Document) -> usize {
    d.iter()
        .map(|(k, v)| k.len() + 2 + approx_size(v))
        .sum::<usize>()
        + 5
}

/// Approximate memory held by a value: its BSON size (used for `$group`'s memory bound).
pub(crate) fn approx_size(v: &Bson) -> usize {
    match v {
        Bson::Document(d) => approx_doc_size(d),
        Bson::Array(items) => items.iter().map(|v| 8 + approx_size(v)).sum::<usize>() + 5,
        Bson::String(s) => s.len() + 5,
        Bson::Binary(b) => b.bytes.len() + 5,
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::limits::Limits;
    use crate::pipeline::MemoryCollections;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn nested_get_set_remove_do_not_traverse_arrays() {
        let mut d = doc! {"a": {"b": 1}, "arr": [{"b": 2}]};
        assert_eq!(get_nested(&d, &p("a.b")), Some(&Bson::Int32(1)));
        assert_eq!(get_nested(&d, &p("arr.b")), None);
        set_nested(&mut d, &p("a.c.d"), Bson::Int32(5));
        set_nested(&mut d, &p("arr.x"), Bson::Int32(6));
        assert_eq!(d, doc! {"a": {"b": 1, "c": {"d": 5}}, "arr": {"x": 6}});
        remove_nested(&mut d, &p("a.c.d"));
        remove_nested(&mut d, &p("nope.x"));
        assert_eq!(d, doc! {"a": {"b": 1, "c": {}}, "arr": {"x": 6}});
    }

    #[test]
    fn field_paths_are_validated() {
        assert_eq!(split_field_path("a.b").unwrap(), p("a.b"));
        for (bad, code) in [("", 40352), ("a..b", 15998), ("a.$b", 16410), (".a", 15998)] {
            let e = split_field_path(bad).unwrap_err();
            assert_eq!(e.code.code(), code, "{bad}");
        }
    }

    #[test]
    fn variable_names_follow_mongodb_rules() {
        for ok in ["a", "abc_1", "émile", "x9"] {
            assert!(validate_variable_name(ok).is_ok(), "{ok}");
        }
        for (bad, code) in [
            ("", 9),
            ("A", 9),
            ("_a", 9),
            ("1a", 9),
            ("a-b", 9),
            ("a.b", 9),
        ] {
            assert_eq!(
                validate_variable_name(bad).unwrap_err().code.code(),
                code,
                "{bad}"
            );
        }
    }

    #[test]
    fn only_expr_parts_use_variables() {
        assert!(filter_uses_variables(
            &doc! {"$expr": {"$eq": ["$a", "$$x"]}}
        ));
        assert!(filter_uses_variables(&doc! {"$or": [{"$expr": "$$x.y"}]}));
        assert!(!filter_uses_variables(&doc! {"a": "$$x"}));
        assert!(!filter_uses_variables(
            &doc! {"$expr": {"$eq": ["$$ROOT.a", "$$CURRENT.a"]}}
        ));
        assert!(!filter_uses_variables(&doc! {"$expr": {"$literal": "$$x"}}));
    }

    #[test]
    fn substitution_replaces_variables_with_literals() {
        let env = MemoryCollections::new();
        let rc = RunCtx {
            env: &env,
            db: "db",
            vars: vec![("x".to_string(), Bson::Document(doc! {"y": [1, 2]}))],
            now: bson::DateTime::from_millis(0),
            limits: Limits::default(),
            seed: None,
        };
        let f =
            doc! {"a": "$$x", "$expr": {"$in": ["$a", "$$x.y"]}, "$and": [{"$expr": "$$x.nope"}]};
        assert_eq!(
            substitute_filter_variables(&f, &rc),
            doc! {"a": "$$x", "$expr": {"$in": ["$a", {"$literal": [1, 2]}]}, "$and": [{"$expr": "$$REMOVE"}]}
        );
    }

    #[test]
    fn ord_bson_unifies_numeric_types() {
        assert_eq!(OrdBson(Bson::Int32(1)), OrdBson(Bson::Double(1.0)));
        assert_eq!(OrdBson(Bson::Int64(1)), OrdBson(Bson::Int32(1)));
        assert!(OrdBson(Bson::Null) < OrdBson(Bson::Int32(0)));
    }
}
