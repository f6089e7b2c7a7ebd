from django.urls import path

from . import views, views_mpi

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("me/", views.my_record, name="me"),
    # the master patient index (before the health-record-number catch-all)
    path("register/", views_mpi.register, name="register"),
    path("register/match/", views_mpi.register_match, name="register_match"),
    path("reviews/", views_mpi.review_list, name="reviews"),
    path("reviews/count/", views_mpi.review_count, name="review_count"),
    path("reviews/<int:review_id>/", views_mpi.review_detail, name="review_detail"),
    path("reviews/<int:review_id>/decide/", views_mpi.review_decide_view, name="review_decide"),
    path("merges/", views_mpi.merge_list, name="merges"),
    path("merges/<int:merge_id>/undo/", views_mpi.merge_undo, name="merge_undo"),
    path("<str:health_record_number>/", views.patient_detail, name="detail"),
]
