//! Loading project definitions: one file (`project.json`, `project.yaml`/`.yml`) holding the
//! whole definition, optionally completed by a split directory layout:
//!
//! ```text
//! app/
//!   project.yaml        name, auth, cors, and anything else
//!   models/*.json|yaml  each file: one model object or an array of them → $.models
//!   apis/*              → $.apis        subflows/* → $.subflows        search/* → $.search
//! ```
//!
//! Files of a folder are read in name order and appended after the entries of the project
//! file; files with other extensions and sub-folders are ignored. The [`SourceMap`] records
//! which file every appended entry came from, so every error can name its file.
//!
//! Invariant: no file larger than the limit ([`MAX_DEFINITION_FILE_BYTES`] by default) is
//! read into memory.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::error::{DefError, SourceMap};
use super::limits::DefinitionLimits;

/// Largest definition file, in bytes.
pub const MAX_DEFINITION_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most files read from the split folders of one definition directory.
pub const MAX_DEFINITION_FILES: usize = 2000;
/// Split folders and the top-level array each maps onto.
pub const SPLIT_FOLDERS: &[&str] = &["models", "apis", "subflows", "search"];
/// Names of the whole-definition file, in the order they are looked for.
pub const PROJECT_FILES: &[&str] = &["project.json", "project.yaml", "project.yml"];

/// A definition as read from disk or text, with where each part came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The merged definition.
    pub definition: Value,
    /// JSON-path prefix → file name.
    pub sources: SourceMap,
}

fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

fn parse_value(text: &str, file_name: &str, max_bytes: u64) -> Result<Value, DefError> {
    if text.len() as u64 > max_bytes {
        return Err(DefError::in_file(
            file_name,
            "$",
            "file_too_large",
            format!("the file is larger than {max_bytes} bytes"),
        ));
    }
    if is_yaml(file_name) {
        serde_norway::from_str::<Value>(text).map_err(|e| {
            DefError::in_file(file_name, "$", "parse_error", format!("invalid YAML: {e}"))
        })
    } else if file_name.ends_with(".json") {
        serde_json::from_str::<Value>(text).map_err(|e| {
            DefError::in_file(file_name, "$", "parse_error", format!("invalid JSON: {e}"))
        })
    } else {
        Err(DefError::in_file(
            file_name,
            "$",
            "unsupported_file",
            "a definition file ends in .json, .yaml or .yml",
        ))
    }
}

/// Parses a whole definition held in one file's text (JSON or YAML, by `file_name`'s
/// extension).
pub fn parse_definition(text: &str, file_name: &str) -> Result<Loaded, Vec<DefError>> {
    parse_definition_with(text, file_name, &DefinitionLimits::default())
}

/// [`parse_definition`] under `limits`.
pub fn parse_definition_with(
    text: &str,
    file_name: &str,
    limits: &DefinitionLimits,
) -> Result<Loaded, Vec<DefError>> {
    let definition = parse_value(text, file_name, limits.max_file_bytes).map_err(|e| vec![e])?;
    Ok(Loaded {
        definition,
        sources: SourceMap::single(file_name),
    })
}

fn read_limited(path: &Path, name: &str, max_bytes: u64) -> Result<String, DefError> {
    let io = |e: std::io::Error| {
        DefError::in_file(name, "$", "io_error", format!("cannot read the file: {e}"))
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let mut text = String::new();
    f.take(max_bytes.saturating_add(1))
        .read_to_string(&mut text)
        .map_err(io)?;
    if text.len() as u64 > max_bytes {
        return Err(DefError::in_file(
            name,
            "$",
            "file_too_large",
            format!("the file is larger than {max_bytes} bytes"),
        ));
    }
    Ok(text)
}

/// Reads a definition directory (see the module docs) under the default limits.
pub fn load_dir(dir: &Path) -> Result<Loaded, Vec<DefError>> {
    load_dir_with(dir, &DefinitionLimits::default())
}

/// [`load_dir`] under `limits`.
pub fn load_dir_with(dir: &Path, limits: &DefinitionLimits) -> Result<Loaded, Vec<DefError>> {
    let max = limits.max_file_bytes;
    let found: Vec<&str> = PROJECT_FILES
        .iter()
        .copied()
        .filter(|f| dir.join(f).is_file())
        .collect();
    let main = match found.as_slice() {
        [one] => *one,
        [] => {
            return Err(vec![DefError::in_file(
                dir.display().to_string(),
                "$",
                "missing_project_file",
                format!("no {} in the directory", PROJECT_FILES.join(" or ")),
            )]);
        }
        many => {
            return Err(vec![DefError::in_file(
                dir.display().to_string(),
                "$",
                "ambiguous_project_file",
                format!("several project files: {} (keep one)", many.join(", ")),
            )]);
        }
    };
    let mut errors = Vec::new();
    let mut definition =
        match read_limited(&dir.join(main), main, max).and_then(|t| parse_value(&t, main, max)) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(vec![DefError::in_file(
                    main,
                    "$",
                    "invalid_type",
                    "a project definition must be an object",
                )]);
            }
            Err(e) => return Err(vec![e]),
        };
    let mut sources = SourceMap::single(main);
    let mut files_read = 0usize;
    for folder in SPLIT_FOLDERS {
        let sub = dir.join(folder);
        if !sub.is_dir() {
            continue;
        }
        let mut names: Vec<String> = match std::fs::read_dir(&sub) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.') && (n.ends_with(".json") || is_yaml(n)))
                .collect(),
            Err(e) => {
                errors.push(DefError::in_file(
                    *folder,
                    "$",
                    "io_error",
                    format!("cannot list the folder: {e}"),
                ));
                continue;
            }
        };
        names.sort();
        for n in names {
            files_read += 1;
            let rel = format!("{folder}/{n}");
            if files_read > limits.max_files {
                errors.push(DefError::in_file(
                    rel,
                    "$",
                    "too_many",
                    format!("more than {} definition files", limits.max_files),
                ));
                return Err(errors);
            }
            let value = match read_limited(&sub.join(&n), &rel, max)
                .and_then(|t| parse_value(&t, &rel, max))
            {
                Ok(v) => v,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let items = match value {
                Value::Array(a) => a,
                Value::Object(_) => vec![value],
                _ => {
                    errors.push(DefError::in_file(
                        rel,
                        "$",
                        "invalid_type",
                        format!("a file in {folder}/ holds one object or an array of objects"),
                    ));
                    continue;
                }
            };
            let target = definition
                .entry(folder.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(arr) = target else {
                errors.push(DefError::in_file(
                    main,
                    format!("$.{folder}"),
                    "invalid_type",
                    format!("must be an array (files in {folder}/ are appended to it)"),
                ));
                continue;
            };
            for item in items {
                sources.insert(format!("$.{folder}[{}]", arr.len()), rel.clone());
                arr.push(item);
            }
        }
    }
    if errors.is_empty() {
        Ok(Loaded {
            definition: Value::Object(definition),
            sources,
        })
    } else {
        Err(errors)
    }
}
