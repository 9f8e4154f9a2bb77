"""A fake camera: a QR code rendered into a Y4M video that Chromium plays as the webcam."""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image

WIDTH, HEIGHT, FRAMES = 640, 480, 5


def qr_video(text: str, path: Path) -> Path:
    """Write ``text`` as a QR code centred on a white 640x480 frame, as YUV4MPEG2 4:2:0."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(text)
    code.make(fit=True)
    side = HEIGHT - 40
    symbol = code.make_image(fill_color="black", back_color="white").convert("L")
    symbol = symbol.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(symbol, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH // 2) * (HEIGHT // 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n")
            out.write(luma)
            out.write(chroma)
            out.write(chroma)
    return path
