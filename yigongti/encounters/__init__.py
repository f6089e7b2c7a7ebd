"""Visits and stays: outpatient, emergency, inpatient, home visit, online; the data the indicators count."""
