"""Conditional GET on detail responses: an ETag, and 304 Not Modified when it still matches.

The ETag comes from the ``updated_at`` of the rows a response shows (loaded with the object,
so it costs no query), not from rendering the body: pollers that send ``If-None-Match`` get
a 304 with no serialization at all. Since it names everything the body shows, the body is
kept under it (``endpoints.api.representations``), for the detail and for each object of a
list: a repeated read does not serialize again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import models
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_cache_control
from django.utils.http import parse_etags
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


class ConditionalRetrieveMixin:
    """``retrieve`` with an ``ETag``, answering 304 to a matching ``If-None-Match``."""

    def get_etag_timestamps(self, instance: models.Model) -> Iterable[datetime]:
        """When each row the detail response shows last changed."""
        raise NotImplementedError

    def get_etag_permissions(self) -> Iterable[str]:
        """Permissions that change the detail response: the requester's answer to each
        counts, so that callers who see different bodies never share an ETag.
        """
        return ()

    def get_etag(self, request: Request, instance: models.Model) -> str:
        return compute_etag(
            REPRESENTATION_VERSION,
            request.accepted_renderer.format,
            instance._meta.label,
            instance.pk,
            *(timestamp.isoformat() for timestamp in self.get_etag_timestamps(instance)),
            *(f"{perm}={request.user.has_perm(perm)}" for perm in self.get_etag_permissions()),
        )

    def representations(
        self, request: Request, instances: list[models.Model], etags: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The bodies of ``instances``: those kept under their ETags, the others serialized
        together (one serializer for them all) and kept."""
        if etags is None:
            etags = [self.get_etag(request, instance) for instance in instances]
        found = bodies.get_many(etags)
        missing = [
            (etag, obj) for etag, obj in zip(etags, instances, strict=True) if etag not in found
        ]
        if missing:
            made = self.get_serializer([obj for _etag, obj in missing], many=True).data
            for (etag, _obj), body in zip(missing, made, strict=True):
                bodies.put(etag, body)
                found[etag] = body
        return [found[etag] for etag in etags]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        data = self.representations(request, list(queryset if page is None else page))
        return Response(data) if page is None else self.get_paginated_response(data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        instance = self.get_object()
        etag = self.get_etag(request, instance)
        if_none_match = request.headers.get("If-None-Match")
        if if_none_match and etag_matches(etag, if_none_match):
            response: HttpResponse = HttpResponseNotModified()
        else:
            response = Response(self.representations(request, [instance], [etag])[0])
        response["ETag"] = etag
        # Any cache must ask again each time, and never share one client's answer.
        patch_cache_control(response, private=True, no_cache=True)
        return response
