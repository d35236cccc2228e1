//! The unified test format's matching rules ("Evaluating Matches"): root-level documents may
//! have extra fields, nested ones may not; numbers compare by value across int/long/double;
//! `$$exists`, `$$type`, `$$unsetOrMatches` and `$$matchAsRoot`/`$$matchAsDocument` are honoured.

use bson::{Bson, Document};
use stratus_query::compare::Number;

/// Checks `actual` against `expected`; `Err` names the first mismatch with its path.
pub(crate) fn matches(
    expected: &Bson,
    actual: Option<&Bson>,
    root: bool,
    path: &str,
) -> Result<(), String> {
    if let Bson::Document(e) = expected
        && e.len() == 1
        && let Some((op, arg)) = e.iter().next()
        && op.starts_with("$$")
    {
        return special(op, arg, actual, path);
    }
    let Some(actual) = actual else {
        return Err(format!("{path}: expected {expected}, found nothing"));
    };
    match expected {
        Bson::Document(e) => {
            let Bson::Document(a) = actual else {
                return Err(format!("{path}: expected a document, found {actual}"));
            };
            match_document(e, a, root, path)
        }
        Bson::Array(e) => {
            let Bson::Array(a) = actual else {
                return Err(format!("{path}: expected an array, found {actual}"));
            };
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} elements, found {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                matches(x, Some(y), false, &format!("{path}.{i}"))?;
            }
            Ok(())
        }
        _ => {
            let same = match (Number::of(expected), Number::of(actual)) {
                (Some(x), Some(y)) if !matches!(expected, Bson::Decimal128(_)) => {
                    stratus_query::compare::compare_numbers(x, y).is_eq()
                }
                _ => expected == actual,
            };
            if same {
                Ok(())
            } else {
                Err(format!("{path}: expected {expected}, found {actual}"))
            }
        }
    }
}

fn match_document(e: &Document, a: &Document, root: bool, path: &str) -> Result<(), String> {
    for (k, v) in e {
        let sub = format!("{path}.{k}");
        matches(v, a.get(k), false, &sub)?;
    }
    if !root {
        for k in a.keys() {
            if !e.contains_key(k) {
                return Err(format!("{path}: unexpected field `{k}` in {a}"));
            }
        }
    }
    Ok(())
}

fn type_matches(name: &str, v: &Bson) -> bool {
    let actual = stratus_query::ejson::type_name(v);
    name == actual || (name == "number" && Number::of(v).is_some())
}

fn special(op: &str, arg: &Bson, actual: Option<&Bson>, path: &str) -> Result<(), String> {
    match op {
        "$$exists" => {
            let want = matches!(arg, Bson::Boolean(true));
            if want == actual.is_some() {
                Ok(())
            } else {
                Err(format!("{path}: $$exists {want} but found {actual:?}"))
            }
        }
        "$$unsetOrMatches" => match actual {
            None => Ok(()),
            Some(a) => matches(arg, Some(a), false, path),
        },
        "$$type" => {
            let Some(a) = actual else {
                return Err(format!("{path}: $$type on a missing value"));
            };
            let ok = match arg {
                Bson::String(t) => type_matches(t, a),
                Bson::Array(ts) => ts
                    .iter()
                    .any(|t| matches!(t, Bson::String(t) if type_matches(t, a))),
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("{path}: {a} is not of type {arg}"))
            }
        }
        "$$matchAsRoot" => matches(arg, actual, true, path),
        "$$matchAsDocument" => matches(arg, actual, false, path),
        other => Err(format!("{path}: unsupported special operator {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    #[test]
    fn root_allows_extra_fields_nested_does_not() {
        assert!(matches(&bson!({"x": 1}), Some(&bson!({"x": 1, "y": 1})), true, "").is_ok());
        assert!(
            matches(
                &bson!({"x": {"y": 1}}),
                Some(&bson!({"x": {"y": 1, "z": 1}})),
                true,
                ""
            )
            .is_err()
        );
        assert!(matches(&bson!({"x": 1, "y": 1}), Some(&bson!({"x": 1})), true, "").is_err());
        assert!(matches(&bson!({"x": 1}), Some(&bson!({"x": 1.0})), true, "").is_ok());
        assert!(matches(&bson!({"x": 1}), Some(&bson!({"x": 1.5})), true, "").is_err());
        assert!(
            matches(
                &bson!({"x": {"$$unsetOrMatches": 2}}),
                Some(&bson!({})),
                true,
                ""
            )
            .is_ok()
        );
        assert!(
            matches(
                &bson!({"x": {"$$exists": false}}),
                Some(&bson!({"x": 1})),
                true,
                ""
            )
            .is_err()
        );
    }
}
