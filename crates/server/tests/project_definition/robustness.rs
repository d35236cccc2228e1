//! Every member of the shop definition replaced by values of every JSON type: compiling
//! never panics, and whenever it fails each error has a path into the definition and a code.

use serde_json::{Value, json};
use stratus_server::project::compile_value;

use crate::common::shop;

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn any_member_of_any_type_never_panics() {
    let base = shop();
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    assert!(all.len() > 60, "{}", all.len());
    let odd = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!("$.request.pathParams.zz"),
        json!([]),
        json!({}),
        json!([{}]),
    ];
    let mut failed = 0;
    for p in &all {
        for v in &odd {
            let mut d = base.clone();
            if let Some(slot) = d.pointer_mut(p) {
                *slot = v.clone();
            }
            if let Err(errors) = compile_value(&d) {
                failed += 1;
                assert!(!errors.is_empty());
                for e in errors {
                    assert!(e.path.starts_with('$'), "{p} = {v}: {e:?}");
                    assert!(
                        !e.code.is_empty() && !e.message.is_empty(),
                        "{p} = {v}: {e:?}"
                    );
                }
            }
        }
    }
    assert!(
        failed > all.len(),
        "most replacements must be refused ({failed})"
    );
}
