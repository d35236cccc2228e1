//! MongoDB's BSON corpus (`bson-corpus/*.json` of the specifications repository): BSON bytes,
//! canonical and relaxed Extended JSON must convert into each other exactly as the spec says.
//!
//! The data is read at run time from `$STRATUS_CONFORMANCE_DIR/mongodb-specifications/
//! bson-corpus` (default `../shared/conformance/` from the repository root); without it the
//! test prints why it skipped.

use std::path::PathBuf;

use bson::{Bson, Document, RawDocument};
use serde_json::Value;
use stratus_query::ejson::{self, Mode};

fn corpus_dir() -> Option<PathBuf> {
    let base = std::env::var_os("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let dir = base.join("mongodb-specifications/bson-corpus");
    dir.is_dir().then_some(dir)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("corpus hex is valid"))
        .collect()
}

fn decode(bytes: &[u8]) -> Result<Document, String> {
    let raw = RawDocument::from_bytes(bytes).map_err(|e| e.to_string())?;
    Document::try_from(raw).map_err(|e| e.to_string())
}

fn encode(d: &Document) -> Vec<u8> {
    let mut out = Vec::new();
    d.to_writer(&mut out).expect("document encodes");
    out
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).expect("corpus JSON is valid")
}

/// Known, documented deviations of the `bson` crate from the corpus (see
/// docs/mongodb-compatibility.md); everything else must pass.
fn known_deviation(file: &str, description: &str) -> Option<&'static str> {
    let _ = (file, description);
    None
}

#[derive(Default)]
struct Tally {
    passed: usize,
    skipped: Vec<String>,
    failed: Vec<String>,
}

fn check_valid(file: &str, case: &Value, t: &mut Tally) {
    let desc = case["description"].as_str().unwrap_or("?");
    let name = format!("{file}: {desc}");
    if let Some(reason) = known_deviation(file, desc) {
        t.skipped.push(format!("{name} — {reason}"));
        return;
    }
    let lossy = case["lossy"].as_bool().unwrap_or(false);
    let cb = hex(case["canonical_bson"].as_str().expect("canonical_bson"));
    let cej = json(
        case["canonical_extjson"]
            .as_str()
            .expect("canonical_extjson"),
    );
    let rej = case["relaxed_extjson"].as_str().map(json);
    let mut errors = Vec::new();

    match decode(&cb) {
        Ok(native) => {
            if encode(&native) != cb {
                errors.push("cB -> native -> bson != cB".to_string());
            }
            if ejson::document_to_json(&native, Mode::Canonical) != cej {
                errors.push(format!(
                    "cB -> canonical EJSON: got {}",
                    ejson::document_to_json(&native, Mode::Canonical)
                ));
            }
            if let Some(rej) = &rej
                && &ejson::document_to_json(&native, Mode::Relaxed) != rej
            {
                errors.push(format!(
                    "cB -> relaxed EJSON: got {}",
                    ejson::document_to_json(&native, Mode::Relaxed)
                ));
            }
        }
        Err(e) => errors.push(format!("cB does not decode: {e}")),
    }
    match ejson::from_json(cej.clone()) {
        Ok(Bson::Document(native)) => {
            if ejson::document_to_json(&native, Mode::Canonical) != cej {
                errors.push("cEJ -> native -> cEJ differs".to_string());
            }
            if !lossy && encode(&native) != cb {
                errors.push("cEJ -> bson != cB".to_string());
            }
        }
        Ok(_) => errors.push("cEJ is not a document".to_string()),
        Err(e) => errors.push(format!("cEJ does not parse: {e}")),
    }
    if let Some(db) = case["degenerate_bson"].as_str() {
        match decode(&hex(db)) {
            Ok(native) => {
                if encode(&native) != cb {
                    errors.push("dB -> native -> bson != cB".to_string());
                }
            }
            Err(e) => errors.push(format!("dB does not decode: {e}")),
        }
    }
    if let Some(dej) = case["degenerate_extjson"].as_str() {
        match ejson::from_json(json(dej)) {
            Ok(Bson::Document(native)) => {
                if ejson::document_to_json(&native, Mode::Canonical) != cej {
                    errors.push("dEJ -> native -> cEJ differs".to_string());
                }
                if !lossy && encode(&native) != cb {
                    errors.push("dEJ -> bson != cB".to_string());
                }
            }
            Ok(_) => errors.push("dEJ is not a document".to_string()),
            Err(e) => errors.push(format!("dEJ does not parse: {e}")),
        }
    }
    if let Some(rej) = &rej {
        match ejson::from_json(rej.clone()) {
            Ok(Bson::Document(native)) => {
                if &ejson::document_to_json(&native, Mode::Relaxed) != rej {
                    errors.push("rEJ -> native -> rEJ differs".to_string());
                }
            }
            Ok(_) => errors.push("rEJ is not a document".to_string()),
            Err(e) => errors.push(format!("rEJ does not parse: {e}")),
        }
    }
    if errors.is_empty() {
        t.passed += 1;
    } else {
        t.failed.push(format!("{name}: {}", errors.join("; ")));
    }
}

#[test]
fn bson_corpus() {
    let Some(dir) = corpus_dir() else {
        println!(
            "SKIP bson_corpus: conformance data not found (set STRATUS_CONFORMANCE_DIR to the \
             folder holding mongodb-specifications/)"
        );
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus dir readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut t = Tally::default();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let spec: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("json");
        for case in spec["valid"].as_array().into_iter().flatten() {
            check_valid(&file, case, &mut t);
        }
        for case in spec["decodeErrors"].as_array().into_iter().flatten() {
            let desc = case["description"].as_str().unwrap_or("?");
            let bytes = hex(case["bson"].as_str().expect("bson"));
            if decode(&bytes).is_ok() {
                t.failed
                    .push(format!("{file}: decode error expected: {desc}"));
            } else {
                t.passed += 1;
            }
        }
        for case in spec["parseErrors"].as_array().into_iter().flatten() {
            let desc = case["description"].as_str().unwrap_or("?");
            let s = case["string"].as_str().expect("string");
            let refused = if spec["bson_type"] == "0x13" {
                ejson::parse_decimal128(s).is_err()
            } else {
                serde_json::from_str::<Value>(s)
                    .map_err(|e| e.to_string())
                    .and_then(|v| ejson::from_json(v).map_err(|e| e.to_string()))
                    .is_err()
            };
            if refused {
                t.passed += 1;
            } else {
                t.failed
                    .push(format!("{file}: parse error expected: {desc}"));
            }
        }
    }
    println!(
        "bson corpus: {} passed, {} skipped, {} failed",
        t.passed,
        t.skipped.len(),
        t.failed.len()
    );
    for s in &t.skipped {
        println!("  skipped: {s}");
    }
    for f in &t.failed {
        println!("  FAILED: {f}");
    }
    assert!(
        t.failed.is_empty(),
        "{} BSON corpus cases failed",
        t.failed.len()
    );
}
