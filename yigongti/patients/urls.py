from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("me/", views.my_record, name="me"),
    path("<str:health_record_number>/", views.patient_detail, name="detail"),
]
