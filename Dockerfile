FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LEADRELAY_INSTANCE=/data
WORKDIR /app
# Tesseract 5 reads business cards (Russian and English).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY workers ./workers
COPY pwa ./pwa
RUN pip install --no-cache-dir -e . \
 && python -c "from backend.routing.gazetteer import get_gazetteer; get_gazetteer()" \
 && python -c "from backend.i18n import compile_catalogs; compile_catalogs()" \
 && useradd --create-home leadrelay && mkdir -p /data /attachments && chown leadrelay /data /attachments
USER leadrelay
EXPOSE 8000
CMD ["leadrelay", "serve", "--bind", "0.0.0.0:8000"]
