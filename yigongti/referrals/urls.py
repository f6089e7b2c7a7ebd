from django.urls import path

from . import views

app_name = "referrals"

urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("new/", views.new, name="new"),
    path("new/patients/", views.patients, name="patients"),
    path("new/slots/", views.slots, name="slots"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:alert_id>/ack/", views.alert_ack, name="alert_ack"),
    path("beds/", views.beds, name="beds"),
    path("beds/<int:department_id>/", views.bed_set, name="bed_set"),
    path("follow-ups/", views.follow_ups, name="follow_ups"),
    path("follow-ups/<int:task_id>/", views.follow_up_record, name="follow_up_record"),
    path("<int:referral_id>/", views.detail, name="detail"),
    path("<int:referral_id>/slip.pdf", views.slip, name="slip"),
    path("<int:referral_id>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:referral_id>/<str:action>/", views.act, name="act"),
]
