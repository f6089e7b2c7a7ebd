from django.urls import path

from . import views

app_name = "familydoctor"

urlpatterns = [
    path("", views.teams, name="teams"),
    path("teams/new/", views.team_new, name="team_new"),
    path("teams/<int:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<int:team_id>/edit/", views.team_edit, name="team_edit"),
    path("packages/", views.packages, name="packages"),
    path("packages/new/", views.package_new, name="package_new"),
    path("packages/<int:package_id>/", views.package_edit, name="package_edit"),
    path("contracts/", views.contracts, name="contracts"),
    path("contracts/new/", views.sign, name="sign"),
    path("contracts/<int:contract_id>/", views.contract, name="contract"),
    path("contracts/<int:contract_id>/<str:action>/", views.act, name="act"),
    path("tasks/", views.worklist, name="worklist"),
    path("tasks/<int:task_id>/record/", views.task_record, name="task_record"),
    path("visits/", views.visits, name="visits"),
    path("visits/<int:visit_id>/record/", views.visit_record, name="visit_record"),
    path("beds/<int:bed_id>/discharge/", views.bed_discharge, name="bed_discharge"),
    path("me/", views.mine, name="mine"),
]
