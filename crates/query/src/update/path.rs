//! Update paths: parsing dotted paths with positional components, and reading, creating and
//! removing values at concrete paths.
//!
//! Update paths differ from query paths: they never traverse arrays implicitly. A numeric
//! component indexes an array (`a.1` on `{a: [x, y]}` is `y`) but names a field in a document
//! (`a.1` on `{a: {}}` creates field `"1"`). Creating a missing path creates documents all the
//! way down; setting past the end of an array pads it with nulls (at most
//! [`MAX_ARRAY_PADDING`] elements). A path that would go through a scalar is not viable
//! (`PathNotViable` 28).
//!
//! Invariant: a [`ConcretePath`] has no positional components; only [`UpdatePath`] does, and
//! [`super::positional`] turns one into the other.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::render;
use crate::error::{MongoCode, QueryError, Result};
use crate::limits::Limits;

/// Most nulls an update may append to pad an array up to a new index (mongod's
/// `kMaxPaddingAllowed`); beyond it the update fails with CannotBackfillArray (34).
pub(crate) const MAX_ARRAY_PADDING: usize = 1_500_000;

/// mongod's `CannotBackfillArray` code (no [`MongoCode`] variant: reported as a location code).
const CANNOT_BACKFILL_ARRAY: u32 = 34;

/// One component of an update path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Component {
    /// A field name or an array index.
    Field(String),
    /// `$`: the array index the query matched.
    Positional,
    /// `$[]`: every element of the array.
    AllElements,
    /// `$[<id>]`: the elements matching the array filter `<id>`.
    Filtered(String),
}

impl Component {
    fn as_str(&self) -> String {
        match self {
            Component::Field(f) => f.clone(),
            Component::Positional => "$".to_string(),
            Component::AllElements => "$[]".to_string(),
            Component::Filtered(id) => format!("$[{id}]"),
        }
    }
}

/// A parsed update path such as `a.$[i].b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdatePath {
    /// The components, in order.
    pub(crate) parts: Vec<Component>,
    /// The path as written.
    pub(crate) dotted: String,
}

/// A path with every positional component resolved: field names and array indices.
pub(crate) type ConcretePath = Vec<String>;

impl UpdatePath {
    /// Parses a dotted update path.
    pub(crate) fn parse(dotted: &str, limits: &Limits) -> Result<UpdatePath> {
        if dotted.is_empty() {
            return Err(QueryError::new(
                MongoCode::EmptyFieldName,
                "An empty update path is not valid.",
            ));
        }
        let raw: Vec<&str> = dotted.split('.').collect();
        if raw.len() > limits.max_nesting_depth {
            return Err(QueryError::bad_value(format!(
                "The update path '{dotted}' has more than {} components",
                limits.max_nesting_depth
            )));
        }
        let mut parts = Vec::with_capacity(raw.len());
        let mut positional = 0;
        for (i, p) in raw.iter().enumerate() {
            if p.is_empty() {
                return Err(QueryError::new(
                    MongoCode::EmptyFieldName,
                    format!(
                        "The update path '{dotted}' contains an empty field name, which is not allowed."
                    ),
                ));
            }
            let c = if *p == "$" {
                positional += 1;
                Component::Positional
            } else if *p == "$[]" {
                Component::AllElements
            } else if let Some(id) = p.strip_prefix("$[").and_then(|r| r.strip_suffix(']')) {
                Component::Filtered(id.to_string())
            } else {
                // Other `$`-prefixed names are ordinary fields below the top level (MongoDB
                // 5.0+); a top-level one is refused by the operators that create it.
                Component::Field((*p).to_string())
            };
            if i == 0 && !matches!(c, Component::Field(_)) {
                let what = if c == Component::Positional {
                    "positional (i.e. '$')"
                } else {
                    "array filter identifier (i.e. '$[<id>]')"
                };
                return Err(QueryError::bad_value(format!(
                    "Cannot have {what} element in the first position in path '{dotted}'"
                )));
            }
            parts.push(c);
        }
        if positional > 1 {
            return Err(QueryError::bad_value(format!(
                "Too many positional (i.e. '$') elements found in path '{dotted}'"
            )));
        }
        Ok(UpdatePath {
            parts,
            dotted: dotted.to_string(),
        })
    }

