"""Clinic sessions, appointment slots (some reserved for referrals) and bookings."""
