"""python -m tinynet.exercises start DIR | check DIR [--json]"""
from ..cli import run
from . import main

run(main)
