"""Which API an exchange asks, and how (its URL, environment, deadline, where the URL came from,
whether a long wait is told), is declared once: `api.endpoint.ApiEndpoint`. The exchange and the
use cases' key exchange hold one; neither repeats its fields."""

from __future__ import annotations

from dataclasses import fields

import pytest

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.api.exchange import Exchanger
from rgpu_exec.errors import UsageError
from rgpu_exec.usecases.key_exchange import KeyExchange

from exchange_answers import API


@pytest.mark.parametrize("holder", [Exchanger, KeyExchange])
def test_neither_exchange_repeats_a_field_of_the_endpoint(holder):
    declared = {f.name for f in fields(holder)}
    assert "endpoint" in declared
    assert declared & {f.name for f in fields(ApiEndpoint)} == set()


def test_an_endpoint_without_a_deadline_takes_the_environments_as_token_does():
    assert ApiEndpoint(API, {}).seconds() == 20.0
    assert ApiEndpoint(API, {"RGPU_EXEC_DEADLINE": "7"}).seconds() == 7.0
    assert ApiEndpoint(API, {"RGPU_EXEC_DEADLINE": "7"}, deadline=3.0).seconds() == 3.0


def test_a_deadline_the_environment_gets_wrong_is_a_usage_error_naming_the_variable():
    with pytest.raises(UsageError, match="RGPU_EXEC_DEADLINE"):
        ApiEndpoint(API, {"RGPU_EXEC_DEADLINE": "soon"}).seconds()
