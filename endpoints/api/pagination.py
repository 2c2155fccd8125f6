"""Page-number pagination with a bounded, validated page size."""

from __future__ import annotations

from typing import Any

from rest_framework import pagination, serializers
from rest_framework.request import Request

MAX_PAGE_SIZE = 500


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=N&page_size=M`` in a ``count``/``next``/``previous``/``results`` envelope.

    DRF silently falls back to the default for a bad ``page_size``; a client that asked for
    something else should learn that it did not get it, so it is a 400 here.
    """

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _whole_number(self.page_size_query_param, raw, maximum=self.max_page_size)

    def get_page_number(self, request: Request, paginator: Any) -> Any:
        # DRF reads a blank ``?page=`` as page 1; it is a mistake to report, like any
        # other value that is not a page number. (A page past the end stays a 404.)
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        return _whole_number(self.page_query_param, raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters


def _whole_number(name: str, raw: str, *, maximum: int | None = None) -> int:
    """``raw`` as a whole number from 1 (to ``maximum``), or a 400 naming the parameter."""
    field = serializers.IntegerField(min_value=1, max_value=maximum)
    try:
        return field.run_validation(raw)
    except serializers.ValidationError as error:
        raise serializers.ValidationError({name: error.detail}) from None
