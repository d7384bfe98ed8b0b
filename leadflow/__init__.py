"""leadflow: a lead distribution engine.

Receives every lead, decides in milliseconds who gets it (or which queue holds it),
records why, and enforces the team's rules.
"""

__version__ = "0.1.0"
