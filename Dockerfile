# Zylin's web (daphne) and worker (celery) image. Configuration comes from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIA_ROOT=/app/media \
    PROMETHEUS_MULTIPROC_DIR=/run/zylin-metrics

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# The admin's CSS and JS, served by WhiteNoise from STATIC_ROOT. Collected with the
# development settings: no secret is needed, or baked into the image, to copy files.
RUN DEBUG=1 python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 zylin \
    && mkdir -p /app/media /run/zylin-metrics \
    && chown zylin /app/media /run/zylin-metrics

USER zylin
EXPOSE 8000
CMD ["python", "-m", "zylin.serve", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "zylin.asgi:application"]
