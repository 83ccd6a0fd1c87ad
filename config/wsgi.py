import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

# A body sent chunked is read as sent (Django read it as empty): enrich.chunked_body.
from enrich.chunked_body import chunked_bodies  # noqa: E402  (needs Django set up)

application = chunked_bodies(django_application)
