//! The runtime of user APIs: per project environment, the active definition compiled into an
//! immutable routing table ([`table`]), the registry that swaps tables atomically on deploy
//! ([`registry`]), the request path ([`handler`]), and the services its flows use ([`db`]: the
//! environment's database on the embedded store).

pub mod db;
pub mod handler;
pub mod registry;
pub mod table;
