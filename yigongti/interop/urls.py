"""/fhir/: the FHIR R4 facade (Bearer tokens only) and the office's interface console page."""

from django.urls import path, re_path

from . import views
from .fhir import views as fhir

app_name = "interop"

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
ID = r"(?P<resource_id>[A-Za-z0-9\-.]{1,64})"

urlpatterns = [
    path("console/", views.console, name="console"),
    path("metadata", fhir.metadata, name="fhir_metadata"),
    path("", fhir.root, name="fhir_root"),
    path("$export", fhir.export_kick_off, name="fhir_export"),
    path("Patient/$export", fhir.export_kick_off, {"level": "patient"}, name="fhir_patient_export"),
    path("$export-status/<str:job_id>", fhir.export_status, name="fhir_export_status"),
    path("$export-file/<str:job_id>/<str:name>", fhir.export_file, name="fhir_export_file"),
    re_path(rf"^{TYPE}/?$", fhir.type_level, name="fhir_type"),
    re_path(rf"^{TYPE}/_search/?$", fhir.search_post, name="fhir_search"),
    re_path(rf"^{TYPE}/{ID}/?$", fhir.instance, name="fhir_instance"),
    re_path(rf"^{TYPE}/{ID}/_history(?:/(?P<rest>.*))?$", fhir.history, name="fhir_history"),
]
