"""A FHIR client posts Bundles to the base URL as configured, with or without the final slash."""

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/fhir", "/fhir/"])
def test_the_base_url_answers_with_or_without_the_slash(url):
    answer = Client().post(url, data="{}", content_type="application/fhir+json")
    assert answer.status_code == 401  # the facade itself (tokens only), not Django's slash redirect
    assert answer.json()["resourceType"] == "OperationOutcome"
