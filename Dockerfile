# Production image. One image runs every process of docker-compose.yml:
#   web      gunicorn brokerage.wsgi on 0.0.0.0:8000 (the default CMD)
#   worker   celery -A brokerage worker
#   beat     celery -A brokerage beat (tenant-aware scheduler)
#   migrate  manage.py migrate_schemas (one-shot)
# Configuration comes from the environment at run time (see README.md).

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BROKERAGE_MEDIA_ROOT=/srv/media

# WeasyPrint (PDF statements) loads Pango through ctypes; without
# libharfbuzz-subset0 it still works but is about 3x slower.
# fonts-dejavu-core: the slim image has no fonts, and a PDF needs at least one.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# The application runs as an unprivileged user. /srv/media (uploads) and /data
# (Celery beat's schedule file) are where volumes are mounted; a new named volume
# takes the ownership of the directory it is mounted on.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app /srv/media /data \
    && chown app:app /srv/media /data

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
# requirements.txt is the full pinned lock (`make lock`).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image (var/static, served by WhiteNoise).
# Settings refuse to load without a secret key outside debug/demo/test runs;
# this throw-away one exists only for this build step and is not kept.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-real-secret \
    python manage.py collectstatic --noinput -v0

USER app

EXPOSE 8000

# Workers: gunicorn reads WEB_CONCURRENCY (default 1); set it in the environment.
CMD ["gunicorn", "brokerage.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60"]
