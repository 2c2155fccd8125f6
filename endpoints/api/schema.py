"""The OpenAPI schema: drf-spectacular, plus the error answers every operation can give.

drf-spectacular documents only the success of each operation; clients (and the schemathesis
run in the tests) need the errors too, each with the shape the API really sends.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from endpoints.api.conditional import ConditionalRetrieveMixin

FORBIDDEN = "No permission to view this."


class ChannelAPIKeyScheme(OpenApiAuthenticationExtension):
    """Documents ``ChannelAPIKeyAuthentication`` as the ``channelApiKey`` security scheme."""

    target_class = "endpoints.api.authentication.ChannelAPIKeyAuthentication"
    name = "channelApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A channel's API key with the prefix `Api-Key`: "
                "`Authorization: Api-Key <key>`. It reaches only its channel's endpoints."
            ),
        }


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a human.")


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "The invalid query parameters, each with its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

BODY_ERRORS_SCHEMA = {
    "type": "object",
    "description": (
        "The invalid fields, each with its messages (nested for an object or a list), or "
        "`detail` for a body that is not JSON."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}


class AutoSchema(openapi.AutoSchema):
    def _is_conditional_retrieve(self) -> bool:
        return (
            isinstance(self.view, ConditionalRetrieveMixin)
            and getattr(self.view, "action", None) == "retrieve"
        )

    def get_override_parameters(self) -> list[Any]:
        parameters = [
            *super().get_override_parameters(),
            OpenApiParameter(
                "Retry-After",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                response=[429],
                description="Seconds to wait before the next request.",
            ),
        ]
        if self._is_conditional_retrieve():
            parameters += [
                OpenApiParameter(
                    "If-None-Match",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    description="The `ETag` of an earlier answer: 304 while it still matches.",
                ),
                OpenApiParameter(
                    "ETag",
                    OpenApiTypes.STR,
                    OpenApiParameter.HEADER,
                    response=[200, 304],
                    description="Changes whenever the object or its nested settings change.",
                ),
            ]
        return parameters

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        closed = getattr(serializer, "closed_schema", False)
        if closed or (
            direction == "request" and getattr(serializer, "refuses_unknown_fields", False)
        ):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in self.error_responses().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def error_responses(self) -> dict[str, OpenApiResponse]:
        errors = {
            "401": OpenApiResponse(
                ErrorSerializer, "No valid API key, token or session; or an expired or revoked key."
            ),
            "403": OpenApiResponse(
                ErrorSerializer, getattr(self.view, "forbidden_description", FORBIDDEN)
            ),
            "404": OpenApiResponse(
                ErrorSerializer,
                "No such object (for a channel key: not one of its channel's), or no such page.",
            ),
            "429": OpenApiResponse(ErrorSerializer, "Too many requests: see Retry-After."),
        }
        if self._is_list_view():
            errors["400"] = OpenApiResponse(FIELD_ERRORS_SCHEMA, "Invalid query parameter.")
        if self._is_conditional_retrieve():
            errors["304"] = OpenApiResponse(None, "Not modified: `If-None-Match` matched.")
        return errors
