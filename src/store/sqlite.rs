//! The embedded SQLite backend (placeholder until implemented).
