"""Top-level URLs: pages, the admin, the language switch and the JSON API."""

from django.contrib import admin
from django.urls import include, path

from yigongti.core import views as core_views
from yigongti.interop.fhir import views as fhir_views

from .api import api, unknown_endpoint

urlpatterns = [
    path("", include("yigongti.core.urls")),
    path("favicon.ico", core_views.favicon),
    path("accounts/", include("yigongti.accounts.urls")),
    path("institutions/", include("yigongti.institutions.urls")),
    path("patients/", include("yigongti.patients.urls")),
    path("scheduling/", include("yigongti.scheduling.urls")),
    path("referrals/", include("yigongti.referrals.urls")),
    path("familydoctor/", include("yigongti.familydoctor.urls")),
    path("chronic/", include("yigongti.chronic.urls")),
    path("encounters/", include("yigongti.encounters.urls")),
    path("indicators/", include("yigongti.indicators.urls")),
    path("fhir", fhir_views.root),  # a FHIR client POSTs Bundles to the base URL without the slash
    path("fhir/", include("yigongti.interop.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The admin signs in through our login page, so throttling and audit apply there too.
    path("admin/login/", core_views.admin_login),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("api/<path:rest>", unknown_endpoint),
]

handler400 = "yigongti.core.views.bad_request"
handler403 = "yigongti.core.views.permission_denied"
handler404 = "yigongti.core.views.page_not_found"
handler500 = "yigongti.core.views.server_error"