    /// Whether any component is `$`, `$[]` or `$[<id>]`.
    pub(crate) fn is_dynamic(&self) -> bool {
        self.parts.iter().any(|c| !matches!(c, Component::Field(_)))
    }

    /// The components as strings (positional ones as written), for conflict detection.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.parts.iter().map(Component::as_str).collect()
    }

    /// The components as a concrete path; `None` if the path is dynamic.
    pub(crate) fn concrete(&self) -> Option<ConcretePath> {
        self.parts
            .iter()
            .map(|c| match c {
                Component::Field(f) => Some(f.clone()),
                _ => None,
            })
            .collect()
    }
}

/// The order MongoDB 5.0+ applies updates in, component by component: numeric names in
/// numeric order (`a.2` before `a.10`), other names in byte order. A path is immediately
/// followed by the paths it is a prefix of, which conflict detection relies on.
///
/// Numeric names sort before the others so that the order is total (mongod's documentation
/// only defines numeric-vs-numeric and string-vs-string).
pub(crate) fn compare_paths(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b.iter()) {
        let o = compare_names(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn compare_names(x: &str, y: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (numeric(x), numeric(y)) {
        (true, true) => {
            // Compare digit strings by value without parsing: strip leading zeros, then the
            // longer is larger, then byte order; ties broken by the raw bytes.
            let (tx, ty) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
            tx.len()
                .cmp(&ty.len())
                .then_with(|| tx.cmp(ty))
                .then_with(|| x.cmp(y))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.as_bytes().cmp(y.as_bytes()),
    }
}

/// Whether `a` is a prefix of `b` (or equal to it).
pub(crate) fn is_prefix(a: &[String], b: &[String]) -> bool {
    a.len() <= b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
}

/// An array index in the strict form MongoDB accepts in paths: digits, no leading zero.
pub(crate) fn array_index(s: &str) -> Option<usize> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// The child of `v` named `key`: a document field, or an array element for a numeric key.
pub(crate) fn child<'a>(v: &'a Bson, key: &str) -> Option<&'a Bson> {
    match v {
        Bson::Document(d) => d.get(key),
        Bson::Array(a) => array_index(key).and_then(|i| a.get(i)),
        _ => None,
    }
}

fn child_mut<'a>(v: &'a mut Bson, key: &str) -> Option<&'a mut Bson> {
    match v {
        Bson::Document(d) => d.get_mut(key),
        Bson::Array(a) => array_index(key).and_then(|i| a.get_mut(i)),
        _ => None,
    }
}

/// The value at a concrete path, or `None` when missing or not viable.
pub(crate) fn get<'a>(doc: &'a Document, path: &[String]) -> Option<&'a Bson> {
    let (first, rest) = path.split_first()?;
    let mut cur = doc.get(first)?;
    for k in rest {
        cur = child(cur, k)?;
    }
    Some(cur)
}

/// Mutable access to the value at a concrete path, or `None` when missing or not viable.
pub(crate) fn get_mut<'a>(doc: &'a mut Document, path: &[String]) -> Option<&'a mut Bson> {
    let (first, rest) = path.split_first()?;
    let mut cur = doc.get_mut(first)?;
    for k in rest {
        cur = child_mut(cur, k)?;
    }
    Some(cur)
}

/// Sets the value at a concrete path, creating missing documents on the way and padding
/// arrays with nulls; fails with `PathNotViable` when the path runs into a scalar.
pub(crate) fn set(doc: &mut Document, path: &[String], value: Bson) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return Err(QueryError::new(
            MongoCode::EmptyFieldName,
            "An empty update path is not valid.",
        ));
    };
    set_in_doc(doc, first, rest, value)
}

fn set_in_doc(doc: &mut Document, first: &str, rest: &[String], value: Bson) -> Result<()> {
    if rest.is_empty() {
        doc.insert(first, value);
        return Ok(());
    }
    match doc.get_mut(first) {
        None => {
            doc.insert(first, nested(rest, value));
            Ok(())
        }
        Some(v) => set_in_value(v, first, rest, value),
    }
}

