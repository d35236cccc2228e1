//! Parsing operator-style updates (`{$set: {...}, $inc: {...}}`) into a list of modifications.
//!
//! Checks done here, with MongoDB's codes: unknown modifiers and non-document operator
//! arguments (`FailedToParse` 9; an empty operand such as `{$set: {}}` is a no-op since
//! MongoDB 5.0), invalid paths, operator-specific argument errors,
//! paths that overlap (`ConflictingUpdateOperators` 40, "Updating the path 'a.b' would create
//! a conflict at 'a'"), `$[<id>]` without an array filter and array filters no path uses.
//!
//! Invariant: in a parsed [`OperatorUpdate`] no two modification paths (including `$rename`
//! sources) are equal or prefixes of one another, with positional components compared as
//! written; overlaps that only appear after expanding `$[]`/`$[<id>]` are caught when applying.

use bson::{Bson, Document};

use super::arithmetic::{self, ArithKind, BitOp};
use super::arrays::{self, PullCond, PushSpec};
use super::fields::{self, DateKind};
use super::path::{self, Component, ConcretePath, UpdatePath};
use super::positional::{self, ArrayFilters};
use super::render;
use crate::error::{QueryError, Result};
use crate::limits::Limits;

/// One modification of one path.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    /// `$set`.
    Set(Bson),
    /// `$setOnInsert`.
    SetOnInsert(Bson),
    /// `$unset`.
    Unset,
    /// `$rename`; the modification's path is the destination.
    Rename {
        /// The source path.
        from: ConcretePath,
    },
    /// `$currentDate`.
    CurrentDate(DateKind),
    /// `$inc` / `$mul`.
    Arith(ArithKind, Bson),
    /// `$min` / `$max`.
    MinMax {
        /// `$min` when true.
        is_min: bool,
        /// The bound.
        value: Bson,
    },
    /// `$bit`.
    Bit(Vec<(BitOp, Bson)>),
    /// `$push`.
    Push(PushSpec),
    /// `$addToSet`.
    AddToSet(Vec<Bson>),
    /// `$pop`; removes the first element when `first`.
    Pop {
        /// `-1` when true, `1` when false.
        first: bool,
    },
    /// `$pull`.
    Pull(PullCond),
    /// `$pullAll`.
    PullAll(Vec<Bson>),
}

/// A modification: a path and what to do there.
#[derive(Debug, Clone)]
pub(crate) struct Mod {
    /// Where.
    pub(crate) path: UpdatePath,
    /// What.
    pub(crate) op: Op,
}

/// A parsed operator-style update.
#[derive(Debug, Clone)]
pub(crate) struct OperatorUpdate {
    /// Modifications in the order written.
    pub(crate) mods: Vec<Mod>,
    /// Parsed `arrayFilters`.
    pub(crate) filters: ArrayFilters,
}

/// Parses an operator-style update document.
pub(crate) fn parse_operator_update(
    update: &Document,
    array_filters: Option<&[Document]>,
    limits: &Limits,
) -> Result<OperatorUpdate> {
    let filters = positional::parse_array_filters(array_filters.unwrap_or_default(), limits)?;
    let mut mods = Vec::new();
    for (name, arg) in update {
        let Bson::Document(fields) = arg else {
            if !is_modifier(name) {
                return Err(unknown_modifier(name));
            }
            return Err(QueryError::failed_to_parse(format!(
                "Modifiers operate on fields but we found type {} instead. For example: {{$mod: {{<field>: ...}}}} not {{{}}}",
                render::type_name(arg),
                render::element(name, arg)
            )));
        };
        if !is_modifier(name) {
            return Err(unknown_modifier(name));
        }
        // Since MongoDB 5.0 an empty operand (`{$set: {}}`) is a no-op, not an error.
        for (field, value) in fields {
            mods.push(parse_mod(name, field, value, limits)?);
        }
    }
    check_conflicts(&mods)?;
    check_identifiers(update, &mods, &filters)?;
    Ok(OperatorUpdate { mods, filters })
}

/// The update modifiers MongoDB knows.
const MODIFIERS: &[&str] = &[
    "$set",
    "$unset",
    "$setOnInsert",
    "$rename",
    "$currentDate",
    "$inc",
    "$mul",
    "$min",
    "$max",
    "$bit",
    "$push",
    "$addToSet",
    "$pop",
    "$pull",
    "$pullAll",
];

fn is_modifier(name: &str) -> bool {
    MODIFIERS.contains(&name)
}

fn unknown_modifier(name: &str) -> QueryError {
    QueryError::failed_to_parse(format!(
        "Unknown modifier: {name}. Expected a valid update modifier or pipeline-style update specified as an array"
    ))
}

