//! Node kinds: the catalogue (type name, outputs, availability, compile function) and the
//! compiled operation of each kind. One file per node kind or small family.
//!
//! Extension points: node kinds whose service is not part of this build (object storage,
//! queues, e-mail, SMS) are listed with `available: false`; the validator answers "node type X
//! is not available in this build". Their services are the capability traits of
//! [`crate::services`].

pub(crate) mod api_call;
pub(crate) mod arrays;
pub mod control;
pub mod crypto;
pub mod db;
pub(crate) mod debug;
pub(crate) mod json;
pub mod loops;
pub(crate) mod math;
pub(crate) mod strings;
pub(crate) mod subflow;
pub(crate) mod variables;

use bson::{Bson, DateTime};

use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::Result;

/// A node kind of the catalogue.
pub(crate) struct KindInfo {
    /// The `type` string.
    pub(crate) name: &'static str,
    /// Output keys (`$.<node>.<key>`).
    pub(crate) outputs: &'static [&'static str],
    /// Whether this build implements it.
    pub(crate) available: bool,
    /// Reads the node's fields into its operation.
    pub(crate) compile: fn(&mut Compiler<'_>, &mut Fields<'_>) -> Op,
}

/// The compiled operation of a node.
#[derive(Debug)]
pub(crate) enum Op {
    /// `httpResponse`
    Respond(control::Respond),
    /// `ifElse`
    IfElse(control::IfElse),
    /// `ifElseV2`
    IfElseV2(control::IfElseV2),
    /// `switchCase`
    Switch(control::Switch),
    /// `forLoop`
    ForLoop(loops::ForLoop),
    /// `whileLoop`
    While(loops::While),
    /// A synchronous node computing `result` (variable, string, array, math, JSON nodes).
    Pure(Pure),
    /// `pbkdf2HmacHash` (runs on the blocking pool).
    Pbkdf2(crypto::Pbkdf2),
    /// Database nodes.
    Db(db::DbNode),
    /// `apiCall`
    ApiCall(api_call::ApiCall),
    /// `executeSubflow`
    Subflow(subflow::ExecSubflow),
    /// `debug`
    Debug(debug::Debug),
    /// A node that was invalid (only present in flows that failed validation).
    Invalid,
}