/// Sets `rest` below `v` (an element named `name`); `rest` is not empty.
fn set_in_value(v: &mut Bson, name: &str, rest: &[String], value: Bson) -> Result<()> {
    let (key, tail) = rest.split_first().expect("invariant: rest is not empty");
    match v {
        Bson::Document(d) => set_in_doc(d, key, tail, value),
        Bson::Array(a) => {
            let Some(idx) = array_index(key) else {
                return Err(not_viable(key, name, v));
            };
            if idx < a.len() {
                if tail.is_empty() {
                    a[idx] = value;
                    Ok(())
                } else {
                    set_in_value(&mut a[idx], key, tail, value)
                }
            } else {
                if idx - a.len() > MAX_ARRAY_PADDING {
                    return Err(QueryError::location(
                        CANNOT_BACKFILL_ARRAY,
                        format!("can't backfill more than {MAX_ARRAY_PADDING} elements"),
                    ));
                }
                a.resize(idx, Bson::Null);
                a.push(if tail.is_empty() {
                    value
                } else {
                    nested(tail, value)
                });
                Ok(())
            }
        }
        _ => Err(not_viable(key, name, v)),
    }
}

/// `PathNotViable`: "Cannot create field 'b' in element {a: 1}".
pub(crate) fn not_viable(key: &str, name: &str, v: &Bson) -> QueryError {
    QueryError::new(
        MongoCode::PathNotViable,
        format!(
            "Cannot create field '{key}' in element {{{}}}",
            render::element(name, v)
        ),
    )
}

/// `{rest[0]: {rest[1]: … value}}` as a value.
fn nested(rest: &[String], value: Bson) -> Bson {
    rest.iter().rev().fold(value, |acc, k| {
        let mut d = Document::new();
        d.insert(k.clone(), acc);
        Bson::Document(d)
    })
}

/// Checks that `path` could be created in `doc` without running into a scalar or an array
/// with a non-numeric key (the error [`set`] would report), without changing anything.
pub(crate) fn check_viable(doc: &Document, path: &[String]) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let mut name = first.as_str();
    let Some(mut cur) = doc.get(first) else {
        return Ok(());
    };
    for k in rest {
        match cur {
            Bson::Document(d) => match d.get(k) {
                Some(x) => cur = x,
                None => return Ok(()),
            },
            Bson::Array(a) => match array_index(k) {
                Some(i) => match a.get(i) {
                    Some(x) => cur = x,
                    None => return Ok(()),
                },
                None => return Err(not_viable(k, name, cur)),
            },
            _ => return Err(not_viable(k, name, cur)),
        }
        name = k;
    }
    Ok(())
}