fn parse_mod(op: &str, field: &str, v: &Bson, limits: &Limits) -> Result<Mod> {
    let p = UpdatePath::parse(field, limits)?;
    // Storage validation: operators that may create a field refuse a `$`-prefixed top-level
    // name (nested ones are allowed since MongoDB 5.0).
    let creates = !matches!(op, "$unset" | "$pop" | "$pull" | "$pullAll" | "$rename");
    if creates {
        check_top_level_name(&p)?;
    }
    let op = match op {
        "$set" => Op::Set(v.clone()),
        "$setOnInsert" => Op::SetOnInsert(v.clone()),
        "$unset" => Op::Unset,
        "$rename" => {
            let (to, from) = fields::parse_rename(&p, v, limits)?;
            return Ok(Mod {
                path: to,
                op: Op::Rename { from },
            });
        }
        "$currentDate" => Op::CurrentDate(fields::parse_current_date(v)?),
        "$inc" => Op::Arith(
            ArithKind::Inc,
            arithmetic::parse_arith(ArithKind::Inc, field, v)?,
        ),
        "$mul" => Op::Arith(
            ArithKind::Mul,
            arithmetic::parse_arith(ArithKind::Mul, field, v)?,
        ),
        "$min" | "$max" => Op::MinMax {
            is_min: op == "$min",
            value: v.clone(),
        },
        "$bit" => Op::Bit(arithmetic::parse_bit(v)?),
        "$push" => Op::Push(arrays::parse_push(v)?),
        "$addToSet" => Op::AddToSet(arrays::parse_add_to_set(v)?),
        "$pop" => Op::Pop {
            first: arrays::parse_pop(field, v)?,
        },
        "$pull" => Op::Pull(arrays::parse_pull(v, limits.max_nesting_depth)?),
        "$pullAll" => Op::PullAll(arrays::parse_pull_all(v)?),
        other => return Err(unknown_modifier(other)),
    };
    Ok(Mod { path: p, op })
}

/// `DollarPrefixedFieldName` for a `$`-prefixed top-level field name (mongod's storage
/// validation message).
pub(crate) fn check_top_level_name(p: &UpdatePath) -> Result<()> {
    if let Some(Component::Field(first)) = p.parts.first()
        && first.starts_with('$')
    {
        return Err(QueryError::new(
            crate::error::MongoCode::DollarPrefixedFieldName,
            format!(
                "The dollar ($) prefixed field '{first}' in '{first}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."
            ),
        ));
    }
    Ok(())
}

/// Refuses overlapping paths (see the module invariant).
fn check_conflicts(mods: &[Mod]) -> Result<()> {
    // (components, dotted, order written)
    let mut entries: Vec<(Vec<String>, String, usize)> = Vec::with_capacity(mods.len());
    for (i, m) in mods.iter().enumerate() {
        if let Op::Rename { from } = &m.op {
            entries.push((from.clone(), from.join("."), 2 * i));
        }
        entries.push((m.path.keys(), m.path.dotted.clone(), 2 * i + 1));
    }
    entries.sort_by(|a, b| path::compare_paths(&a.0, &b.0).then(a.2.cmp(&b.2)));
    for w in entries.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if path::is_prefix(&a.0, &b.0) {
            let later = if a.2 > b.2 { &a.1 } else { &b.1 };
            return Err(QueryError::new(
                crate::error::MongoCode::ConflictingUpdateOperators,
                format!(
                    "Updating the path '{later}' would create a conflict at '{}'",
                    a.1
                ),
            ));
        }
    }
    Ok(())
}

/// Every `$[<id>]` has a filter and every filter is used.
fn check_identifiers(update: &Document, mods: &[Mod], filters: &ArrayFilters) -> Result<()> {
    let mut used = std::collections::HashSet::new();
    for m in mods {
        for id in positional::identifiers(&m.path) {
            if !filters.contains_key(id) {
                return Err(QueryError::bad_value(format!(
                    "No array filter found for identifier '{id}' in path '{}'",
                    m.path.dotted
                )));
            }
            used.insert(id.to_string());
        }
    }
    let mut unused: Vec<&String> = filters.keys().filter(|k| !used.contains(*k)).collect();
    unused.sort();
    if let Some(id) = unused.first() {
        return Err(QueryError::failed_to_parse(format!(
            "The array filter for identifier '{id}' was not used in the update {}",
            render::value(&Bson::Document(update.clone()))
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MongoCode;
    use bson::doc;

    fn parse(u: Document) -> Result<OperatorUpdate> {
        parse_operator_update(&u, None, &Limits::default())
    }

    #[test]
    fn conflicts_are_found_in_any_order() {
        let e = parse(doc! {"$set": {"a.b": 1}, "$inc": {"a": 1}}).expect_err("conflict");
        assert_eq!(e.code, MongoCode::ConflictingUpdateOperators);
        assert_eq!(
            e.message,
            "Updating the path 'a' would create a conflict at 'a'"
        );
        let e = parse(doc! {"$set": {"a": 1}, "$inc": {"a.b": 1}}).expect_err("conflict");
        assert_eq!(
            e.message,
            "Updating the path 'a.b' would create a conflict at 'a'"
        );
        assert!(parse(doc! {"$set": {"a.b": 1, "a.c": 1, "ab": 1}}).is_ok());
        assert!(parse(doc! {"$rename": {"a": "b"}, "$set": {"a": 1}}).is_err());
        assert!(parse(doc! {"$set": {"a.$[]": 1, "a.0": 1}}).is_ok());
    }

    #[test]
    fn operator_shapes() {
        let empty = parse(doc! {"$set": {}, "$inc": {}}).expect("empty operands are no-ops");
        assert!(empty.mods.is_empty());
        let e = parse(doc! {"$foo": {"a": 1}}).expect_err("unknown");
        assert_eq!(e.code, MongoCode::FailedToParse);
        assert!(e.message.starts_with("Unknown modifier: $foo."));
        let e = parse(doc! {"$set": 1}).expect_err("not a doc");
        assert_eq!(e.code, MongoCode::FailedToParse);
        let e = parse(doc! {"$set": {"a.$[x]": 1}}).expect_err("no filter");
        assert_eq!(
            e.message,
            "No array filter found for identifier 'x' in path 'a.$[x]'"
        );
    }
}
