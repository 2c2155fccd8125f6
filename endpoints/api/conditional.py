"""Conditional GET on detail responses: an ETag, and 304 Not Modified when it still matches.

The ETag comes from the ``updated_at`` of the rows a response shows, not from rendering the
body: pollers that send ``If-None-Match`` get a 304 with no serialization at all. Since it
names everything the body shows, the body is kept under it
(``endpoints.api.representations``), for the detail and for each object of a list.

So a read first loads only what the ETag is made of (``get_etag_fields``: a few columns,
the same joins), and the objects themselves only for the bodies not kept: a repeated
read costs that one light query and no serialization.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
from rest_framework import permissions
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from endpoints.api.representations import bodies

#: Bump when a release changes what the API shows for unchanged rows.
REPRESENTATION_VERSION = "1"


def compute_etag(*parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]
    # Weak: the same data renders as JSON or as the browsable page.
    return f'W/"{digest}"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    """``If-None-Match`` matches ``etag`` by the weak comparison (RFC 9110, 13.1.2)."""
    candidates = parse_etags(if_none_match)
    if "*" in candidates:
        return True
    return etag.removeprefix("W/") in {candidate.removeprefix("W/") for candidate in candidates}


def values_of(instance: models.Model, fields: Sequence[str]) -> dict[str, Any]:
    """What ``.values("pk", *fields)`` gives for ``instance``, from the object as loaded
    (its ``select_related`` rows): a missing related row is ``None``."""
    values: dict[str, Any] = {"pk": instance.pk}
    for path in fields:
        value: Any = instance
        for name in path.split("__"):
            try:
                value = getattr(value, name)
            except ObjectDoesNotExist:  # a reverse one-to-one with no row
                value = None
            if value is None:
                break
        values[path] = value
    return values


class ConditionalRetrieveMixin:
    """``retrieve`` with an ``ETag``, answering 304 to a matching ``If-None-Match``;
    ``retrieve`` and ``list`` serve the bodies kept under their ETags."""

    def get_etag_fields(self) -> Sequence[str]:
        """The fields (paths from the model, as for ``.values()``) the ETag is made of."""
        return ("updated_at",)

    def get_etag_timestamps(self, values: Mapping[str, Any]) -> Iterable[datetime]:
        """When each row the detail response shows last changed, from the values of
        ``get_etag_fields`` (and ``pk``)."""
        return [values["updated_at"]]

    def get_etag_permissions(self) -> Iterable[str]:
        """Permissions that change the detail response: the requester's answer to each
        counts, so that callers who see different bodies never share an ETag.
        """
        return ()

    def get_etag(self, request: Request, values: Mapping[str, Any]) -> str:
        return compute_etag(
            REPRESENTATION_VERSION,
            request.accepted_renderer.format,
            self.queryset.model._meta.label,
            values["pk"],
            *(timestamp.isoformat() for timestamp in self.get_etag_timestamps(values)),
            *(f"{perm}={request.user.has_perm(perm)}" for perm in self.get_etag_permissions()),
        )

    def representations(
        self, request: Request, instances: list[models.Model]
    ) -> list[tuple[str, dict[str, Any]]]:
        """The ETag and body of each of ``instances``: the bodies kept under their ETags,
        the others serialized together (one serializer for them all) and kept."""
        fields = self.get_etag_fields()
        etags = [self.get_etag(request, values_of(instance, fields)) for instance in instances]
        found = bodies.get_many(etags)
        missing = [
            (etag, obj) for etag, obj in zip(etags, instances, strict=True) if etag not in found
        ]
        if missing:
            made = self.get_serializer([obj for _etag, obj in missing], many=True).data
            for (etag, _obj), body in zip(missing, made, strict=True):
                bodies.put(etag, body)
                found[etag] = body
        return [(etag, found[etag]) for etag in etags]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        queryset = self.filter_queryset(self.get_queryset())
        fields = ("pk", *self.get_etag_fields())
        page = self.paginate_queryset(queryset.values(*fields))
        rows = list(queryset.values(*fields) if page is None else page)
        etags = [self.get_etag(request, row) for row in rows]
        found = bodies.get_many(etags)
        made: dict[Any, dict[str, Any]] = {}
        missing = [row["pk"] for row, etag in zip(rows, etags, strict=True) if etag not in found]
        if missing:
            loaded = list(queryset.filter(pk__in=missing))
            for obj, (_etag, body) in zip(
                loaded, self.representations(request, loaded), strict=True
            ):
                made[obj.pk] = body
        data = [
            found[etag] if etag in found else made[row["pk"]]
            for row, etag in zip(rows, etags, strict=True)
            # An object deleted between the two queries is left out.
            if etag in found or row["pk"] in made
        ]
        return Response(data) if page is None else self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        fields = self.get_etag_fields()
        instance = None
        if self._object_permissions_apply():
            instance = self.get_object()  # checks them on the object
            values = values_of(instance, fields)
        else:
            lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
            values = get_object_or_404(
                self.filter_queryset(self.get_queryset()).values("pk", *fields),
                **{self.lookup_field: self.kwargs[lookup_url_kwarg]},
            )
        etag = self.get_etag(request, values)
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match and etag_matches(etag, if_none_match):
            response: HttpResponse = HttpResponseNotModified()
        else:
            body = bodies.get_many([etag]).get(etag)
            if body is None:
                # With the object's own ETag: it may have changed since the values were read.
                etag, body = self.representations(request, [instance or self.get_object()])[0]
            response = Response(body)
        response["ETag"] = etag
        # Any cache must ask again each time, and never share one client's answer.
        patch_cache_control(response, private=True, no_cache=True)
        return response

    def _object_permissions_apply(self) -> bool:
        """Whether a permission class of the view checks objects, not only the model (the
        light read skips ``check_object_permissions``)."""
        default = permissions.BasePermission.has_object_permission
        return any(
            type(permission).has_object_permission is not default
            for permission in self.get_permissions()
        )
