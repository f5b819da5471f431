"""`python -m pyha` is the same as the `pyha` command."""

from pyha.cli.main import main

if __name__ == "__main__":
    main()
