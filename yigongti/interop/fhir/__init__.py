"""The FHIR R4 facade: resource mappers over our tables, search, bundles, bulk export."""
