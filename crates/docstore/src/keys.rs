//! Primary keys: the bytes a document is stored under in its collection's table.
//!
//! [`primary_key`] is the ONE place that turns an `_id` into key bytes, so it can be swapped
//! for the index module's order-preserving encoding without touching anything else.
//! Invariant: two `_id`s get the same key exactly when they are equal under MongoDB's rules
//! (so `1` and `1.0` collide, as in MongoDB), so `_id` uniqueness is a key-existence check;
//! the byte order of keys is the BSON order of the `_id`s.

use bson::Bson;

use crate::error::Result;

/// The primary-key bytes of an `_id` value.
pub fn primary_key(id: &Bson) -> Result<Vec<u8>> {
    Ok(crate::index::encode_id(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_get_distinct_keys() {
        let vals = [
            Bson::Int32(1),
            Bson::Int64(2),
            Bson::String("1".into()),
            Bson::Document(bson::doc! {"a": 1}),
        ];
        let keys: Vec<_> = vals.iter().map(|v| primary_key(v).expect("key")).collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            primary_key(&Bson::Int32(7)).expect("k"),
            primary_key(&Bson::Int32(7)).expect("k")
        );
    }
}
