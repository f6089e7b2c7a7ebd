from django.urls import path

from . import views

app_name = "chronic"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("registries/", views.registries, name="registries"),
    path("elderly/", views.elderly_due, name="elderly_due"),
    path("overview/", views.overview, name="overview"),
    path("me/", views.me, name="me"),
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path("patients/<int:patient_id>/enrol/", views.enrol, name="enrol"),
    path("patients/<int:patient_id>/elderly/", views.elderly, name="elderly"),
    path("patients/<int:patient_id>/screening/", views.screening, name="screening"),
    path("enrollments/<int:enrollment_id>/follow-up/", views.follow_up, name="follow_up"),
    path("enrollments/<int:enrollment_id>/close/", views.close, name="close"),
    path("follow-ups/<int:follow_up_id>/refer/", views.refer, name="refer"),
]
