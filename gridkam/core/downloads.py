"""Serving a stored attachment (service requests, messages) to a user the caller has already checked."""

from __future__ import annotations

from django.http import FileResponse, Http404


def attachment_response(request, attachment, *, cache_seconds: int | None = None) -> FileResponse:
    """The file of ``attachment`` (``file``, ``name``, ``content_type``): shown inline when it is a picture,
    downloaded when it is a PDF or ``?download=1``; never sniffed, never scripted. 404 when the file is gone."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        as_attachment=attachment.content_type == "application/pdf" or request.GET.get("download") == "1",
        filename=attachment.name,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    if cache_seconds:
        response["Cache-Control"] = f"private, max-age={cache_seconds}"
    return response
