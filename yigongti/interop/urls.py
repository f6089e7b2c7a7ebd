"""/fhir/: the FHIR R4 facade (Bearer tokens only) and the office's interface console page."""

from django.urls import path, register_converter

from . import views
from .fhir import views as fhir


class ResourceTypeConverter:
    """A FHIR resource type name: an upper-case letter and letters (Patient, PractitionerRole)."""

    regex = "[A-Z][A-Za-z]{1,63}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ResourceIdConverter(ResourceTypeConverter):
    """A FHIR logical id: [A-Za-z0-9-.]{1,64}."""

    regex = r"[A-Za-z0-9\-.]{1,64}"


register_converter(ResourceTypeConverter, "fhirtype")
register_converter(ResourceIdConverter, "fhirid")

app_name = "interop"

urlpatterns = [
    path("console/", views.console, name="console"),
    path("metadata", fhir.metadata, name="fhir_metadata"),
    path("", fhir.root, name="fhir_root"),
    path("$export", fhir.export_kick_off, name="fhir_export"),
    path("Patient/$export", fhir.export_kick_off, {"level": "patient"}, name="fhir_patient_export"),
    path("$export-status/<str:job_id>", fhir.export_status, name="fhir_export_status"),
    path("$export-file/<str:job_id>/<str:name>", fhir.export_file, name="fhir_export_file"),
    path("<fhirtype:resource_type>", fhir.type_level, name="fhir_type"),
    path("<fhirtype:resource_type>/_search", fhir.search_post, name="fhir_search"),
    path("<fhirtype:resource_type>/<fhirid:resource_id>", fhir.instance, name="fhir_instance"),
    path("<fhirtype:resource_type>/<fhirid:resource_id>/_history", fhir.history, name="fhir_history"),
    path(
        "<fhirtype:resource_type>/<fhirid:resource_id>/_history/<str:rest>", fhir.history, name="fhir_vread"
    ),
]