/// Removes the value at a concrete path: a document field is deleted, an array element is
/// set to null (arrays keep their length). Returns whether something changed.
pub(crate) fn unset(doc: &mut Document, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    if parent.is_empty() {
        return doc.remove(last).is_some();
    }
    match get_mut(doc, parent) {
        Some(Bson::Document(d)) => d.remove(last).is_some(),
        Some(Bson::Array(a)) => match array_index(last).and_then(|i| a.get_mut(i)) {
            Some(slot) => {
                *slot = Bson::Null;
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// Whether the concrete path goes through an array before its last component (used by
/// `$rename`, which refuses array elements). Returns the field name of that array.
pub(crate) fn array_on_path(doc: &Document, path: &[String]) -> Option<String> {
    let mut cur = doc.get(path.first()?)?;
    let mut name = path.first()?;
    for k in path.iter().skip(1) {
        if matches!(cur, Bson::Array(_)) {
            return Some(name.clone());
        }
        cur = child(cur, k)?;
        name = k;
    }
    None
}

/// The scalar (or array indexed by a non-numeric name) that stops `path` from being read:
/// `(index in path of the part that cannot be taken, name of the element, the element)`.
/// `None` when the path exists or merely ends early in a document or past an array's end.
pub(crate) fn blocking_element<'a>(
    doc: &'a Document,
    path: &'a [String],
) -> Option<(usize, &'a str, &'a Bson)> {
    let (first, rest) = path.split_first()?;
    let mut cur = doc.get(first)?;
    let mut name = first.as_str();
    for (i, k) in rest.iter().enumerate() {
        let next = match cur {
            Bson::Document(d) => d.get(k),
            Bson::Array(a) => match array_index(k) {
                Some(idx) => a.get(idx),
                None => return Some((i + 1, name, cur)),
            },
            _ => return Some((i + 1, name, cur)),
        };
        cur = next?;
        name = k;
    }
    None
}

/// `PathNotViable` when reading `path` would have to traverse a scalar (or an array with a
/// non-numeric key): "cannot use the part (b of a.b) to traverse the element ({a: 1})".
pub(crate) fn check_traversable(doc: &Document, path: &[String]) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    let Some(mut cur) = doc.get(first) else {
        return Ok(());
    };
    let mut name = first;
    for k in rest {
        let next = match cur {
            Bson::Document(d) => d.get(k),
            Bson::Array(a) if array_index(k).is_some() => array_index(k).and_then(|i| a.get(i)),
            _ => {
                return Err(QueryError::new(
                    MongoCode::PathNotViable,
                    format!(
                        "cannot use the part ({name} of {}) to traverse the element ({{{}}})",
                        path.join("."),
                        render::element(name, cur)
                    ),
                ));
            }
        };
        let Some(next) = next else {
            return Ok(());
        };
        cur = next;
        name = k;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn p(s: &str) -> ConcretePath {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn parses_positional_components() {
        let up = UpdatePath::parse("a.$[].b.$[i].$", &Limits::default()).expect("parses");
        assert_eq!(
            up.parts,
            vec![
                Component::Field("a".into()),
                Component::AllElements,
                Component::Field("b".into()),
                Component::Filtered("i".into()),
                Component::Positional
            ]
        );
        assert!(up.is_dynamic());
        let e = UpdatePath::parse("a..b", &Limits::default()).expect_err("empty part");
        assert_eq!(e.code, MongoCode::EmptyFieldName);
        let e = UpdatePath::parse("a.$.b.$", &Limits::default()).expect_err("two $");
        assert_eq!(e.code, MongoCode::BadValue);
        let nested = UpdatePath::parse("a.$x", &Limits::default()).expect("nested $ field");
        assert_eq!(
            nested.concrete(),
            Some(vec!["a".to_string(), "$x".to_string()])
        );
    }

    #[test]
    fn set_creates_and_pads() {
        let mut d = doc! {"a": [1]};
        set(&mut d, &p("a.3"), Bson::Int32(9)).expect("set");
        assert_eq!(d, doc! {"a": [1, null, null, 9]});
        let mut d = doc! {};
        set(&mut d, &p("x.0.y"), Bson::Int32(1)).expect("set");
        assert_eq!(d, doc! {"x": {"0": {"y": 1}}});
        let mut d = doc! {"a": 1};
        let e = set(&mut d, &p("a.b"), Bson::Int32(1)).expect_err("scalar");
        assert_eq!(e.message, "Cannot create field 'b' in element {a: 1}");
        let mut d = doc! {"a": [1]};
        let e = set(&mut d, &p("a.9999999"), Bson::Int32(1)).expect_err("padding");
        assert_eq!(e.code, MongoCode::Location(34));
    }

    #[test]
    fn unset_nulls_array_elements() {
        let mut d = doc! {"a": [1, 2], "b": {"c": 1}};
        assert!(unset(&mut d, &p("a.0")));
        assert!(unset(&mut d, &p("b.c")));
        assert!(!unset(&mut d, &p("b.zz")));
        assert_eq!(d, doc! {"a": [null, 2], "b": {}});
    }

    #[test]
    fn numeric_names_apply_in_numeric_order() {
        let mut paths: Vec<ConcretePath> = ["a.10", "a.2", "a.b", "a", "a.02", "b", "a.2.x"]
            .iter()
            .map(|s| p(s))
            .collect();
        paths.sort_by(|x, y| compare_paths(x, y));
        let got: Vec<String> = paths.iter().map(|x| x.join(".")).collect();
        assert_eq!(got, ["a", "a.02", "a.2", "a.2.x", "a.10", "a.b", "b"]);
    }

    #[test]
    fn indices_are_strict() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("-1"), None);
        assert_eq!(array_index("99999999999999999999999"), None);
    }
}
