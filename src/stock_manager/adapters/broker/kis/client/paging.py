"""Paged inquiries: the continuation rules and the page loop behind ``iter_pages``.

KIS pages long inquiries with a ``tr_cont`` header and continuation keys (``CTX_AREA_FK*``/
``CTX_AREA_NK*``) that differ by API; the catalog says which rule each API uses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .._flow import Emit, Flow
from ..errors import KISServerError
from ..response import KISResponse
from ..tr_ids import TRCatalog

__all__ = ["Pager"]


class Pager:
    """Continuation state of a paged inquiry, following the catalog's rule for the API.

    * ``tr_cont`` usable (most paged APIs): a response header ``F``/``M`` means more; the
      next request sends ``tr_cont: N`` and echoes the continuation keys, if the API has any.
    * ``tr_cont`` unusable ("tr_cont를 이용한 다음조회 불가", e.g. 해외주식 미체결내역): only the
      keys carry the position; another page is asked for while the response returns a
      non-empty next key (``CTX_AREA_NK*``) that differs from the one sent.

    Nothing is truncated silently: a page that does not advance raises, and so does reaching
    ``max_pages`` (``None`` = no cap), naming the setting.
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        ctx_keys: tuple[str, ...],
        max_pages: int | None,
        use_tr_cont: bool = True,
    ):
        self.params = {str(k).upper(): v for k, v in params.items()}
        for key in ctx_keys:
            self.params.setdefault(key, "")
        self.ctx_keys = ctx_keys
        self.max_pages = max_pages
        self.use_tr_cont = use_tr_cont
        self.tr_cont = ""
        self.pages = 0

    @classmethod
    def for_call(
        cls,
        catalog: TRCatalog,
        path: str,
        tr_id: str | None,
        params: Mapping[str, Any],
        ctx_keys: tuple[str, ...] | None,
        max_pages: int | None,
    ) -> Pager:
        """A pager for ``path`` with the catalog's keys and rule unless ``ctx_keys`` is given."""
        spec = catalog.by_path(urlsplit(path).path or path) or (
            catalog.by_tr_id(tr_id) if tr_id else None
        )
        paging = spec.paging if spec is not None else None
        if ctx_keys is None:
            ctx_keys = paging.ctx_keys if paging else ("CTX_AREA_FK200", "CTX_AREA_NK200")
        use_tr_cont = paging.tr_cont if paging else True
        return cls(params, tuple(k.upper() for k in ctx_keys), max_pages, use_tr_cont)

    def advance(self, response: KISResponse) -> bool:
        """Record a page; return whether to ask for another."""
        self.pages += 1
        # Echo the keys exactly as received (padding included): the spec says "echo", and a
        # server that compares them byte for byte must not see them altered.
        new = {k: str(response.body.get(k) or "") for k in self.ctx_keys}
        nk = next((k for k in self.ctx_keys if "_NK" in k), None)
        if self.use_tr_cont:
            if not response.has_next:
                return False
            if (
                self.tr_cont == "N"
                and self.ctx_keys
                and all(new[k] == self.params.get(k) for k in self.ctx_keys)
            ):
                raise KISServerError(
                    f"paging does not advance: page {self.pages} repeated the continuation keys"
                )
        elif nk is None or not new[nk].strip() or new[nk] == self.params.get(nk):
            # No key, or the same key again: KIS has nothing after this page.
            return False
        if self.max_pages is not None and self.pages >= self.max_pages:
            raise KISServerError(
                f"paging did not end after {self.max_pages} pages (max_pages="
                f"{self.max_pages}; default constants.MAX_PAGES); narrow the query or pass"
                " max_pages=None"
            )
        self.params.update(new)
        self.tr_cont = "N" if self.use_tr_cont else ""
        return True

    def flow(self, request: Callable[[dict[str, Any], str], Flow[KISResponse]]) -> Flow[None]:
        """Ask for page after page with ``request(params, tr_cont)``, emitting each (:class:`Emit`).

        The next page is asked for only when the emitted one has been taken.
        """
        while True:
            response = yield from request(self.params, self.tr_cont)
            yield Emit(response)
            if not self.advance(response):
                return
