//! `$unwind`: one output document per element of an array field.
//!
//! The path is read through embedded documents only (not through arrays). A non-array,
//! non-null value counts as a one-element array. Null, missing and empty arrays produce no
//! output unless `preserveNullAndEmptyArrays` is set; then the document passes through (an
//! empty array field is removed) with a null `includeArrayIndex`. Indexes are Int64.

use bson::{Bson, Document};

use super::util::{get_nested, remove_nested, set_nested, split_field_path, type_name};
use crate::error::{QueryError, Result};

/// A parsed `$unwind` stage.
#[derive(Debug, Clone)]
pub struct UnwindStage {
    path: Vec<String>,
    preserve: bool,
    index_field: Option<Vec<String>>,
}

fn parse_path(s: &str) -> Result<Vec<String>> {
    let Some(p) = s.strip_prefix('$') else {
        return Err(QueryError::location(
            28818,
            format!("path option to $unwind stage should be prefixed with a '$': {s}"),
        ));
    };
    split_field_path(p)
}

impl UnwindStage {
    /// Parses `"$path"` or `{path, preserveNullAndEmptyArrays, includeArrayIndex}`.
    pub(crate) fn parse(spec: &Bson) -> Result<UnwindStage> {
        match spec {
            Bson::String(s) => Ok(UnwindStage {
                path: parse_path(s)?,
                preserve: false,
                index_field: None,
            }),
            Bson::Document(d) => {
                let mut path = None;
                let mut preserve = false;
                let mut index_field = None;
                for (k, v) in d {
                    match k.as_str() {
                        "path" => {
                            let Bson::String(s) = v else {
                                return Err(QueryError::location(
                                    28808,
                                    format!(
                                        "expected a string as the path for $unwind stage, got {}",
                                        type_name(v)
                                    ),
                                ));
                            };
                            path = Some(parse_path(s)?);
                        }
                        "preserveNullAndEmptyArrays" => {
                            let Bson::Boolean(b) = v else {
                                return Err(QueryError::location(
                                    28809,
                                    format!(
                                        "expected a boolean for the preserveNullAndEmptyArrays option to $unwind stage, got {}",
                                        type_name(v)
                                    ),
                                ));
                            };
                            preserve = *b;
                        }
                        "includeArrayIndex" => {
                            let s = match v {
                                Bson::String(s) if !s.is_empty() => s,
                                _ => {
                                    return Err(QueryError::location(
                                        28810,
                                        format!(
                                            "expected a non-empty string for the includeArrayIndex option to $unwind stage, got {}",
                                            type_name(v)
                                        ),
                                    ));
                                }
                            };
                            if s.starts_with('$') {
                                return Err(QueryError::location(
                                    28822,
                                    format!(
                                        "includeArrayIndex option to $unwind stage should not be prefixed with a '$': {s}"
                                    ),
                                ));
                            }
                            index_field = Some(split_field_path(s)?);
                        }
                        other => {
                            return Err(QueryError::location(
                                28811,
                                format!("unrecognized option to $unwind stage: {other}"),
                            ));
                        }
                    }
                }
                let Some(path) = path else {
                    return Err(QueryError::location(
                        28812,
                        "no path specified to $unwind stage",
                    ));
                };
                Ok(UnwindStage {
                    path,
                    preserve,
                    index_field,
                })
            }
            other => Err(QueryError::location(
                15981,
                format!(
                    "expected either a string or an object as specification for $unwind stage, got {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// Unwinds every document.
    pub(crate) fn apply(&self, docs: Vec<Document>) -> Vec<Document> {
        let mut out = Vec::with_capacity(docs.len());
        for doc in docs {
            self.unwind_one(doc, &mut out);
        }
        out
    }

    fn unwind_one(&self, doc: Document, out: &mut Vec<Document>) {
        match get_nested(&doc, &self.path) {
            Some(Bson::Array(items)) if !items.is_empty() => {
                let items = items.clone();
                for (i, item) in items.into_iter().enumerate() {
                    let mut d = doc.clone();
                    set_nested(&mut d, &self.path, item);
                    if let Some(ix) = &self.index_field {
                        set_nested(
                            &mut d,
                            ix,
                            Bson::Int64(i64::try_from(i).unwrap_or(i64::MAX)),
                        );
                    }
                    out.push(d);
                }
            }
            Some(Bson::Array(_)) => {
                if self.preserve {
                    let mut d = doc;
                    remove_nested(&mut d, &self.path);
                    self.push_index_null(d, out);
                }
            }
            None | Some(Bson::Null) | Some(Bson::Undefined) => {
                if self.preserve {
                    self.push_index_null(doc, out);
                }
            }
            Some(_) => self.push_index_null(doc, out),
        }
    }

    fn push_index_null(&self, mut d: Document, out: &mut Vec<Document>) {
        if let Some(ix) = &self.index_field {
            set_nested(&mut d, ix, Bson::Null);
        }
        out.push(d);
    }
}
