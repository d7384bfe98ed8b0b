"""Strategy simulator: replay a lead history under competing rulebooks (docs/simulator.md).

leads.py       the history CSV and the simulated lead
history.py     `leadflow demo-data`: a realistic history and org
world.py       the org, loaded by the production loader; rep behaviours, absences
behaviour.py   the rep behaviour model (response, offers, claims, meetings)
calendar.py    when a rep is at work
conversion.py  conversion propensity and its calibration on outcomes
engine.py      the event loop around production `route()`
offers.py      the offer seam and its simple model
runner.py      several rulebooks x several seeded runs
metrics.py, verdict.py, report.py   statistics, verdict, JSON + HTML
"""
