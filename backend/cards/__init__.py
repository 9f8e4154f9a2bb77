"""Business cards: a photo becomes lead fields (Tesseract OCR in Russian and English + a parser)."""
