//! The rules: one small pure function per rule over what one turn observed.

mod catalogue;

pub use catalogue::{Explanation, Level, RuleId};
