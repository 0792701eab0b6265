# The platform's image: gunicorn (gevent workers) serving the pages, the JSON API and
# the terminal WebSockets (gunicorn.conf.py), or `lms labs worker`, as an unprivileged
# user. compose.yaml runs both from it (README, "Running a centre").
#
#   scripts/build-base-images.sh            # makes lms-base/debian:bookworm
#   docker build -t cyberrange-lms .
#
# Base: Debian 12 (its Python 3.11, Node.js and npm), by default the local
# lms-base/debian:bookworm that scripts/build-base-images.sh makes with debootstrap, so
# that no image registry is needed (the test machine has none). With a registry:
# --build-arg BASE_IMAGE=debian:bookworm-slim. Behind a TLS-inspecting proxy, give its
# CA to the build stages: --build-arg EXTRA_CA_CERT="$(cat proxy-ca.pem)" (it does not
# reach the final image).
#
# Stages: `assets` installs the front-end libraries from package-lock.json into
# lms/static/vendor; `holder` builds the terminal's session holder (Debian's dtach,
# static; scripts/build-session-holder.sh); `python` installs the Python dependencies
# into a virtualenv (a layer that changes only with pyproject.toml); the last stage
# holds the code, the courses and the labs.

ARG BASE_IMAGE=lms-base/debian:bookworm

FROM ${BASE_IMAGE} AS build-base
ARG EXTRA_CA_CERT=""
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" | awk '/BEGIN CERT/ { n++ } \
        { print > ("/usr/local/share/ca-certificates/build-proxy-" n ".crt") }'; \
    fi \
 && update-ca-certificates >/dev/null

FROM build-base AS assets
RUN apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/copy-assets.sh scripts/copy-assets.sh
COPY lms/authoring/bundle lms/authoring/bundle
RUN bash scripts/copy-assets.sh

FROM build-base AS holder
RUN apt-get install -y -qq --no-install-recommends \
      curl gcc libc6-dev make musl-tools patch xz-utils binutils >/dev/null
WORKDIR /src
COPY scripts/build-session-holder.sh scripts/build-session-holder.sh
RUN bash scripts/build-session-holder.sh

FROM build-base AS python
RUN apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# An editable install of a stub package: the dependencies and the `lms` command
# go into the virtualenv, which maps the package `lms` to /app/lms, where the
# last stage puts the real code. Changing the code does not reinstall anything.
COPY pyproject.toml README.md ./
RUN mkdir lms && touch lms/__init__.py \
 && pip install -q -e . \
 && rm -rf lms *.egg-info

FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LMS_BIND=0.0.0.0:8000 \
    LMS_RECORDINGS_DIR=/app/recordings
RUN groupadd --system --gid 10001 lms \
 && useradd --system --uid 10001 --gid lms --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin lms
COPY --from=python /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY lms ./lms
COPY --from=assets /src/lms/static/vendor ./lms/static/vendor
COPY --from=holder /src/lms/labs/runtime/docker/session-holder ./lms/labs/runtime/docker/session-holder
# Courses and labs ship in the image; the editor writes courses, so the app owns them
# (mount volumes over them to keep edits across upgrades).
COPY --chown=lms:lms courses ./courses
COPY --chown=lms:lms labs ./labs
# The instance folder (SQLite if no LMS_DATABASE_URL, the secret key if none is given)
# and the terminal recordings (LMS_RECORDINGS_DIR): keep both on volumes, shared by
# every web and worker container.
RUN mkdir -p /app/instance /app/recordings && chown lms:lms /app/instance /app/recordings
VOLUME ["/app/instance", "/app/recordings"]
USER lms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python3 -c "import os, urllib.request; h, p = os.environ['LMS_BIND'].rsplit(':', 1); urllib.request.urlopen(f'http://{h}:{p}/login', timeout=4)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "lms:create_app()"]
