# syntax=docker/dockerfile:1
# The LMS application image: gunicorn (gevent workers) serving the pages, the
# JSON API and the terminal WebSockets (gunicorn.conf.py), as an unprivileged user.
#
#   docker build -t cyberrange-lms .
#   docker run -d --name lms --network host --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v /var/run/docker.sock:/var/run/docker.sock -v lms-instance:/app/instance \
#     -e LMS_SECRET_KEY=... -e LMS_DATABASE_URL=postgresql+psycopg://... cyberrange-lms
#
# Stages: `assets` installs the front-end libraries from package-lock.json and
# copies them into lms/static/vendor; `python` installs the Python dependencies
# into a virtualenv (a layer that changes only with pyproject.toml); the last
# stage holds the code, the courses and the labs. Base images can be swapped
# for a local mirror with --build-arg NODE_IMAGE=... --build-arg PYTHON_IMAGE=...

ARG NODE_IMAGE=node:20-bookworm-slim
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${NODE_IMAGE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scripts/copy-assets.sh scripts/copy-assets.sh
COPY lms/authoring/bundle lms/authoring/bundle
RUN bash scripts/copy-assets.sh

FROM ${PYTHON_IMAGE} AS python
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# An editable install of a stub package: the dependencies and the `lms` command
# go into the virtualenv, which maps the package `lms` to /app/lms, where the
# last stage puts the real code. Changing the code does not reinstall anything.
COPY pyproject.toml README.md ./
RUN mkdir lms && touch lms/__init__.py \
 && pip install -e . \
 && rm -rf lms *.egg-info

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LMS_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 lms \
 && useradd --system --uid 10001 --gid lms --home-dir /app --no-create-home \
            --shell /usr/sbin/nologin lms
COPY --from=python /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md gunicorn.conf.py ./
COPY lms ./lms
COPY --from=assets /src/lms/static/vendor ./lms/static/vendor
# Courses and labs ship in the image; the editor writes courses, so the app owns them
# (mount volumes over them to keep edits across upgrades).
COPY --chown=lms:lms courses ./courses
COPY --chown=lms:lms labs ./labs
# The instance folder: SQLite (if no LMS_DATABASE_URL), the secret key if none is
# given, terminal recordings. Keep it on a volume.
RUN mkdir -p /app/instance && chown lms:lms /app/instance
VOLUME ["/app/instance"]
USER lms
EXPOSE 8000
# Assumes the default port; change it with LMS_BIND.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/login', timeout=4)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "lms:create_app()"]
