"""FHIR R4 facade over our own tables and HL7 v2 intake."""
