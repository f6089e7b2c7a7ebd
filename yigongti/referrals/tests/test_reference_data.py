"""The seeded reference data survives the flush that ends each transactional (live-server) test."""

import pytest

from yigongti.referrals.models import ReferralReason


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_runs_first():
    assert ReferralReason.objects.filter(code="U02").exists()


@pytest.mark.django_db(transaction=True)
def test_reference_data_survives_the_flush_of_a_transactional_test():
    assert ReferralReason.objects.filter(code="U02").exists()
