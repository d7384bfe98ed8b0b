"""Pure domain: data types and decisions. No database, no HTTP, no clock reads."""
