from django.urls import path

from . import views

app_name = "institutions"

urlpatterns = [
    path("", views.institution_list, name="list"),
    path("staff/", views.staff_list, name="staff_list"),
    path("staff/new/", views.staff_new, name="staff_new"),
    path("staff/<int:staff_id>/", views.staff_detail, name="staff_detail"),
    path("secondments/", views.secondment_list, name="secondment_list"),
    path("secondments/new/", views.secondment_new, name="secondment_new"),
    path("<str:code>/", views.institution_detail, name="detail"),
    path("<str:code>/staff/new/", views.staff_new_at, name="staff_new_at"),
]
