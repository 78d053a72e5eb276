"""Printed documents: the evening's daily summary and the twice-monthly statements, as PDFs, archived and
e-mailed to the supervisors."""
