//! Arithmetic operator cases.

use super::support::check_table;

const TABLE: &str = r#"
# $add
{"$add": [1, 2]} => 3
{"$add": []} => 0
{"$add": [1, 2.5]} => 3.5
{"$add": [1, {"$numberLong": "2"}]} => {"$numberLong": "3"}
{"$add": [2147483647, 1]} => {"$numberLong": "2147483648"}
{"$add": [2147483647, 1, -1]} => 2147483647
{"$add": [{"$numberLong": "9223372036854775807"}, 1]} => 9223372036854775808.0
{"$add": [1, {"$numberDecimal": "1.5"}]} => {"$numberDecimal": "2.5"}
{"$add": ["$price", "$fee"]} @ {"price": 10, "fee": 2} => 12
{"$add": ["$price", "$fee"]} @ {"price": 10} => null
{"$add": [1, null]} => null
{"$add": [1, "a"]} => !16554
{"$add": ["a", null]} => !16554
{"$add": [{"$date": "2021-01-01T00:00:00Z"}, 86400000]} => {"$date": "2021-01-02T00:00:00Z"}
{"$add": [1000, {"$date": "2021-01-01T00:00:00Z"}, 1000]} => {"$date": "2021-01-01T00:00:02Z"}
{"$add": [{"$date": "2021-01-01T00:00:00Z"}, 1.6]} => {"$date": "2021-01-01T00:00:00.002Z"}
{"$add": [{"$date": "2021-01-01T00:00:00Z"}, {"$date": "2021-01-01T00:00:00Z"}]} => !16612
{"$add": [true, 1]} => !16554
# $subtract
{"$subtract": [5, 3]} => 2
{"$subtract": [5, 3.5]} => 1.5
{"$subtract": [{"$numberLong": "5"}, 3]} => {"$numberLong": "2"}
{"$subtract": [-2147483648, 1]} => {"$numberLong": "-2147483649"}
{"$subtract": [{"$date": "2021-01-02T00:00:00Z"}, {"$date": "2021-01-01T00:00:00Z"}]} => {"$numberLong": "86400000"}
{"$subtract": [{"$date": "2021-01-02T00:00:00Z"}, 60000]} => {"$date": "2021-01-01T23:59:00Z"}
{"$subtract": [5, {"$date": "2021-01-01T00:00:00Z"}]} => !16556
{"$subtract": [5, null]} => null
{"$subtract": ["$x", 1]} => null
{"$subtract": [5]} => !16020
{"$subtract": [1, 2, 3]} => !16020
{"$subtract": ["a", 1]} => !16556
# $multiply
{"$multiply": [2, 3]} => 6
{"$multiply": []} => 1
{"$multiply": [2, 3, 4.5]} => 27.0
{"$multiply": [65536, 65536]} => {"$numberLong": "4294967296"}
{"$multiply": [{"$numberLong": "4294967296"}, {"$numberLong": "4294967296"}]} => 1.8446744073709552e19
{"$multiply": ["$price", "$quantity"]} @ {"price": 10, "quantity": 2} => 20
{"$multiply": [2, null]} => null
{"$multiply": [2, "x"]} => !16555
{"$multiply": [{"$numberDecimal": "2"}, 3]} => {"$numberDecimal": "6"}
# $divide
{"$divide": [10, 4]} => 2.5
{"$divide": [10, 5]} => 2.0
{"$divide": [{"$numberLong": "9"}, 3]} => 3.0
{"$divide": [1, 0]} => !2
{"$divide": [1, 0.0]} => !2
{"$divide": [null, 0]} => null
{"$divide": [1, "$missing"]} => null
{"$divide": [1, "a"]} => !16609
{"$divide": [{"$numberDecimal": "1"}, 4]} => {"$numberDecimal": "0.25"}
{"$divide": [1]} => !16020
# $mod
{"$mod": [10, 3]} => 1
{"$mod": [-10, 3]} => -1
{"$mod": [10, {"$numberLong": "3"}]} => {"$numberLong": "1"}
{"$mod": [10.5, 3]} => 1.5
{"$mod": [10, 0]} => !16610
{"$mod": [10, null]} => null
{"$mod": ["a", 2]} => !16611
{"$mod": [{"$numberLong": "-9223372036854775808"}, -1]} => {"$numberLong": "0"}
# $abs
{"$abs": -1} => 1
{"$abs": [-1]} => 1
{"$abs": 1.5} => 1.5
{"$abs": -2147483648} => {"$numberLong": "2147483648"}
{"$abs": {"$numberLong": "-9223372036854775808"}} => !28680
{"$abs": null} => null
{"$abs": "$missing"} => null
{"$abs": "a"} => !28765
{"$abs": [1, 2]} => !16020
{"$abs": {"$numberDecimal": "-1.5"}} => {"$numberDecimal": "1.5"}
# $ceil $floor
{"$ceil": 1.2} => 2.0
{"$ceil": -1.2} => -1.0
{"$ceil": 5} => 5
{"$floor": 1.8} => 1.0
{"$floor": -1.2} => -2.0
{"$floor": {"$numberLong": "7"}} => {"$numberLong": "7"}
{"$floor": null} => null
{"$floor": "x"} => !28765
# $sqrt $exp $ln $log $log10 $pow
{"$sqrt": 25} => 5.0
{"$sqrt": 2.25} => 1.5
{"$sqrt": -1} => !28714
{"$sqrt": null} => null
{"$exp": 0} => 1.0
{"$ln": 1} => 0.0
{"$ln": 0} => !28766
{"$ln": -1} => !28766
{"$log10": 100} => 2.0
{"$log10": 0} => !28761
{"$log": [100, 10]} => 2.0
{"$log": [8, 2]} => 3.0
{"$log": [8, 1]} => !28759
{"$log": [-8, 2]} => !28758
{"$log": ["a", 2]} => !28756
{"$log": [8, "b"]} => !28757
{"$log": [null, 2]} => null
{"$pow": [5, 0]} => 1
{"$pow": [5, 2]} => 25
{"$pow": [5, -2]} => 0.04
{"$pow": [-5, 0.5]} => {"$numberDouble": "NaN"}
{"$pow": [2, 31]} => {"$numberLong": "2147483648"}
{"$pow": [2, 64]} => 1.8446744073709552e19
{"$pow": [-1, -3]} => -1
{"$pow": [{"$numberLong": "2"}, 3]} => {"$numberLong": "8"}
{"$pow": [2.0, 3]} => 8.0
{"$pow": [0, -1]} => !28764
{"$pow": [null, 2]} => null
{"$pow": ["a", 2]} => !28762
{"$pow": [2, "a"]} => !28763
# $round $trunc (half to even)
{"$round": [10.5, 0]} => 10.0
{"$round": [11.5, 0]} => 12.0
{"$round": [12.5, 0]} => 12.0
{"$round": [-1.5]} => -2.0
{"$round": [5.359, 2]} => 5.36
{"$round": [19.25, -1]} => 20.0
{"$round": [28.73, -1]} => 30.0
{"$round": [34.32, -2]} => 0.0
{"$round": [1234, -2]} => 1200
{"$round": [1234, 2]} => 1234
{"$round": [{"$numberLong": "1250"}, -2]} => {"$numberLong": "1200"}
{"$round": [{"$numberDecimal": "1.25"}, 1]} => {"$numberDecimal": "1.2"}
{"$round": [null, 1]} => null
{"$round": [1.5, null]} => null
{"$round": [1.5, 101]} => !16621
{"$round": [1.5, 1.5]} => !16621
{"$round": ["a", 1]} => !51081
{"$round": [1, 2, 3]} => !16020
{"$trunc": [5.359, 2]} => 5.35
{"$trunc": [-5.359, 2]} => -5.35
{"$trunc": [19.25, -1]} => 10.0
{"$trunc": [7.9]} => 7.0
{"$trunc": 7.9} => 7.0
{"$trunc": 7} => 7
{"$trunc": "$none"} => null
# $rand
{"$type": {"$rand": {}}} => "double"
{"$and": [{"$gte": [{"$rand": {}}, 0]}, {"$lt": [{"$rand": {}}, 1]}]} => true
{"$rand": 1} => !3040501
# exact Decimal128 arithmetic
{"$add": [{"$numberDecimal": "0.1"}, {"$numberDecimal": "0.2"}]} => {"$numberDecimal": "0.3"}
{"$add": [{"$numberDecimal": "1"}, 0.1]} => {"$numberDecimal": "1.1"}
{"$add": [{"$numberDecimal": "9999999999999999999999999999999999"}, 1]} => {"$numberDecimal": "1.000000000000000000000000000000000E+34"}
{"$subtract": [{"$numberDecimal": "10.00"}, {"$numberDecimal": "0.01"}]} => {"$numberDecimal": "9.99"}
{"$multiply": [{"$numberDecimal": "1.10"}, 3]} => {"$numberDecimal": "3.30"}
{"$divide": [{"$numberDecimal": "1"}, 3]} => {"$numberDecimal": "0.3333333333333333333333333333333333"}
{"$divide": [{"$numberDecimal": "10"}, {"$numberDecimal": "4"}]} => {"$numberDecimal": "2.5"}
{"$divide": [{"$numberDecimal": "1"}, {"$numberDecimal": "0"}]} => !2
{"$mod": [{"$numberDecimal": "10.5"}, 3]} => {"$numberDecimal": "1.5"}
{"$round": [{"$numberDecimal": "2.345"}, 2]} => {"$numberDecimal": "2.34"}
{"$round": [{"$numberDecimal": "2.355"}, 2]} => {"$numberDecimal": "2.36"}
{"$trunc": [{"$numberDecimal": "-2.349"}, 2]} => {"$numberDecimal": "-2.34"}
{"$ceil": {"$numberDecimal": "1.2"}} => {"$numberDecimal": "2"}
{"$floor": {"$numberDecimal": "-1.2"}} => {"$numberDecimal": "-2"}
{"$abs": {"$numberDecimal": "-0.10"}} => {"$numberDecimal": "0.10"}
{"$sum": [{"$numberDecimal": "0.1"}, {"$numberDecimal": "0.1"}, {"$numberDecimal": "0.1"}]} => {"$numberDecimal": "0.3"}
{"$sum": [1, 2.5, {"$numberDecimal": "0.1"}]} => {"$numberDecimal": "3.6"}
{"$avg": [{"$numberDecimal": "1"}, {"$numberDecimal": "2"}]} => {"$numberDecimal": "1.5"}
{"$subtract": [{"$date": "2021-01-01T00:00:01Z"}, {"$numberDecimal": "1000"}]} => {"$date": "2021-01-01T00:00:00Z"}
"#;

#[test]
fn arithmetic_table() {
    assert!(check_table(TABLE) > 100);
}
