"""`make hint` from a notebook cell, whose folder is notebooks/:

    %run ../tools/hint.py 6.2        the next hint of task 6.2
    %run ../tools/hint.py 6.2 2      hint 2 of task 6.2
    %run ../tools/hint.py            the next hint of the first task not done

The same as tools/hints.py (see there), and it leaves no names behind in the notebook.
"""

if __name__ == "__main__":
    import importlib.util
    import sys
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location("kit_tools_hints", Path(__file__).resolve().with_name("hints.py"))
    _hints = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_hints)
    _arguments = sys.argv[1:]
    _hints.main(_arguments[:1] + (["--level", _arguments[1]] if len(_arguments) > 1 else []))
    del importlib, sys, Path, _spec, _hints, _arguments
