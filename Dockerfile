# The Streamlit dashboard, for hosting next to a deployed stack behind HTTPS (README, "Deploying the dashboard").
# Build: docker build -t order-pipeline-dashboard .
# Run:   docker run -p 8501:8501 -e ORDERS_STACK_NAME=orders-pipeline -e AWS_REGION=eu-west-1 \
#          -e ORDERS_AUTH_REDIRECT_URI=https://orders.example.com/oauth2callback -e ORDERS_AUTH_CLIENT_ID=... \
#          -e ORDERS_AUTH_SERVER_METADATA_URL=https://cognito-idp.<region>.amazonaws.com/<pool>/.well-known/openid-configuration \
#          -e ORDERS_AUTH_SECRET_ID=<Secrets Manager secret with cookie_secret and client_secret> order-pipeline-dashboard
# Sign-in is required on AWS: without ORDERS_AUTH_* the app refuses to start (ORDERS_AUTH=off opens it to anyone).
# AWS credentials come from the runtime role (ECS task role / instance profile), never from baked-in keys; the
# entrypoint writes ~/.streamlit/secrets.toml at start, so no secret is ever in the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false

WORKDIR /app

# Dependencies first, so code changes reuse this layer. Only the app's runtime requirements: the infra
# validators (infra/requirements.txt) never go into the image.
COPY requirements.txt ./
RUN pip install --requirement requirements.txt

# The code stays root-owned and read-only to the app user.
COPY . .
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin app
USER app

EXPOSE 8501
# python:3.11-slim has no curl: probe Streamlit's health endpoint with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4).status == 200 else 1)"]

# 0.0.0.0 on purpose: the container is reached only through the load balancer, which terminates HTTPS.
ENTRYPOINT ["python", "deploy/entrypoint.py"]
CMD ["--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