/// A synchronous computation of a node's `result`.
pub(crate) trait PureOp: Send + Sync + std::fmt::Debug {
    /// Computes the result from the frame.
    fn eval(&self, f: &Frame<'_>, now: DateTime) -> Result<Bson>;

    /// Computes the same result with the frame mutable, so a node that updates its own
    /// variable can move the old value out instead of copying it. On error the frame is
    /// unchanged. Default: [`PureOp::eval`].
    fn eval_mut(&self, f: &mut Frame<'_>, now: DateTime) -> Result<Bson> {
        self.eval(f, now)
    }
}

/// A pure node: its computation and the variable slot it stores the result in, if any.
#[derive(Debug)]
pub(crate) struct Pure {
    pub(crate) imp: Box<dyn PureOp>,
    pub(crate) target: Option<usize>,
}

/// Builds a pure op.
pub(crate) fn pure(imp: impl PureOp + 'static, target: Option<usize>) -> Op {
    Op::Pure(Pure {
        imp: Box::new(imp),
        target,
    })
}

/// Whether every path through the node ends the request.
pub(crate) fn terminates(op: &Op) -> bool {
    match op {
        Op::Respond(_) => true,
        Op::IfElse(n) => n.then.terminates && n.els.as_ref().is_some_and(|b| b.terminates),
        Op::IfElseV2(n) => {
            n.branches.iter().all(|(_, b)| b.terminates)
                && n.els.as_ref().is_some_and(|b| b.terminates)
        }
        Op::Switch(n) => {
            n.cases.iter().all(|(_, b)| b.terminates)
                && n.default.as_ref().is_some_and(|b| b.terminates)
        }
        Op::ForLoop(_)
        | Op::While(_)
        | Op::Pure(_)
        | Op::Pbkdf2(_)
        | Op::Db(_)
        | Op::ApiCall(_)
        | Op::Subflow(_)
        | Op::Debug(_)
        | Op::Invalid => false,
    }
}

/// Whether the node (or a node nested in it) awaits.
pub(crate) fn has_io(op: &Op) -> bool {
    let any = |b: &crate::compile::Block| b.nodes.iter().any(|n| n.io);
    match op {
        Op::Pbkdf2(_) | Op::Db(_) | Op::ApiCall(_) | Op::Subflow(_) => true,
        Op::IfElse(n) => any(&n.then) || n.els.as_ref().is_some_and(any),
        Op::IfElseV2(n) => {
            n.branches.iter().any(|(_, b)| any(b)) || n.els.as_ref().is_some_and(any)
        }
        Op::Switch(n) => n.cases.iter().any(|(_, b)| any(b)) || n.default.as_ref().is_some_and(any),
        Op::ForLoop(n) => any(&n.body),
        Op::While(n) => any(&n.body),
        Op::Respond(_) | Op::Pure(_) | Op::Debug(_) | Op::Invalid => false,
    }
}

const RESULT: &[&str] = &["result"];

fn unavailable(_: &mut Compiler<'_>, _: &mut Fields<'_>) -> Op {
    Op::Invalid
}

/// The catalogue (CONTRACT §5).
static KINDS: &[KindInfo] = &[
    KindInfo {
        name: "httpResponse",
        outputs: &[],
        available: true,
        compile: control::compile_respond,
    },
    KindInfo {
        name: "ifElse",
        outputs: &["condition"],
        available: true,
        compile: control::compile_if_else,
    },
    KindInfo {
        name: "ifElseV2",
        outputs: &["condition", "branch"],
        available: true,
        compile: control::compile_if_else_v2,
    },
    KindInfo {
        name: "switchCase",
        outputs: &["condition", "matched"],
        available: true,
        compile: control::compile_switch,
    },
    KindInfo {
        name: "forLoop",
        outputs: &["index", "item", "iterations"],
        available: true,
        compile: loops::compile_for,
    },
    KindInfo {
        name: "whileLoop",
        outputs: &["iterations"],
        available: true,
        compile: loops::compile_while,
    },
    KindInfo {
        name: "pbkdf2HmacHash",
        outputs: RESULT,
        available: true,
        compile: crypto::compile,
    },
    KindInfo {
        name: "debug",
        outputs: &[],
        available: true,
        compile: debug::compile,
    },
    KindInfo {
        name: "insertOne",
        outputs: RESULT,
        available: true,
        compile: db::compile_insert_one,
    },
    KindInfo {
        name: "insertMany",
        outputs: RESULT,
        available: true,
        compile: db::compile_insert_many,
    },
    KindInfo {
        name: "fetchById",
        outputs: RESULT,
        available: true,
        compile: db::compile_fetch_by_id,
    },
    KindInfo {
        name: "findOne",
        outputs: RESULT,
        available: true,
        compile: db::compile_find_one,
    },
    KindInfo {
        name: "findMany",
        outputs: RESULT,
        available: true,
        compile: db::compile_find_many,
    },
    KindInfo {
        name: "listRecords",
        outputs: RESULT,
        available: true,
        compile: db::compile_list_records,
    },
    KindInfo {
        name: "aggregate",
        outputs: RESULT,
        available: true,
        compile: db::compile_aggregate,
    },
    KindInfo {
        name: "updateOne",
        outputs: RESULT,
        available: true,
        compile: db::compile_update_one,
    },
    KindInfo {
        name: "updateById",
        outputs: RESULT,
        available: true,
        compile: db::compile_update_by_id,
    },
    KindInfo {
        name: "updateMany",
        outputs: RESULT,
        available: true,
        compile: db::compile_update_many,
    },
    KindInfo {
        name: "deleteOne",
        outputs: RESULT,
        available: true,
        compile: db::compile_delete_one,
    },
    KindInfo {
        name: "deleteMany",
        outputs: RESULT,
        available: true,
        compile: db::compile_delete_many,
    },
    KindInfo {
        name: "apiCall",
        outputs: &["statusCode", "body", "headers"],
        available: true,
        compile: api_call::compile,
    },
    KindInfo {
        name: "executeSubflow",
        outputs: RESULT,
        available: true,
        compile: subflow::compile,
    },
    KindInfo {
        name: "fireEvent",
        outputs: &["messageId"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "sendEmail",
        outputs: &["messageId"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "sendSms",
        outputs: &["messageId"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "getPresignedUrl",
        outputs: &["url"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "postPresignedUrl",
        outputs: &["url", "fields"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "deleteStorageObjects",
        outputs: &["deleted"],
        available: false,
        compile: unavailable,
    },
    KindInfo {
        name: "setVariable",
        outputs: RESULT,
        available: true,
        compile: variables::compile_set_variable,
    },
    KindInfo {
        name: "existsCheck",
        outputs: RESULT,
        available: true,
        compile: variables::compile_exists_check,
    },
    KindInfo {
        name: "buildMap",
        outputs: RESULT,
        available: true,
        compile: json::compile_build_map,
    },
    KindInfo {
        name: "buildJsonObject",
        outputs: RESULT,
        available: true,
        compile: json::compile_build_json_object,
    },
    KindInfo {
        name: "mergeJsonObjects",
        outputs: RESULT,
        available: true,
        compile: json::compile_merge_json_objects,
    },
    KindInfo {
        name: "objectToString",
        outputs: RESULT,
        available: true,
        compile: json::compile_object_to_string,
    },
    KindInfo {
        name: "updateJsonObject",
        outputs: RESULT,
        available: true,
        compile: json::compile_update_json_object,
    },
    KindInfo {
        name: "appendArray",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_append,
    },
    KindInfo {
        name: "arrayContains",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_contains,
    },
    KindInfo {
        name: "arrayIsEmpty",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_is_empty,
    },
    KindInfo {
        name: "extendArray",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_extend,
    },
    KindInfo {
        name: "getArrayItem",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_get_item,
    },
    KindInfo {
        name: "arrayLength",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_length,
    },
    KindInfo {
        name: "reverseArray",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_reverse,
    },
    KindInfo {
        name: "sortArray",
        outputs: RESULT,
        available: true,
        compile: arrays::compile_sort,
    },
    KindInfo {
        name: "setCurrentDatetime",
        outputs: RESULT,
        available: true,
        compile: variables::compile_set_current_datetime,
    },
    KindInfo {
        name: "appendString",
        outputs: RESULT,
        available: true,
        compile: strings::compile_append,
    },
    KindInfo {
        name: "concatStrings",
        outputs: RESULT,
        available: true,
        compile: strings::compile_concat,
    },
    KindInfo {
        name: "toString",
        outputs: RESULT,
        available: true,
        compile: strings::compile_to_string,
    },
    KindInfo {
        name: "stringLength",
        outputs: RESULT,
        available: true,
        compile: strings::compile_length,
    },
    KindInfo {
        name: "sliceString",
        outputs: RESULT,
        available: true,
        compile: strings::compile_slice,
    },
    KindInfo {
        name: "splitString",
        outputs: RESULT,
        available: true,
        compile: strings::compile_split,
    },
    KindInfo {
        name: "stringOperation",
        outputs: RESULT,
        available: true,
        compile: strings::compile_operation,
    },
    KindInfo {
        name: "toLower",
        outputs: RESULT,
        available: true,
        compile: strings::compile_to_lower,
    },
    KindInfo {
        name: "toUpper",
        outputs: RESULT,
        available: true,
        compile: strings::compile_to_upper,
    },
    KindInfo {
        name: "trimString",
        outputs: RESULT,
        available: true,
        compile: strings::compile_trim,
    },
    KindInfo {
        name: "addVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_add,
    },
    KindInfo {
        name: "subtractVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_subtract,
    },
    KindInfo {
        name: "multiplyVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_multiply,
    },
    KindInfo {
        name: "divideVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_divide,
    },
    KindInfo {
        name: "incrementVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_increment,
    },
    KindInfo {
        name: "decrementVariable",
        outputs: RESULT,
        available: true,
        compile: math::compile_decrement,
    },
    KindInfo {
        name: "complexMathExpr",
        outputs: RESULT,
        available: true,
        compile: math::compile_complex,
    },
];

/// The catalogue entry of a node type.
pub(crate) fn kind_info(name: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.name == name)
}

/// Every node type name of the catalogue, with whether this build implements it.
pub fn node_types() -> impl Iterator<Item = (&'static str, bool)> {
    KINDS.iter().map(|k| (k.name, k.available))
}

/// The output keys of a node type.
pub fn node_outputs(name: &str) -> Option<&'static [&'static str]> {
    kind_info(name).map(|k| k.outputs)
}
