"""The API's parsers: bodies (JSON, form or multipart) whose strings hold a NUL character are refused with a
message per field. No text GridKAM stores may contain one, and PostgreSQL answers a lookup or a write with one (a
code in a related-object field, say) with a database error. Kept apart from ``core.api`` because
DRF reads its parser setting while ``rest_framework.views`` is being imported."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from .middleware import NUL, nul_message


def nul_paths(value, path: str = "") -> list[str]:
    """Where in parsed JSON a string (a key or a value) holds a NUL character, as dotted paths."""
    if isinstance(value, str):
        return [path or "non_field_errors"] if NUL in value else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            found += [here] if NUL in str(key) else nul_paths(item, here)
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in nul_paths(item, f"{path}.{index}".lstrip("."))]
    return []


def refuse_nul(paths: list[str]) -> None:
    if paths:
        raise exceptions.ValidationError({path: [nul_message()] for path in paths})


def form_nul_paths(data) -> list[str]:
    """The fields of a parsed form (a QueryDict) whose name or a value holds a NUL character."""
    return [key for key, values in data.lists() if NUL in key or any(NUL in value for value in values)]


class NulSafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(nul_paths(data))
        return data


class NulSafeFormParser(FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        refuse_nul(form_nul_paths(data))
        return data


class NulSafeMultiPartParser(MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_nul(form_nul_paths(parsed.data))
        return parsed


PARSERS = [NulSafeJSONParser, NulSafeFormParser, NulSafeMultiPartParser]
