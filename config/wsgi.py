import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

# A body sent chunked is read as sent (Django read it as empty): enrich.chunked_body.
from enrich.chunked_body import chunked_bodies  # noqa: E402  (needs Django set up)

# A Content-Type Django cannot read is a 400 naming it (Django raised while making the request):
# enrich.content_type.
from enrich.content_type import readable_content_type  # noqa: E402

application = readable_content_type(chunked_bodies(django_application))
