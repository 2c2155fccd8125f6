"""A secret declared only on its model field is write-only in any ``ModelSerializer``, and
``has_<secret>`` says whether one is stored."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework import serializers

from endpoints.api.secret_fields import WriteOnlySecretSerializerField
from endpoints.api.serializers import RedactedModelSerializer
from endpoints.forms import SECRET_UNREADABLE_ERROR
from tests.vault.models import Locker

COMBINATION = "planted-Combination-api-2f8e"
TYPED = "planted-Typed-Combination-api-71d0"


class LockerSerializer(serializers.ModelSerializer):
    """DRF's own base, and nothing here says the combination is a secret."""

    class Meta:
        model = Locker
        fields = ["id", "name", "combination", "spare"]


class LockerStateSerializer(RedactedModelSerializer):
    class Meta:
        model = Locker
        fields = ["id", "name", "has_combination", "has_spare"]
        read_only_fields = fields


def raw(locker: Locker) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT combination FROM vault_locker WHERE id = %s", [locker.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def locker(locker_table) -> Locker:
    return Locker.objects.create(name="Locker 1", combination=COMBINATION)


def test_the_model_field_maps_to_a_write_only_field():
    fields = LockerSerializer().fields
    assert isinstance(fields["combination"], WriteOnlySecretSerializerField)
    assert fields["combination"].write_only
    assert fields["combination"].style == {"input_type": "password"}


def test_a_secret_is_taken_in_encrypted_and_never_shown(locker_table):
    created = LockerSerializer(data={"name": "Locker 2", "combination": TYPED})
    assert created.is_valid(), created.errors
    locker = created.save()
    assert TYPED not in raw(locker)
    assert Locker.objects.get(pk=locker.pk).combination == TYPED
    for shown in (created.data, LockerSerializer(Locker.objects.get(pk=locker.pk)).data):
        assert set(shown) == {"id", "name"}
        assert TYPED not in str(shown)


def test_a_required_secret_must_be_sent_for_a_new_row(locker_table):
    created = LockerSerializer(data={"name": "Locker 2"})
    assert not created.is_valid()
    assert created.errors["combination"][0].code == "required"
    assert "spare" not in created.errors


@pytest.mark.parametrize(
    "sent", [{}, {"combination": ""}, {"combination": None}, {"combination": "  "}], ids=str
)
def test_nothing_sent_keeps_the_stored_bytes(locker, sent):
    before = raw(locker)
    updated = LockerSerializer(Locker.objects.get(pk=locker.pk), data={"name": "Renamed", **sent})
    assert updated.is_valid(), updated.errors
    updated.save()
    assert raw(locker) == before
    assert Locker.objects.get(pk=locker.pk).name == "Renamed"


def test_a_sent_secret_replaces_it(locker):
    updated = LockerSerializer(
        Locker.objects.get(pk=locker.pk), data={"combination": TYPED}, partial=True
    )
    assert updated.is_valid(), updated.errors
    updated.save()
    assert Locker.objects.get(pk=locker.pk).combination == TYPED


def test_an_unreadable_secret_must_be_sent_again(locker, new_key):
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        updated = LockerSerializer(Locker.objects.get(pk=locker.pk), data={"name": "Renamed"})
        assert not updated.is_valid()
        assert updated.errors["combination"] == [SECRET_UNREADABLE_ERROR]


def test_an_error_does_not_echo_the_secret(locker_table):
    created = LockerSerializer(data={"name": "Locker 2", "combination": TYPED * 40})
    assert not created.is_valid()
    assert "1000 characters" in str(created.errors["combination"])
    assert "planted" not in str(created.errors)


def test_has_secret_is_built_from_the_model_field(locker, new_key):
    field = LockerStateSerializer().fields["has_combination"]
    assert field.read_only
    assert "never returned" in str(field.help_text)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):  # read without decrypting
        shown = LockerStateSerializer(Locker.objects.get(pk=locker.pk)).data
    assert shown == {
        "id": locker.pk,
        "name": "Locker 1",
        "has_combination": True,
        "has_spare": False,
    }
