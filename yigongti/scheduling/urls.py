from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("", views.index, name="index"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/new/", views.session_new, name="session_new"),
    path("sessions/generate/", views.session_generate, name="session_generate"),
    path("sessions/<int:session_id>/", views.session_detail, name="session_detail"),
    path("sessions/<int:session_id>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<int:session_id>/book/", views.session_book, name="session_book"),
    path("book/", views.book, name="book"),
    path("book/<int:slot_id>/", views.book_slot, name="book_slot"),
    path("bookings/", views.booking_list, name="bookings"),
    path("bookings/<int:booking_id>/check-in/", views.booking_check_in, name="booking_check_in"),
    path("bookings/<int:booking_id>/no-show/", views.booking_no_show, name="booking_no_show"),
    path("bookings/<int:booking_id>/cancel/", views.booking_cancel, name="booking_cancel"),
    path("bookings/<int:booking_id>/reschedule/", views.booking_reschedule, name="booking_reschedule"),
]
