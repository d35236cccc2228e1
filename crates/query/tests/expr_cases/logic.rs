//! Comparison, boolean and conditional operator cases.

use super::support::check_table;

const TABLE: &str = r#"
# comparison
{"$eq": [1, 1.0]} => true
{"$eq": [1, {"$numberLong": "1"}]} => true
{"$eq": ["a", "a"]} => true
{"$eq": ["a", "b"]} => false
{"$eq": [{"a": 1}, {"a": 1}]} => true
{"$eq": [{"a": 1, "b": 2}, {"b": 2, "a": 1}]} => false
{"$eq": [[1, 2], [1, 2]]} => true
{"$eq": ["$qty", 250]} @ {"qty": 250} => true
{"$eq": ["$missing", null]} => false
{"$eq": ["$missing", "$other"]} => true
{"$eq": [null, null]} => true
{"$eq": [1]} => !16020
{"$eq": [1, 2, 3]} => !16020
{"$ne": ["$qty", 250]} @ {"qty": 200} => true
{"$ne": [1, 1]} => false
{"$gt": ["$qty", 250]} @ {"qty": 300} => true
{"$gt": [1, "a"]} => false
{"$gt": ["a", 1]} => true
{"$gt": [null, "$missing"]} => true
{"$gt": [{"$date": "2021-01-01T00:00:00Z"}, 5]} => true
{"$gte": [250, 250]} => true
{"$lt": [1, 2.5]} => true
{"$lt": [null, 0]} => true
{"$lte": [3, 2]} => false
{"$cmp": [1, 2]} => -1
{"$cmp": [2, 2]} => 0
{"$cmp": ["b", "a"]} => 1
{"$cmp": [[1], 1]} => 1
{"$cmp": ["$qty", 250]} @ {"qty": 500} => 1
# boolean
{"$and": [1, "green"]} => true
{"$and": []} => true
{"$and": [[], null]} => false
{"$and": [true, 0]} => false
{"$and": [true, 0.0]} => false
{"$and": [true, {"$numberLong": "0"}]} => false
{"$and": [true, {"$numberDecimal": "0"}]} => false
{"$and": [[null], [false], [0]]} => true
{"$and": [true, "$missing"]} => false
{"$and": [true, ""]} => true
{"$and": [false, {"$divide": [1, 0]}]} => false
{"$and": [true, {"$divide": [1, 0]}]} => !2
{"$and": [{"$gt": ["$qty", 100]}, {"$lt": ["$qty", 250]}]} @ {"qty": 200} => true
{"$and": 1} => true
{"$or": []} => false
{"$or": [null, 0, "$x"]} => false
{"$or": [null, 0, 1]} => true
{"$or": [true, {"$divide": [1, 0]}]} => true
{"$or": [{"$gt": ["$qty", 250]}, {"$lt": ["$qty", 200]}]} @ {"qty": 150} => true
{"$not": [true]} => false
{"$not": [[false]]} => false
{"$not": [null]} => true
{"$not": [0]} => true
{"$not": "$missing"} => true
{"$not": [1, 2]} => !16020
# $cond
{"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}} @ {"qty": 300} => 30
{"$cond": {"if": {"$gte": ["$qty", 250]}, "then": 30, "else": 20}} @ {"qty": 100} => 20
{"$cond": [{"$gte": ["$qty", 250]}, 30, 20]} @ {"qty": 300} => 30
{"$cond": [null, 1, 2]} => 2
{"$cond": ["$missing", 1, 2]} => 2
{"$cond": [true, "$missing", 2]} => missing
{"$cond": [true, 1, {"$divide": [1, 0]}]} => 1
{"$cond": [true, 1]} => !16020
{"$cond": {"if": true, "then": 1}} => !17080
{"$cond": {"if": true, "then": 1, "else": 2, "other": 3}} => !17083
# $ifNull
{"$ifNull": ["$description", "Unspecified"]} @ {"description": "product 1"} => "product 1"
{"$ifNull": ["$description", "Unspecified"]} @ {"description": null} => "Unspecified"
{"$ifNull": ["$description", "Unspecified"]} => "Unspecified"
{"$ifNull": ["$a", "$b", "c"]} @ {"b": 2} => 2
{"$ifNull": ["$a", "$b", "c"]} => "c"
{"$ifNull": ["$a", "$b"]} => missing
{"$ifNull": ["$a", null]} => null
{"$ifNull": [0, 1]} => 0
{"$ifNull": [false, 1]} => false
{"$ifNull": ["$a"]} => !1257300
# $switch
{"$switch": {"branches": [{"case": {"$gte": ["$s", 90]}, "then": "A"}, {"case": {"$gte": ["$s", 80]}, "then": "B"}], "default": "F"}} @ {"s": 85} => "B"
{"$switch": {"branches": [{"case": {"$gte": ["$s", 90]}, "then": "A"}, {"case": {"$gte": ["$s", 80]}, "then": "B"}], "default": "F"}} @ {"s": 95} => "A"
{"$switch": {"branches": [{"case": {"$gte": ["$s", 90]}, "then": "A"}], "default": "F"}} @ {"s": 10} => "F"
{"$switch": {"branches": [{"case": {"$gte": ["$s", 90]}, "then": "A"}]}} @ {"s": 10} => !40066
{"$switch": {"branches": [{"case": false, "then": "A"}]}} => !40066
{"$switch": {"branches": []}} => !40068
{"$switch": {"branches": {}}} => !40061
{"$switch": {"branches": [1]}} => !40062
{"$switch": {"branches": [{"case": true}]}} => !40065
{"$switch": {"branches": [{"then": 1}]}} => !40064
{"$switch": {"branches": [{"case": true, "then": 1, "x": 2}]}} => !40063
{"$switch": {"branches": [{"case": true, "then": 1}], "foo": 1}} => !40067
{"$switch": 1} => !40060
# parse errors and references
{"$foo": 1} => !31325
{"$add": 1, "$sub": 2} => !15983
{"a": {"$add": [1, 1]}, "b": "$x"} @ {"x": "y"} => {"a": 2, "b": "y"}
{"a": "$missing"} => {}
["$missing", 1] => [null, 1]
"$$ROOT" @ {"a": 1} => {"a": 1}
"$$NOW" => {"$date": "2021-01-01T00:00:00Z"}
"$$REMOVE" => missing
"$$CLUSTER_TIME" => {"$timestamp": {"t": 1609459200, "i": 1}}
"$$nope" => !17276
"$a.b" @ {"a": [{"b": 1}, {"c": 2}, {"b": 3}]} => [1, 3]
{"$literal": "$a"} => "$a"
{"$literal": {"$add": 1}} => {"$add": 1}
"#;

#[test]
fn logic_table() {
    assert!(check_table(TABLE) > 90);
}
