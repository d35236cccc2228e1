//! Data-driven tests of the expression operators (one table per operator group, cases taken
//! from MongoDB's documented examples and behaviour). See `expr_cases/support.rs` for the
//! table format.

#[path = "expr_cases/support.rs"]
mod support;

#[path = "expr_cases/accumulator.rs"]
mod accumulator;
#[path = "expr_cases/arithmetic.rs"]
mod arithmetic;
#[path = "expr_cases/arrays.rs"]
mod arrays;
#[path = "expr_cases/dialects.rs"]
mod dialects;
#[path = "expr_cases/logic.rs"]
mod logic;
#[path = "expr_cases/strings.rs"]
mod strings;
#[path = "expr_cases/types_dates.rs"]
mod types_dates;
