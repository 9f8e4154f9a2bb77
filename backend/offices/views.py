from flask import Blueprint

bp = Blueprint("offices", __name__)
