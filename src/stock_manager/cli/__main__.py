"""``python -m stock_manager.cli`` — the same as the ``stock-manager`` console script."""

from stock_manager.cli.main import run

if __name__ == "__main__":
    run()
