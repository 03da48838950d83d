"""python -m tinynet.exercises start DIR | check DIR"""
import sys

from . import main

sys.exit(main())
