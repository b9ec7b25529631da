"""The report's data model: facts gathered by probes, findings judged from them.

Every class is a frozen dataclass of plain values so that one generic serialiser can turn
a report into JSON (render/json_report.py) and tests can compare reports by value. Nothing
in this package imports anything else of the project; it is imported by everyone.
"""
