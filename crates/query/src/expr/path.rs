//! Field-path lookup for expressions (`"$a.b"`): unlike query matching, a path through an
//! array yields the array of the values found in its elements (`$a.b` on `{a: [{b: 1}, {b: 2}]}`
//! is `[1, 2]`), and numeric components do not index arrays.

use bson::Bson;

/// The value at `path` below `v`, or `None` when missing.
pub fn get_path(v: &Bson, path: &[String]) -> Option<Bson> {
    let Some((first, rest)) = path.split_first() else {
        return Some(v.clone());
    };
    match v {
        Bson::Document(d) => d.get(first).and_then(|x| get_path(x, rest)),
        Bson::Array(items) => {
            let out: Vec<Bson> = items
                .iter()
                .filter(|i| matches!(i, Bson::Document(_) | Bson::Array(_)))
                .filter_map(|i| get_path(i, path))
                .collect();
            Some(Bson::Array(out))
        }
        _ => None,
    }
}
