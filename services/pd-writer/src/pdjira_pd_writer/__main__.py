"""``python -m pdjira_pd_writer --config FILE``: run the pd-writer."""

from __future__ import annotations

from pdjira_writer.service import run

from pdjira_pd_writer.main import create_service

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    run(create_service, argv)


if __name__ == "__main__":
    main()
