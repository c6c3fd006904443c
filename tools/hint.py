"""`make hint` from a notebook cell, whose folder is notebooks/:

    %run ../tools/hint.py 6.2        the next hint of task 6.2
    %run ../tools/hint.py 6.2 2      hint 2 of task 6.2
    %run ../tools/hint.py            the next hint of the first task not done

The same as tools/hints.py (see there), and it leaves no names behind in the notebook,
even after a wrong task or level (%run keeps the script's names whatever happens).
"""

if __name__ == "__main__":
    def _hint() -> None:
        import importlib.util
        import sys
        from pathlib import Path

        spec = importlib.util.spec_from_file_location("kit_tools_hints", Path(__file__).resolve().with_name("hints.py"))
        hints = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(hints)
        arguments = sys.argv[1:]
        try:
            second = arguments[1:2]  # a level, or a second task ('6.2 6.3'), which hints.main says is one too many
            level = [argument if hints.is_task(argument) else f"--level={argument}" for argument in second]
            hints.main(arguments[:1] + level + arguments[2:],
                       ask="%run ../tools/hint.py {}")
        except SystemExit as error:  # a wrong task or level: its message, without IPython's note on SystemExit
            if isinstance(error.code, str):
                print(error.code, file=sys.stderr)

    try:
        _hint()
    finally:
        del _hint
