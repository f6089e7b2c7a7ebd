"""``referrals_changed``: sent by every service that changes a referral, inside its transaction.

kwargs: ``keys: set[tuple[int, datetime.date]]`` = {(from_institution_id, first day of the
submitted month), (to_institution_id, same)}; a receiver's writes commit or roll back with the
change. Drafts (not yet submitted) send nothing: they count nowhere.
"""

from django.dispatch import Signal

referrals_changed = Signal()
