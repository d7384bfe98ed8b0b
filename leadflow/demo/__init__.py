"""Demo organisation, rulebook and a generator of realistic leads."""
