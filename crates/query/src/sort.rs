//! Sort specifications (`{a: 1, "b.c": -1}`) and document comparison with MongoDB's rules for
//! arrays (ascending sorts by the smallest element, descending by the largest).
