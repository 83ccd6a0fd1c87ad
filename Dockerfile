# enrich: one image for web (gunicorn), Celery workers, beat and Flower (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements/base.txt requirements/production.txt requirements/
RUN pip install -r requirements/production.txt

COPY . .

# Static files are baked into the image (served by whitenoise). Settings refuse to load without
# the two secrets, so this one step gets throwaway values; the real ones come from .env at run
# time and never enter the image.
ARG BUILD_SECRET_KEY=collectstatic-only-throwaway-value-not-a-secret-key
ARG BUILD_FIELD_ENCRYPTION_KEY=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldC0=
RUN DJANGO_SECRET_KEY="$BUILD_SECRET_KEY" \
    FIELD_ENCRYPTION_KEY="$BUILD_FIELD_ENCRYPTION_KEY" \
    ENRICH_ENV_FILE=none \
    python manage.py collectstatic --noinput -v 0

# Run as an unprivileged user; var/ (beat schedule file, first-start credentials) stays
# writable. A named volume mounted on var/credentials or var/archive (a local archive, see
# docs/deployment.md) starts with this owner; one on a directory the image lacks is root's.
RUN useradd --system --create-home --uid 10001 enrich \
    && mkdir -p var/credentials var/archive \
    && chown -R enrich:enrich var
USER enrich

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
