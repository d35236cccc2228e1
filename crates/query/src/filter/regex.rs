//! `$regex` (and regex values in filters): compilation once at parse time with MongoDB's
//! options `i`, `m`, `s`, `x` (and `u`, always on), and the match rule: strings and symbols
//! match by search; a stored regex value matches only an identical pattern and options.
//!
//! Known deviation: patterns use the `regex` crate's syntax, so PCRE-only features
//! (look-around, backreferences) are refused with a clear error instead of being honoured.

use bson::Bson;
use regex::{Regex, RegexBuilder};

use crate::error::{QueryError, Result};

/// Longest accepted pattern, in bytes (MongoDB: "Regular expression is too long", 51091).
pub const MAX_REGEX_LENGTH: usize = 32 * 1024;

/// Memory cap for one compiled regex (the `regex` crate's size limit), in bytes.
pub const MAX_REGEX_COMPILED_SIZE: usize = 4 * 1024 * 1024;

/// A compiled filter regex with its source pattern and options (sorted, deduplicated).
#[derive(Debug, Clone)]
pub(crate) struct FilterRegex {
    regex: Regex,
    pattern: String,
    options: String,
}

impl FilterRegex {
    /// Compiles `pattern` with `options`.
    pub(crate) fn new(pattern: &str, options: &str) -> Result<FilterRegex> {
        if pattern.len() > MAX_REGEX_LENGTH {
            return Err(QueryError::location(
                51091,
                format!(
                    "Regular expression is invalid: pattern longer than {MAX_REGEX_LENGTH} bytes"
                ),
            ));
        }
        let mut opts: Vec<char> = Vec::new();
        for c in options.chars() {
            if !matches!(c, 'i' | 'm' | 's' | 'x' | 'u') {
                return Err(QueryError::location(
                    51108,
                    format!("invalid flag in regex options: {c}"),
                ));
            }
            if !opts.contains(&c) {
                opts.push(c);
            }
        }
        opts.sort_unstable();
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(opts.contains(&'i'))
            .multi_line(opts.contains(&'m'))
            .dot_matches_new_line(opts.contains(&'s'))
            .ignore_whitespace(opts.contains(&'x'))
            .size_limit(MAX_REGEX_COMPILED_SIZE)
            .build()
            .map_err(|e| {
                QueryError::location(
                    51091,
                    format!(
                        "Regular expression is invalid: {}",
                        first_line(&e.to_string())
                    ),
                )
            })?;
        Ok(FilterRegex {
            regex,
            pattern: pattern.to_string(),
            options: opts.into_iter().collect(),
        })
    }

    /// Whether the string `s` matches (search, not full match).
    pub(crate) fn is_match(&self, s: &str) -> bool {
        self.regex.is_match(s)
    }

    /// Whether `v` matches: strings/symbols by search, regex values by identity.
    pub(crate) fn test(&self, v: &Bson) -> bool {
        match v {
            Bson::String(s) | Bson::Symbol(s) => self.regex.is_match(s),
            Bson::RegularExpression(r) => {
                r.pattern.as_str() == self.pattern && sorted(r.options.as_str()) == self.options
            }
            _ => false,
        }
    }
}

fn sorted(s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    c.sort_unstable();
    c.dedup();
    c.into_iter().collect()
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply() {
        let r = FilterRegex::new("^ab", "i").expect("valid");
        assert!(r.test(&Bson::String("ABc".into())));
        let r = FilterRegex::new("^b", "m").expect("valid");
        assert!(r.test(&Bson::String("a\nb".into())));
        let r = FilterRegex::new("^b", "").expect("valid");
        assert!(!r.test(&Bson::String("a\nb".into())));
        let r = FilterRegex::new("a.b", "s").expect("valid");
        assert!(r.test(&Bson::String("a\nb".into())));
        let r = FilterRegex::new("a b # comment", "x").expect("valid");
        assert!(r.test(&Bson::String("ab".into())));
    }

    #[test]
    fn bad_patterns_and_flags() {
        let e = FilterRegex::new("(", "").expect_err("invalid");
        assert_eq!(e.code.code(), 51091);
        let e = FilterRegex::new("a", "z").expect_err("invalid flag");
        assert_eq!(e.code.code(), 51108);
        assert!(e.message.contains("z"));
    }
}
