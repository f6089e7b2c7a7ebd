from django.urls import path

from . import views

app_name = "indicators"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("report.pdf", views.report, name="report"),
    path("plotly.min.js", views.plotly_js, name="plotly"),
    path("plotly.css", views.plotly_css, name="plotly_css"),
    path("<slug:code>/", views.detail, name="detail"),
    path("<slug:code>/records/", views.records, name="records"),
]
