"""Use cases: each combines domain decisions and store writes in one transaction."""
