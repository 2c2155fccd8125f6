"""A secret declared only on its model field is write-only in a plain ``ModelForm``: never
rendered, blank keeps the stored bytes, required unless stored, encrypted at rest."""

from __future__ import annotations

import pytest
from django import forms
from django.db import connection
from django.test import override_settings

from endpoints.forms import (
    SECRET_SET,
    SECRET_UNREADABLE,
    SECRET_UNREADABLE_ERROR,
    SecretsModelForm,
    WriteOnlySecretField,
)
from tests.vault.models import COMBINATION_HELP, COMBINATION_REQUIRED, Locker

COMBINATION = "planted-Combination-4e1d7a"
TYPED = "planted-Typed-Combination-9b3c"


class LockerForm(forms.ModelForm):
    """Nothing here says the combination is a secret."""

    class Meta:
        model = Locker
        fields = ["name", "combination", "spare"]
        widgets = {"combination": forms.Textarea}  # offered, as the admin offers one


class CombinationForm(forms.ModelForm):
    class Meta:
        model = Locker
        fields = ["name", "combination"]


class KeepingLockerForm(SecretsModelForm):
    """A plain ModelForm would read an optional secret left blank to validate it, and fail
    where no key opens it: this one leaves it out, as the admin's forms do."""

    class Meta:
        model = Locker
        fields = ["name", "combination", "spare"]


def raw(locker: Locker, column: str = "combination") -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM vault_locker WHERE id = %s", [locker.pk])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def locker(locker_table) -> Locker:
    return Locker.objects.create(name="Locker 1", combination=COMBINATION)


def test_the_model_field_gives_a_write_only_input():
    field = LockerForm().fields["combination"]
    assert isinstance(field, WriteOnlySecretField)
    assert field.label == "Combination"
    html = str(LockerForm()["combination"])
    assert 'type="password"' in html
    assert 'autocomplete="new-password"' in html
    assert "<textarea" not in html


def test_neither_the_stored_secret_nor_its_ciphertext_is_rendered(locker):
    loaded = Locker.objects.get(pk=locker.pk)
    html = str(LockerForm(instance=loaded))
    assert COMBINATION not in html
    assert raw(locker) not in html
    assert str(SECRET_SET) in html
    assert "Optional." in html  # the unset spare's help text, the model field's


def test_a_typed_secret_is_not_rendered_back(locker_table):
    form = LockerForm(data={"name": "", "combination": TYPED})
    assert not form.is_valid()
    assert "name" in form.errors
    assert TYPED not in str(form)


def test_blank_keeps_the_stored_bytes(locker):
    before = raw(locker)
    form = LockerForm(
        data={"name": "Renamed", "combination": "", "spare": ""},
        instance=Locker.objects.get(pk=locker.pk),
    )
    assert form.is_valid(), form.errors
    assert form.changed_data == ["name"]
    form.save()
    assert raw(locker) == before
    assert Locker.objects.get(pk=locker.pk).name == "Renamed"


def test_a_typed_secret_replaces_it_encrypted(locker):
    form = LockerForm(
        data={"name": locker.name, "combination": f"  {TYPED} "},
        instance=Locker.objects.get(pk=locker.pk),
    )
    assert form.is_valid(), form.errors
    assert form.changed_data == ["combination"]
    form.save()
    assert TYPED not in raw(locker)
    assert Locker.objects.get(pk=locker.pk).combination == TYPED


def test_required_means_stored_typed_now_or_kept(locker):
    new = LockerForm(data={"name": "Locker 2", "combination": ""})
    assert new.errors["combination"] == [COMBINATION_REQUIRED]
    assert new["combination"].help_text == COMBINATION_HELP
    kept = LockerForm(data={"name": "Locker 1", "combination": ""}, instance=locker)
    assert kept.is_valid(), kept.errors


def test_control_characters_are_refused_without_echo(locker_table):
    form = LockerForm(data={"name": "Locker 2", "combination": "bell\x07planted"})
    assert "control characters" in str(form.errors["combination"])
    assert "planted" not in str(form)


@pytest.fixture
def lost_key(locker, new_key) -> Locker:
    """The locker, its secrets encrypted under a key no longer configured."""
    Locker.objects.filter(pk=locker.pk).update(spare=locker.combination)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        yield Locker.objects.get(pk=locker.pk)


def test_an_unreadable_secret_asks_to_be_entered_again(lost_key):
    form = CombinationForm(data={"name": "Locker 1", "combination": ""}, instance=lost_key)
    assert form["combination"].help_text == SECRET_UNREADABLE
    assert form.errors["combination"] == [SECRET_UNREADABLE_ERROR]


def test_an_unreadable_optional_secret_left_blank_is_kept(lost_key):
    before = raw(lost_key, "spare")
    form = KeepingLockerForm(
        data={"name": "Locker 1", "combination": TYPED, "spare": ""}, instance=lost_key
    )
    assert form.is_valid(), form.errors
    form.save()
    assert raw(lost_key, "spare") == before


def test_a_form_s_own_secret_input_is_not_looked_up_on_the_model(locker):
    class ConfirmingForm(forms.ModelForm):
        confirmation = WriteOnlySecretField(help_text="Type it again.")

        class Meta:
            model = Locker
            fields = ["name"]

    assert ConfirmingForm(instance=locker)["confirmation"].help_text == "Type it again."
