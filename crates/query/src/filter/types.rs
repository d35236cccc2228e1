//! `$type`: BSON type numbers and aliases (`"double"`, `"string"`, …, and `"number"` for all
//! four numeric types), parsed once into a set of type codes.

use bson::Bson;

use crate::error::{QueryError, Result};

/// Pseudo-code for the `"number"` alias (any numeric type).
const NUMBER: i32 = -2;

/// MongoDB's type aliases and codes.
const ALIASES: &[(&str, i32)] = &[
    ("double", 1),
    ("string", 2),
    ("object", 3),
    ("array", 4),
    ("binData", 5),
    ("undefined", 6),
    ("objectId", 7),
    ("bool", 8),
    ("date", 9),
    ("null", 10),
    ("regex", 11),
    ("dbPointer", 12),
    ("javascript", 13),
    ("symbol", 14),
    ("javascriptWithScope", 15),
    ("int", 16),
    ("timestamp", 17),
    ("long", 18),
    ("decimal", 19),
    ("minKey", -1),
    ("maxKey", 127),
    ("number", NUMBER),
];

/// The BSON type code of a value (`$type` numbering).
pub fn type_code(v: &Bson) -> i32 {
    match v {
        Bson::Double(_) => 1,
        Bson::String(_) => 2,
        Bson::Document(_) => 3,
        Bson::Array(_) => 4,
        Bson::Binary(_) => 5,
        Bson::Undefined => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        Bson::Null => 10,
        Bson::RegularExpression(_) => 11,
        Bson::DbPointer(_) => 12,
        Bson::JavaScriptCode(_) => 13,
        Bson::Symbol(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::Int32(_) => 16,
        Bson::Timestamp(_) => 17,
        Bson::Int64(_) => 18,
        Bson::Decimal128(_) => 19,
        Bson::MinKey => -1,
        Bson::MaxKey => 127,
    }
}

/// The alias of a type code (e.g. `2` → `"string"`), for messages and `$type` in expressions.
pub fn type_alias(code: i32) -> Option<&'static str> {
    ALIASES.iter().find(|(_, c)| *c == code).map(|(a, _)| *a)
}

/// A parsed `$type` operand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeSet {
    codes: Vec<i32>,
}

impl TypeSet {
    /// Parses a number, an alias, or an array of them.
    pub(crate) fn parse(v: &Bson) -> Result<TypeSet> {
        let codes = match v {
            Bson::Array(items) => items.iter().map(parse_one).collect::<Result<Vec<_>>>()?,
            other => vec![parse_one(other)?],
        };
        Ok(TypeSet { codes })
    }

    /// Whether `v` has one of the types.
    pub(crate) fn matches(&self, v: &Bson) -> bool {
        let code = type_code(v);
        self.codes
            .iter()
            .any(|c| *c == code || (*c == NUMBER && matches!(code, 1 | 16 | 18 | 19)))
    }
}

fn parse_one(v: &Bson) -> Result<i32> {
    match v {
        Bson::String(s) => ALIASES
            .iter()
            .find(|(a, _)| a == s)
            .map(|(_, c)| *c)
            .ok_or_else(|| QueryError::bad_value(format!("Unknown type name alias: {s}"))),
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            let n = crate::compare::Number::of(v)
                .map(|n| n.as_f64())
                .unwrap_or(f64::NAN);
            if n.fract() != 0.0 || !n.is_finite() {
                return Err(QueryError::bad_value(format!(
                    "Invalid numerical type code: {n}"
                )));
            }
            let code = n as i32;
            if code == NUMBER || !ALIASES.iter().any(|(_, c)| *c == code) {
                return Err(QueryError::bad_value(format!(
                    "Invalid numerical type code: {code}"
                )));
            }
            Ok(code)
        }
        _ => Err(QueryError::type_mismatch(
            "type must be represented as a number or a string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    #[test]
    fn aliases_and_codes() {
        let t = TypeSet::parse(&bson!("number")).expect("alias");
        assert!(t.matches(&bson!(1)) && t.matches(&bson!(1.5)) && t.matches(&bson!(1_i64)));
        assert!(!t.matches(&bson!("1")));
        let t = TypeSet::parse(&bson!([2, "bool"])).expect("array");
        assert!(t.matches(&bson!("x")) && t.matches(&bson!(true)));
        assert_eq!(
            TypeSet::parse(&bson!("strin"))
                .expect_err("bad")
                .code
                .code(),
            2
        );
        assert_eq!(TypeSet::parse(&bson!(100)).expect_err("bad").code.code(), 2);
        assert_eq!(TypeSet::parse(&bson!({})).expect_err("bad").code.code(), 14);
    }
}
