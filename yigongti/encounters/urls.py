from django.urls import path

from . import views

app_name = "encounters"

urlpatterns = [
    path("", views.encounter_list, name="list"),
    path("summary/", views.encounter_summary, name="summary"),
    path("record/", views.encounter_record_view, name="record"),
    path("<int:encounter_id>/", views.encounter_detail, name="detail"),
]
