//! The runtime of user APIs: per project environment, the active definition compiled into an
//! immutable routing table, and the services its flows use ([`db`]: the environment's
//! database on the embedded store).

pub mod db;
