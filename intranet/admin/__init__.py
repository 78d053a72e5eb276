"""Administration (issue 20): request types with their versions, the calendar and the reference data, edited in
the intranet by administrators; every change recorded (`changes.record`) and shown on the history page."""
