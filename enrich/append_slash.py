"""Django's CommonMiddleware (APPEND_SLASH: `/api/token` is sent to `/api/token/`), redirecting
with a 308 instead of a 301. A client follows a 301 to a POST with a GET and no body: POST
/api/token with credentials would become GET /api/token/, a 405, the credentials dropped; with
DJANGO_DEBUG Django refuses such a POST with a RuntimeError (a 500). A 308 is followed with the
same method and body, so neither is needed."""

from django.http import HttpResponsePermanentRedirect
from django.middleware.common import CommonMiddleware
from django.utils.http import escape_leading_slashes


class PermanentRedirectKeepingMethod(HttpResponsePermanentRedirect):
    status_code = 308


class AppendSlash(CommonMiddleware):
    response_redirect_class = PermanentRedirectKeepingMethod

    def get_full_path_with_slash(self, request) -> str:
        # Django's, without the RuntimeError it raises in DEBUG for a POST, PUT, PATCH or DELETE
        # (a 301 would lose its body; a 308 does not).
        return escape_leading_slashes(request.get_full_path(force_append_slash=True))
