//! The admin REST API (`/admin/api/v1`), see `docs/admin-api.md`.
